// SPDX-License-Identifier: MIT
/* The sample target: N threads in all (the main thread included), every one
   running — spinning on a counter, as the threads of a busy program a
   profiler samples.

     bench_spin_threads N [CPU]

   With CPU it first pins itself (and so every thread it starts) to that CPU,
   so that the benchmark process, pinned elsewhere, keeps its own. Prints
   "ready" once all N threads run; ends when killed, or when its parent (the
   benchmark) ends, however it ends: PR_SET_PDEATHSIG, so that a benchmark
   killed by a timeout or a signal leaves no spinning orphan behind. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile unsigned long counters[1024];
static volatile int started;

static void spin(int i) {
  for (;;) counters[i & 1023]++;
}

static void* worker(void* arg) {
  __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
  spin((int)(long)arg);
  return NULL;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 40;
  const pid_t parent = getppid();
  /* A parent that died before the prctl is seen as a new parent after it. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent) return 1;
  if (argc > 2) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(atoi(argv[2]), &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
  }
  for (long i = 1; i < n; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, (void*)i) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < n - 1) sched_yield();
  printf("ready\n");
  fflush(stdout);
  spin(0);
}
