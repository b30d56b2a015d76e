/* SPDX-License-Identifier: MIT */
/* tp_arch_target_<arch> — the program of one architecture only (CMake builds
 * it as an arm64-only and an x86_64-only file on a Mac: OSX_ARCHITECTURES),
 * for the architecture tests: an arm64-only program on an Intel Mac fails
 * posix_spawn (EBADARCH), an x86_64-only one on Apple silicon runs under
 * Rosetta and loads the preload's x86_64 slice. Plain C, no taskport: the
 * preload alone hands its task port over.
 *
 * Prints "address 0x<hex> value 0x<hex> arch <arch>" (as tp_mach_target
 * print does, with the architecture it was compiled for), then waits for
 * EOF on stdin and exits 0. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

volatile uint64_t g_marker = 0x7461736b706f7274ULL; /* "taskport" */

int main(void) {
#if defined(__x86_64__)
  const char* arch = "x86_64";
#elif defined(__arm64e__)
  const char* arch = "arm64e";
#else
  const char* arch = "arm64";
#endif
  printf("address 0x%" PRIxPTR " value 0x%" PRIx64 " arch %s\n", (uintptr_t)&g_marker, (uint64_t)g_marker,
         arch);
  fflush(stdout);
  char buf[256];
  while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  return 0;
}
