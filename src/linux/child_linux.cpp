// SPDX-License-Identifier: MIT
// The Linux Child: every wait and signal goes through the pidfd from the
// clone, so none can reach a process that merely reuses the pid.
#include <errno.h>
#include <signal.h>

#include "common/backend.hpp"
#include "linux/reaper.hpp"
#include "linux/sys.hpp"
#include "linux/wait_status.hpp"
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

void Child::signal(int sig) {
  check_usable(Step::send_signal);
  if (status_) throw Error(ESRCH, Step::send_signal, program_, "child already reaped");
  if (backend::pidfd_send_signal(handle_.get(), sig) != 0) throw Error(errno, Step::send_signal, program_);
}

}  // namespace taskport
