// SPDX-License-Identifier: MIT
// The macOS Child: waitpid by pid (exact while the child is unreaped: its
// pid cannot be recycled before we reap it), a kqueue with EVFILT_PROC/
// NOTE_EXIT as exit_fd() for timed waits, kill(2) while unreaped.
#include <errno.h>
#include <signal.h>

#include "common/backend.hpp"
#include "macos/reaper.hpp"
#include "macos/wait_status.hpp"
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

void Child::signal(int sig) {
  check_usable(Step::send_signal);
  if (status_) throw Error(ESRCH, Step::send_signal, program_, "child already reaped");
  if (::kill(pid_, sig) != 0) throw Error(errno, Step::send_signal, program_);
}

}  // namespace taskport
