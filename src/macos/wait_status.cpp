// SPDX-License-Identifier: MIT
#include "macos/wait_status.hpp"

#include <errno.h>
#include <sys/wait.h>

namespace taskport::backend {

ExitStatus to_exit_status(int status) noexcept {
  if (WIFEXITED(status)) return ExitStatus::exited(WEXITSTATUS(status));
  return ExitStatus::signaled(WTERMSIG(status), WCOREDUMP(status) != 0);
}

std::optional<ExitStatus> reap(pid_t pid, bool block, int& err) noexcept {
  err = 0;
  int status = 0;
  pid_t rc;
  do {
    // Only exits are reported: no WUNTRACED, so a stopped child (SIGSTOP,
    // task_suspend does not stop it in this sense) is still "running".
    rc = ::waitpid(pid, &status, block ? 0 : WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    err = errno;
    return std::nullopt;
  }
  if (rc == 0) return std::nullopt;
  return to_exit_status(status);
}

}  // namespace taskport::backend
