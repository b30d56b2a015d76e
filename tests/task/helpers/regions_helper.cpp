// SPDX-License-Identifier: MIT
// tp_regions_helper — a child with mappings the regions tests know in advance.
//
//   tp_regions_helper [--odd-file DIR]
//
// Sets up, then reports on stdout, one line each (addresses in hex):
//   known <start> <page size>  20 pages reserved PROT_NONE; pages [2,18)
//                              made read-write and pages [6,10) of those
//                              read-only, so the kernel keeps five VMAs:
//                              ---p [0,2) rw-p [2,6) r--p [6,10) rw-p [10,18) ---p [18,20)
//                              (the guards stop a merge with a neighbour).
//   named <start>              2 read-write pages named "taskport test" with
//                              PR_SET_VMA_ANON_NAME ("[anon:taskport test]"),
//                              or "named -" if the kernel lacks anon names.
//   odd <start>                with --odd-file: 2 pages of a file in DIR named
//                              "odd name\nwith newline.<pid>", mapped MAP_SHARED
//                              read-only and then unlinked, so the kernel
//                              prints "…/odd name\012with newline.<pid> (deleted)".
//   ready
// and then blocks reading stdin until EOF, changing nothing, and exits 0.
// Plain C and syscalls: the mappings must be exactly these.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif

static void die(const char* what) {
  fprintf(stderr, "tp_regions_helper: %s: %s\n", what, strerror(errno));
  exit(2);
}

int main(int argc, char** argv) {
  const char* odd_dir = nullptr;
  if (argc == 3 && strcmp(argv[1], "--odd-file") == 0) {
    odd_dir = argv[2];
  } else if (argc != 1) {
    fprintf(stderr, "usage: tp_regions_helper [--odd-file DIR]\n");
    return 2;
  }
  const long page = sysconf(_SC_PAGESIZE);

  char* known = static_cast<char*>(mmap(nullptr, 20 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (known == MAP_FAILED) die("mmap known");
  if (mprotect(known + 2 * page, 16 * page, PROT_READ | PROT_WRITE) != 0) die("mprotect rw");
  if (mprotect(known + 6 * page, 4 * page, PROT_READ) != 0) die("mprotect r");
  printf("known %lx %lx\n", reinterpret_cast<unsigned long>(known), static_cast<unsigned long>(page));

  char* named =
      static_cast<char*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (named == MAP_FAILED) die("mmap named");
  if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, named, 2 * page, "taskport test") == 0) {
    printf("named %lx\n", reinterpret_cast<unsigned long>(named));
  } else {
    printf("named -\n");
  }

  if (odd_dir != nullptr) {
    char path[4096];
    snprintf(path, sizeof path, "%s/odd name\nwith newline.%d", odd_dir, static_cast<int>(getpid()));
    const int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) die("create odd file");
    if (ftruncate(fd, 2 * page) != 0) die("ftruncate odd file");
    void* odd = mmap(nullptr, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
    if (odd == MAP_FAILED) die("mmap odd file");
    if (unlink(path) != 0) die("unlink odd file");
    close(fd);
    printf("odd %lx\n", reinterpret_cast<unsigned long>(odd));
  }

  printf("ready\n");
  fflush(stdout);
  char buf[64];
  for (;;) {
    const ssize_t n = read(0, buf, sizeof buf);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    break;
  }
  return 0;
}
