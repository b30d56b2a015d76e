// SPDX-License-Identifier: MIT
#include "linux/wait_status.hpp"

#include <errno.h>
#include <sys/wait.h>

#include "linux/sys.hpp"

namespace taskport::backend {

ExitStatus to_exit_status(const siginfo_t& info) noexcept {
  switch (info.si_code) {
    case CLD_EXITED: return ExitStatus::exited(info.si_status);
    case CLD_DUMPED: return ExitStatus::signaled(info.si_status, true);
    default: return ExitStatus::signaled(info.si_status, false);
  }
}

std::optional<ExitStatus> reap(int pidfd, bool block, int& err) noexcept {
  err = 0;
  siginfo_t info{};
  const int options = WEXITED | (block ? 0 : WNOHANG);
  int rc;
  do {
    rc = backend::waitid_pidfd(pidfd, &info, options);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    err = errno;
    return std::nullopt;
  }
  if (info.si_pid == 0) return std::nullopt;  // WNOHANG: still running
  return to_exit_status(info);
}

std::optional<ExitStatus> reap_pid(pid_t pid) noexcept {
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return std::nullopt;
  return to_exit_status(info);
}

}  // namespace taskport::backend
