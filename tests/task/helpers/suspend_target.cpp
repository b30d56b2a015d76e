// SPDX-License-Identifier: MIT
// Test helper for suspend/resume: a target whose progress the tests observe
// from outside.
//   --ticker        print an increasing number every millisecond
//   --thread-churn  start short-lived threads in a loop (and tick like --ticker)
//   --rt-signals    print "sig <value>" for each SIGRTMIN+1 received; "ready" first
//   --block         block reading stdin; exit at EOF
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace {

void tick_forever() {
  for (unsigned long n = 0;; ++n) {
    std::printf("%lu\n", n);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void on_rt(int, siginfo_t* info, void*) {
  char buf[32];
  int len = std::snprintf(buf, sizeof buf, "sig %d\n", info->si_value.sival_int);
  [[maybe_unused]] ssize_t n = ::write(STDOUT_FILENO, buf, static_cast<size_t>(len));
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "--block";
  if (std::strcmp(mode, "--ticker") == 0) tick_forever();
  if (std::strcmp(mode, "--thread-churn") == 0) {
    std::thread([] {
      while (true) {
        // About a thousand short-lived threads a second: enough that threads
        // are born while a suspend is under way, few enough that thread ids
        // (pid_max may be 32768) are not recycled within one suspend.
        std::thread t([] { std::this_thread::sleep_for(std::chrono::microseconds(500)); });
        t.detach();
        std::this_thread::sleep_for(std::chrono::microseconds(1000));
      }
    }).detach();
    tick_forever();
  }
  if (std::strcmp(mode, "--rt-signals") == 0) {
    struct sigaction sa {};
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGRTMIN + 1, &sa, nullptr);
    std::printf("ready\n");
    std::fflush(stdout);
  }
  char buf[64];
  while (::read(STDIN_FILENO, buf, sizeof buf) != 0) {
  }
  return 0;
}
