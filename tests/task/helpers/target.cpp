// SPDX-License-Identifier: MIT
// tp_task_target: a process for the Task tests to look at from outside.
//
// It lays out memory with known properties, reports the addresses on stdout,
// then answers commands from stdin until EOF (then exits 0). Everything it
// reports about itself comes from its own view (its own loads, getrusage),
// so it is an oracle independent of taskport.
//
// Options:
//   --threads N        start N extra threads named "tp-worker-<i>"; each
//                      blocks until the process exits
//   --dumpable0        prctl(PR_SET_DUMPABLE, 0) before reporting
//   --resident-mb N    allocate and touch N MiB of anonymous memory
//   --name NAME        rename the main thread (pthread_setname_np, ≤ 15 bytes)
//   --main-exits       after the report the main thread ends
//                      (pthread_exit: a zombie while the process lives)
//                      and another thread answers the commands
//
// Startup report, one "<name> <value>" per line, then "ready":
//   pid <pid>
//   buffer 0x<addr> <size>   kBufferSize bytes of a pattern, read-write
//   hole 0x<addr>            an unmapped page; the page before it is mapped
//                            and holds the pattern too
//   noaccess 0x<addr>        a PROT_NONE page
//   readonly 0x<addr>        a PROT_READ page holding the pattern
//   code 0x<addr>            a function in the program's (read-only) text
//   large 0x<addr> <size>    kLargePages pages of a pattern, read-write, but
//                            for page kLargeHole, which is unmapped (the
//                            read_many tests' many-page requests)
//   large_hole 0x<addr>      that page
//
// Commands (one line each; every answer is one line):
//   hex 0x<addr> <len>  → "hex <2*len lowercase hex digits>" (own loads)
//   rusage              → "rusage <utime_us> <stime_us> <minflt> <majflt>
//                          <nvcsw> <nivcsw>" (getrusage(RUSAGE_SELF))
//   spin <ms>           → burns <ms> of CPU time in user mode, then "ok"
//   exit <code>         → _exit(code), no answer
//   exec                → execv("/proc/self/exe") with the same arguments:
//                         a new address space, a new startup report
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kBufferSize = 64 * 1024;
constexpr size_t kLargePages = 384;  // 1.5 MiB: more than read_many's 128 KiB scratch many times over
constexpr size_t kLargeHole = 300;

void fill_pattern(unsigned char* p, size_t n, unsigned seed) {
  for (size_t k = 0; k < n; ++k) p[k] = static_cast<unsigned char>((k * 131 + seed) ^ (k >> 8));
}

// Never called: its bytes are the target of writes into read-only text.
extern "C" __attribute__((noinline, used)) int tp_target_code_marker(int x) { return x * 3 + 1; }

void die(const char* what) {
  std::perror(what);
  std::exit(2);
}

void* map_pages(size_t pages, int prot) {
  void* p = mmap(nullptr, pages * 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

void* worker(void*) {
  for (;;) pause();
  return nullptr;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

volatile std::uint64_t g_sink;

char** g_original_argv = nullptr;

// Answers commands from stdin until EOF; then the process exits 0.
void* serve(void*) {
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, stdin) > 0) {
    unsigned long long addr = 0;
    size_t len = 0;
    int value = 0;
    if (std::sscanf(line, "hex %llx %zu", &addr, &len) == 2) {
      const auto* p = reinterpret_cast<const unsigned char*>(static_cast<std::uintptr_t>(addr));
      std::fputs("hex ", stdout);
      for (size_t k = 0; k < len; ++k) std::printf("%02x", p[k]);
      std::fputs("\n", stdout);
    } else if (std::strncmp(line, "rusage", 6) == 0) {
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      std::printf("rusage %lld %lld %ld %ld %ld %ld\n",
                  static_cast<long long>(ru.ru_utime.tv_sec) * 1000000 + ru.ru_utime.tv_usec,
                  static_cast<long long>(ru.ru_stime.tv_sec) * 1000000 + ru.ru_stime.tv_usec, ru.ru_minflt,
                  ru.ru_majflt, ru.ru_nvcsw, ru.ru_nivcsw);
    } else if (std::sscanf(line, "spin %d", &value) == 1) {
      const double until = cpu_seconds() + value / 1000.0;
      std::uint64_t x = 1;
      while (cpu_seconds() < until) {
        for (int k = 0; k < 100000; ++k) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      }
      g_sink = x;
      std::puts("ok");
    } else if (std::strncmp(line, "exec", 4) == 0) {
      std::fflush(stdout);
      execv("/proc/self/exe", g_original_argv);
      std::printf("error exec failed\n");
    } else if (std::sscanf(line, "exit %d", &value) == 1) {
      std::fflush(stdout);
      _exit(value);
    } else {
      std::printf("error unknown command %s", line);
    }
    std::fflush(stdout);
  }
  std::exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  g_original_argv = argv;
  bool main_exits = false;
  int threads = 0;
  bool not_dumpable = false;
  size_t resident_mb = 0;
  const char* main_name = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--main-exits") == 0) {
      main_exits = true;
    } else if (std::strcmp(argv[i], "--dumpable0") == 0) {
      not_dumpable = true;
    } else if (std::strcmp(argv[i], "--resident-mb") == 0 && i + 1 < argc) {
      resident_mb = static_cast<size_t>(std::atol(argv[++i]));
    } else if (std::strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
      main_name = argv[++i];
    } else {
      std::fprintf(stderr, "tp_task_target: unknown argument %s\n", argv[i]);
      return 2;
    }
  }

  auto* buffer = static_cast<unsigned char*>(map_pages(kBufferSize / 4096, PROT_READ | PROT_WRITE));
  fill_pattern(buffer, kBufferSize, 7);

  auto* around_hole = static_cast<unsigned char*>(map_pages(3, PROT_READ | PROT_WRITE));
  fill_pattern(around_hole, 4096, 11);
  unsigned char* hole = around_hole + 4096;  // unmapped last (below), so no later mmap lands in it

  void* noaccess = map_pages(1, PROT_NONE);

  auto* large = static_cast<unsigned char*>(map_pages(kLargePages, PROT_READ | PROT_WRITE));
  fill_pattern(large, kLargePages * 4096, 17);
  unsigned char* large_hole = large + kLargeHole * 4096;  // unmapped last too

  auto* readonly = static_cast<unsigned char*>(map_pages(1, PROT_READ | PROT_WRITE));
  fill_pattern(readonly, 4096, 13);
  if (mprotect(readonly, 4096, PROT_READ) != 0) die("mprotect");

  if (resident_mb > 0) {
    auto* big = static_cast<unsigned char*>(map_pages(resident_mb * 256, PROT_READ | PROT_WRITE));
    for (size_t k = 0; k < resident_mb * 1024 * 1024; k += 4096) big[k] = 1;
  }

  if (threads > 0) {
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, nullptr, static_cast<unsigned>(threads) + 1);
    struct Start {
      pthread_barrier_t* barrier;
      int index;
    };
    std::vector<Start> starts(static_cast<size_t>(threads));
    for (int i = 0; i < threads; ++i) {
      starts[static_cast<size_t>(i)] = {&barrier, i};
      pthread_t t;
      auto body = [](void* arg) -> void* {
        auto* s = static_cast<Start*>(arg);
        char name[16];
        std::snprintf(name, sizeof name, "tp-worker-%d", s->index);
        pthread_setname_np(pthread_self(), name);
        pthread_barrier_wait(s->barrier);
        return worker(nullptr);
      };
      if (pthread_create(&t, nullptr, body, &starts[static_cast<size_t>(i)]) != 0) die("pthread_create");
    }
    pthread_barrier_wait(&barrier);  // every thread is named
  }

  if (main_name != nullptr && pthread_setname_np(pthread_self(), main_name) != 0) die("pthread_setname_np");
  if (munmap(hole, 4096) != 0 || munmap(large_hole, 4096) != 0) die("munmap");
  if (not_dumpable && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) die("prctl");

  std::printf("pid %d\n", static_cast<int>(getpid()));
  std::printf("buffer %p %zu\n", static_cast<void*>(buffer), kBufferSize);
  std::printf("hole %p\n", static_cast<void*>(hole));
  std::printf("noaccess %p\n", noaccess);
  std::printf("readonly %p\n", static_cast<void*>(readonly));
  std::printf("code %p\n", reinterpret_cast<void*>(&tp_target_code_marker));
  std::printf("large %p %zu\n", static_cast<void*>(large), kLargePages * 4096);
  std::printf("large_hole %p\n", static_cast<void*>(large_hole));
  std::printf("ready\n");
  std::fflush(stdout);

  if (main_exits) {
    pthread_t t;
    if (pthread_create(&t, nullptr, serve, nullptr) != 0) die("pthread_create");
    pthread_exit(nullptr);
  }
  serve(nullptr);
  return 0;
}
