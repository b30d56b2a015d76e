// SPDX-License-Identifier: MIT
// The macOS Child: waitpid by pid (exact while the child is unreaped: its
// pid cannot be recycled before we reap it), a kqueue with EVFILT_PROC/
// NOTE_EXIT as exit_fd() for timed waits, kill(2) while unreaped.
#include <errno.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>

#include "common/backend.hpp"
#include "macos/reaper.hpp"
#include "macos/wait_status.hpp"
#include "posix/eintr.hpp"
#include "taskport/child.hpp"
#include "taskport/error.hpp"

namespace taskport {

namespace backend {

Reaped reap_when_exited(const Child& child) noexcept { return reap_when_exited(child.pid()); }

Reaped reap_if_exited(const Child& child) noexcept { return reap_if_exited(child.pid()); }

void kill_and_reap(pid_t pid, int /*pidfd: none on macOS*/) noexcept {
  // By pid: exact, as the child is ours and not yet reaped.
  if (::kill(pid, SIGKILL) == 0) reap_when_exited(pid);
}

}  // namespace backend

void Child::dispose() noexcept {
  stdin_.reset();
  stdout_.reset();
  stderr_.reset();
  handle_.reset();
  if (status_ || pid_ <= 0) return;
  if (kill_on_drop_) ::kill(pid_, SIGKILL);
  const backend::Reaped r = backend::reap_if_exited(pid_);
  if (r.status || r.error != 0) return;
  backend::reap_in_background(pid_);
}

std::optional<ExitStatus> Child::wait_for(std::chrono::nanoseconds timeout) {
  if (status_) return status_;
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                           std::max(timeout, std::chrono::nanoseconds(0)));
  // poll(2) on the kqueue does not consume its event (kevent would), so
  // exit_fd() stays readable for the caller's own event loop.
  pollfd p{handle_.get(), POLLIN, 0};
  const int rc = posix::poll_until(&p, 1, deadline);
  if (rc < 0) throw Error(errno, Step::poll, program_);
  if (rc == 0) return std::nullopt;
  // NOTE_EXIT fired: the child is exiting or a zombie, so this blocking reap
  // returns as soon as the kernel has finished the exit. (Not wait(): that
  // would close stdin_pipe().)
  const backend::Reaped r = backend::reap_when_exited(pid_);
  if (!r.status) throw Error(r.error, Step::wait, program_);
  status_ = r.status;
  return status_;
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
