// SPDX-License-Identifier: MIT
// tp_resident_helper — a child whose resident pages the tests know.
//
// Maps 18 pages PROT_NONE and makes pages [1,17) read-write (the guards stop
// a merge with a neighbour), writes to pages [1,6) only, then reports on
// stdout
//   block <start of page 1, hex> <page size, hex>
//   ready
// and blocks reading stdin until EOF, touching nothing more, and exits 0.
// So the read-write mapping has 16 pages of which exactly 5 are resident.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main() {
  const long page = sysconf(_SC_PAGESIZE);
  char* all = static_cast<char*>(mmap(nullptr, 18 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (all == MAP_FAILED || mprotect(all + page, 16 * page, PROT_READ | PROT_WRITE) != 0) {
    fprintf(stderr, "tp_resident_helper: %s\n", strerror(errno));
    return 2;
  }
  char* block = all + page;
  for (int i = 0; i < 5; ++i) block[i * page] = 1;
  printf("block %lx %lx\nready\n", reinterpret_cast<unsigned long>(block), static_cast<unsigned long>(page));
  fflush(stdout);
  char buf[64];
  for (;;) {
    const ssize_t n = read(0, buf, sizeof buf);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    break;
  }
  return 0;
}
