// SPDX-License-Identifier: MIT
// The Linux Child: every wait and signal goes through the pidfd from the
// clone, so none can reach a process that merely reuses the pid.
#include <errno.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>

#include "common/backend.hpp"
#include "linux/reaper.hpp"
#include "linux/sys.hpp"
#include "linux/wait_status.hpp"
#include "posix/eintr.hpp"
#include "taskport/child.hpp"
#include "taskport/error.hpp"

namespace taskport {

namespace backend {

Reaped reap_when_exited(const Child& child) noexcept { return reap_when_exited(child.exit_fd()); }

Reaped reap_if_exited(const Child& child) noexcept { return reap_if_exited(child.exit_fd()); }

void kill_and_reap(pid_t pid, int pidfd) noexcept {
  if (pidfd >= 0) {
    if (pidfd_send_signal(pidfd, SIGKILL) == 0) reap_when_exited(pidfd);
  } else if (::kill(pid, SIGKILL) == 0) {
    // By pid: exact, as the child is ours and not yet reaped.
    reap_pid_when_exited(pid);
  }
}

}  // namespace backend

void Child::dispose() noexcept {
  stdin_.reset();
  stdout_.reset();
  stderr_.reset();
  if (status_ || !handle_) return;
  if (kill_on_drop_) backend::pidfd_send_signal(handle_.get(), SIGKILL);
  const backend::Reaped r = backend::reap_if_exited(handle_.get());
  if (r.status || r.error != 0) return;
  backend::reap_in_background(std::move(handle_));
}

std::optional<ExitStatus> Child::wait_for(std::chrono::nanoseconds timeout) {
  if (status_) return status_;
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                           std::max(timeout, std::chrono::nanoseconds(0)));
  // The pidfd polls readable once the child has exited.
  pollfd p{handle_.get(), POLLIN, 0};
  const int rc = posix::poll_until(&p, 1, deadline);
  if (rc < 0) throw Error(errno, Step::poll, program_);
  if (rc == 0) return std::nullopt;
  return try_wait();
}

void Child::signal(int sig) {
  if (status_) throw Error(ESRCH, Step::send_signal, program_, "child already reaped");
  if (backend::pidfd_send_signal(handle_.get(), sig) != 0) throw Error(errno, Step::send_signal, program_);
}

void Child::kill() {
  if (status_) return;
  signal(SIGKILL);
}

}  // namespace taskport
