// SPDX-License-Identifier: MIT
// tp_mach_target — the program the macOS tests spawn and read.
//
//   tp_mach_target print        prints "address 0x<hex> value 0x<hex>" (a
//                               known 64-bit value and where it is), then
//                               waits for EOF on stdin and exits 0
//   tp_mach_target send         taskport::send_task_to_spawner(), prints
//                               "sent 1" (or "sent 0" without a rendezvous)
//                               and the address line, then waits for EOF
//   tp_mach_target line-send    waits for one line on stdin, then as "send"
//   tp_mach_target exit <code>  exits at once with <code>, sending nothing
//   tp_mach_target wait         waits for EOF on stdin, sending nothing
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <taskport/rendezvous.hpp>

// The value the tests look for; volatile so that it stays in memory.
volatile std::uint64_t g_marker = 0x7461736b706f7274ULL;  // "taskport"

namespace {

void print_address() {
  std::printf("address 0x%" PRIxPTR " value 0x%" PRIx64 "\n", reinterpret_cast<std::uintptr_t>(&g_marker),
              static_cast<std::uint64_t>(g_marker));
  std::fflush(stdout);
}

void wait_for_eof() {
  char buf[256];
  while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
}

void read_line() {
  char c;
  while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') {
  }
}

int send_and_wait() {
  const bool sent = taskport::send_task_to_spawner();
  std::printf("sent %d\n", sent ? 1 : 0);
  print_address();
  wait_for_eof();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* mode = argv[1];
  try {
    if (std::strcmp(mode, "print") == 0) {
      print_address();
      wait_for_eof();
      return 0;
    }
    if (std::strcmp(mode, "send") == 0) return send_and_wait();
    if (std::strcmp(mode, "line-send") == 0) {
      read_line();
      return send_and_wait();
    }
    if (std::strcmp(mode, "exit") == 0) return argc > 2 ? std::atoi(argv[2]) : 0;
    if (std::strcmp(mode, "wait") == 0) {
      wait_for_eof();
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tp_mach_target: %s\n", e.what());
    return 3;
  }
  return 2;
}
