// SPDX-License-Identifier: MIT
// The macOS Child: waitpid by pid (exact while the child is unreaped: its
// pid cannot be recycled before we reap it), a kqueue with EVFILT_PROC/
// NOTE_EXIT as exit_fd() for timed waits, kill(2) while unreaped.
#include <errno.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <cmath>

#include "macos/reaper.hpp"
#include "macos/wait_status.hpp"
#include "taskport/child.hpp"
#include "taskport/error.hpp"

namespace taskport {

using backend::reap;

void Child::dispose() noexcept {
  stdin_.reset();
  stdout_.reset();
  stderr_.reset();
  handle_.reset();
  if (status_ || pid_ <= 0) return;
  if (kill_on_drop_) ::kill(pid_, SIGKILL);
  int err = 0;
  if (reap(pid_, false, err) || err != 0) return;
  backend::reap_in_background(pid_);
}

ExitStatus Child::wait() {
  if (status_) return *status_;
  stdin_.reset();
  int err = 0;
  auto status = reap(pid_, true, err);
  if (!status) throw Error(err, Step::wait, program_);
  status_ = status;
  return *status_;
}

std::optional<ExitStatus> Child::try_wait() {
  if (status_) return status_;
  int err = 0;
  auto status = reap(pid_, false, err);
  if (err != 0) throw Error(err, Step::wait, program_);
  status_ = status;
  return status_;
}

std::optional<ExitStatus> Child::wait_for(std::chrono::nanoseconds timeout) {
  if (status_) return status_;
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::max(timeout, std::chrono::nanoseconds(0));
  while (true) {
    // poll(2) on the kqueue does not consume its event (kevent would), so
    // exit_fd() stays readable for the caller's own event loop. Its
    // millisecond timeout is rounded up: never return before the deadline.
    const auto left = std::max(deadline - clock::now(), clock::duration(0));
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    pollfd p{handle_.get(), POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(ms, 1000LL * 60 * 60 * 24)));
    if (rc < 0 && errno != EINTR) throw Error(errno, Step::poll, program_);
    if (rc > 0) {
      // NOTE_EXIT fired: the child is exiting or a zombie, so this blocking
      // reap returns as soon as the kernel has finished the exit.
      int err = 0;
      auto status = reap(pid_, true, err);
      if (!status) throw Error(err, Step::wait, program_);
      status_ = status;
      return status_;
    }
    if (rc == 0 && clock::now() >= deadline) return std::nullopt;
  }
}

void Child::signal(int sig) {
  if (status_) throw Error(ESRCH, Step::send_signal, program_, "child already reaped");
  if (::kill(pid_, sig) != 0) throw Error(errno, Step::send_signal, program_);
}

void Child::kill() {
  if (status_) return;
  signal(SIGKILL);
}

}  // namespace taskport
