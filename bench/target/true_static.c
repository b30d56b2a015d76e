// SPDX-License-Identifier: MIT
/* The spawn target: a statically linked program that exits 0 at once, so
   the benchmarks measure the spawn path and not the dynamic loader. */
int main(void) { return 0; }
