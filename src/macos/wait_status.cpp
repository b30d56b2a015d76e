// SPDX-License-Identifier: MIT
#include "macos/wait_status.hpp"

#include <errno.h>
#include <sys/wait.h>

#include "posix/eintr.hpp"

namespace taskport::backend {
namespace {

Reaped reap_pid(pid_t pid, int options) noexcept {
  int status = 0;
  // Only exits are reported: no WUNTRACED, so a stopped child (SIGSTOP,
  // task_suspend does not stop it in this sense) is still "running".
  const pid_t rc = posix::retry_on_eintr([&] { return ::waitpid(pid, &status, options); });
  Reaped r;
  if (rc < 0) {
    r.error = errno;
  } else if (rc != 0) {  // 0: WNOHANG found it still running
    r.status = to_exit_status(status);
  }
  return r;
}

}  // namespace

ExitStatus to_exit_status(int status) noexcept {
  if (WIFEXITED(status)) return ExitStatus::exited(WEXITSTATUS(status));
  return ExitStatus::signaled(WTERMSIG(status), WCOREDUMP(status) != 0);
}

Reaped reap_when_exited(pid_t pid) noexcept { return reap_pid(pid, 0); }

Reaped reap_if_exited(pid_t pid) noexcept { return reap_pid(pid, WNOHANG); }

}  // namespace taskport::backend
