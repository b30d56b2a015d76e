// SPDX-License-Identifier: MIT
// tp_hostile_target — a process that is hard to suspend: it keeps creating
// and joining threads, forking children that exec, and (optionally) ticks so
// that a test can see whether it makes progress.
//
// Arguments (any combination):
//   --churn N     N threads, each creating and joining a short-lived thread
//                 in a loop (threads are born and exit all the time)
//   --churn-life US  each short-lived thread of --churn lives US microseconds
//                 (given before --churn)
//   --forkers N   N threads, each forking a child that execs /bin/true and
//                 waiting for it, in a loop
//   --spin N      N threads that never sleep (keep the CPUs busy, so that a
//                 stopping thread often has to wait to be scheduled)
//   --ticker      one thread writes an increasing number and '\n' to stdout
//                 every millisecond
//   --vfork-sleep MS  one thread vforks once, a child that sleeps MS
//                 milliseconds and exits: that long the thread waits in the
//                 kernel (state D) where no ptrace stop can reach it
// Then it prints "ready\n" (before the first tick) and reads stdin: the line "exit N" makes it exit
// with code N; end-of-file makes it exit 0 (so it never outlives the test
// that holds the other end of its stdin).
//
// Plain POSIX and std::thread, no sanitizer runtime (see CMakeLists.txt):
// the process's threads are only the ones listed here.
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(120);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// How long each short-lived thread of --churn lives (--churn-life US).
int g_life_us = 0;

[[noreturn]] void churn() {
  std::atomic<unsigned long> sink{0};
  while (true) {
    std::thread t([&sink] {
      sink.fetch_add(1, std::memory_order_relaxed);
      if (g_life_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(g_life_us));
    });
    t.join();
  }
}

[[noreturn]] void spin() {
  volatile unsigned long n = 0;
  while (true) n = n + 1;
}

[[noreturn]] void fork_exec() {
  char* const argv[] = {const_cast<char*>("true"), nullptr};
  char* const envp[] = {nullptr};
  while (true) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execve("/bin/true", argv, envp);
      _exit(127);
    }
    if (pid > 0) {
      int status;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

[[noreturn]] void vfork_sleep(int ms) {
  const pid_t pid = ::vfork();
  if (pid == 0) {
    // The vfork child: only system calls until _exit.
    const timespec t = {ms / 1000, static_cast<long>(ms % 1000) * 1000000L};
    ::nanosleep(&t, nullptr);
    _exit(0);
  }
  int status;
  while (pid > 0 && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
}

[[noreturn]] void tick() {
  for (unsigned long n = 0;; ++n) {
    const std::string line = std::to_string(n) + "\n";
    write_all(1, line.data(), line.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool ticker = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const int n = i + 1 < argc ? std::atoi(argv[i + 1]) : 0;
    if (a == "--churn-life") {
      g_life_us = n;
      ++i;
    } else if (a == "--churn") {
      for (int k = 0; k < n; ++k) std::thread(churn).detach();
      ++i;
    } else if (a == "--spin") {
      for (int k = 0; k < n; ++k) std::thread(spin).detach();
      ++i;
    } else if (a == "--forkers") {
      for (int k = 0; k < n; ++k) std::thread(fork_exec).detach();
      ++i;
    } else if (a == "--vfork-sleep") {
      std::thread(vfork_sleep, n).detach();
      ++i;
    } else if (a == "--ticker") {
      ticker = true;
    }
  }
  write_all(1, "ready\n", 6);
  if (ticker) std::thread(tick).detach();  // after "ready": ticks follow it
  std::string line;
  char c;
  while (true) {
    const ssize_t r = ::read(0, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(0);
    if (c != '\n') {
      line += c;
      continue;
    }
    if (line.compare(0, 5, "exit ") == 0) _exit(std::atoi(line.c_str() + 5));
    line.clear();
  }
}
