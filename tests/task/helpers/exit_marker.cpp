// SPDX-License-Identifier: MIT
// Test helper for Task::hold_at_exit(): writes a marker into its memory just
// before it exits, so that a test can read it while the process is held.
//
// Prints "marker 0x<address> <size>" (a global buffer, empty until the
// exit), then reads commands from stdin, one per line:
//   exit N          write the marker "exit-marker-<pid>", then exit(N)
//   segv            write the marker, then a null store (SIGSEGV)
//   term            write the marker, then kill(getpid(), SIGTERM)
//   group-exit N    start 4 spinning threads; one of them writes the marker
//                   and calls exit_group(N)
//   lone            start and join 20 short-lived threads; prints "lone done"
//   exec            execv itself (a new image that prints its marker line)
//   ping            prints "pong"
// SIGUSR1 prints "usr1". EOF on stdin: exit 0 (no marker).
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

char g_marker[64];
int g_group_code = 0;

void say(const std::string& line) {
  const std::string text = line + "\n";
  [[maybe_unused]] const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
}

void write_marker() {
  std::snprintf(g_marker, sizeof g_marker, "exit-marker-%d", static_cast<int>(::getpid()));
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void on_usr1(int) {
  static const char text[] = "usr1\n";
  [[maybe_unused]] const ssize_t n = ::write(STDOUT_FILENO, text, sizeof text - 1);
}

void* spin(void*) {
  for (;;) __atomic_signal_fence(__ATOMIC_SEQ_CST);
  return nullptr;
}

void* group_exit(void*) {
  write_marker();
  ::syscall(SYS_exit_group, g_group_code);
  return nullptr;
}

void* nothing(void*) { return nullptr; }

}  // namespace

int main(int, char** argv) {
  struct sigaction sa {};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  char line[256];
  std::snprintf(line, sizeof line, "marker %p %zu", static_cast<void*>(g_marker), sizeof g_marker);
  say(line);
  std::string pending;
  char buf[256];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) return 0;
    pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      const std::string cmd = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (cmd.rfind("exit ", 0) == 0) {
        write_marker();
        std::exit(std::atoi(cmd.c_str() + 5));
      } else if (cmd == "segv") {
        write_marker();
        *static_cast<volatile int*>(nullptr) = 1;
      } else if (cmd == "term") {
        write_marker();
        ::kill(::getpid(), SIGTERM);
        for (;;) ::pause();
      } else if (cmd.rfind("group-exit ", 0) == 0) {
        g_group_code = std::atoi(cmd.c_str() + 11);
        pthread_t t;
        for (int i = 0; i < 3; ++i) pthread_create(&t, nullptr, spin, nullptr);
        pthread_create(&t, nullptr, group_exit, nullptr);
        for (;;) ::pause();
      } else if (cmd == "lone") {
        for (int i = 0; i < 20; ++i) {
          pthread_t t;
          if (pthread_create(&t, nullptr, nothing, nullptr) == 0) pthread_join(t, nullptr);
        }
        say("lone done");
      } else if (cmd == "exec") {
        ::execv("/proc/self/exe", argv);
        say("exec failed");
      } else if (cmd == "ping") {
        say("pong");
      }
    }
  }
}
