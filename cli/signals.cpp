// SPDX-License-Identifier: MIT
#include "signals.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include <taskport/error.hpp>

namespace taskport_cli {
namespace {

constexpr int kForwarded[3] = {SIGINT, SIGTERM, SIGHUP};

// The write end of the pipe, for the handler (a handler reaches only globals).
std::atomic<int> g_write_end{-1};
struct sigaction g_previous[3];

// Async-signal-safe: one write(2) of two bytes (a pipe write of at most
// PIPE_BUF bytes is atomic), errno preserved.
void on_signal(int signo, siginfo_t* info, void* /*context*/) {
  const int saved = errno;
#if defined(SI_KERNEL)
  const bool from_kernel = info != nullptr && info->si_code == SI_KERNEL;
#else
  // macOS has no SI_KERNEL: a terminal's ^C reaches the child twice there.
  const bool from_kernel = false;
  (void)info;
#endif
  const unsigned char note[2] = {static_cast<unsigned char>(signo), static_cast<unsigned char>(from_kernel)};
  const int fd = g_write_end.load(std::memory_order_relaxed);
  if (fd >= 0) (void)!::write(fd, note, sizeof note);
  errno = saved;
}

int make_pipe(int fds[2]) {
#if defined(__APPLE__)
  if (::pipe(fds) != 0) return -1;
  for (int i = 0; i < 2; ++i) {
    if (::fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0 || ::fcntl(fds[i], F_SETFL, O_NONBLOCK) != 0) return -1;
  }
  return 0;
#else
  return ::pipe2(fds, O_CLOEXEC | O_NONBLOCK);
#endif
}

}  // namespace

SignalCatcher::SignalCatcher() {
  int fds[2];
  if (make_pipe(fds) != 0)
    throw taskport::Error(errno, taskport::Step::create_pipe, "taskport", "signal pipe");
  read_end_.reset(fds[0]);
  write_end_.reset(fds[1]);
  g_write_end.store(fds[1]);
  for (int i = 0; i < 3; ++i) {
    struct sigaction now {};
    if (::sigaction(kForwarded[i], nullptr, &now) != 0 || now.sa_handler == SIG_IGN) continue;
    struct sigaction sa {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    installed_[i] = ::sigaction(kForwarded[i], &sa, &g_previous[i]) == 0;
  }
}

SignalCatcher::~SignalCatcher() {
  for (int i = 0; i < 3; ++i) {
    if (installed_[i]) ::sigaction(kForwarded[i], &g_previous[i], nullptr);
  }
  g_write_end.store(-1);
}

std::vector<int> SignalCatcher::take(bool sent_to_the_group_too) {
  std::vector<int> out;
  unsigned char note[2];
  for (;;) {
    const ssize_t n = ::read(read_end_.get(), note, sizeof note);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof note)) break;  // EAGAIN: nothing more
    const bool sent_by_kernel_to_the_group = note[1] != 0;
    if (sent_to_the_group_too || !sent_by_kernel_to_the_group) out.push_back(note[0]);
  }
  return out;
}

}  // namespace taskport_cli
