// SPDX-License-Identifier: MIT
#include "linux/wait_status.hpp"

#include <errno.h>
#include <sys/wait.h>

#include "linux/sys.hpp"
#include "posix/eintr.hpp"

namespace taskport::backend {
namespace {

Reaped waited(int rc, const siginfo_t& info) noexcept {
  Reaped r;
  if (rc != 0) {
    r.error = errno;
  } else if (info.si_pid != 0) {  // 0: WNOHANG found it still running
    r.status = to_exit_status(info);
  }
  return r;
}

Reaped reap_pidfd(int pidfd, int options) noexcept {
  siginfo_t info{};
  const int rc = posix::retry_on_eintr([&] { return waitid_pidfd(pidfd, &info, WEXITED | options); });
  return waited(rc, info);
}

}  // namespace

ExitStatus to_exit_status(const siginfo_t& info) noexcept {
  switch (info.si_code) {
    case CLD_EXITED: return ExitStatus::exited(info.si_status);
    case CLD_DUMPED: return ExitStatus::signaled(info.si_status, true);
    default: return ExitStatus::signaled(info.si_status, false);
  }
}

Reaped reap_when_exited(int pidfd) noexcept { return reap_pidfd(pidfd, 0); }

Reaped reap_if_exited(int pidfd) noexcept { return reap_pidfd(pidfd, WNOHANG); }

Reaped reap_pid_when_exited(pid_t pid) noexcept {
  siginfo_t info{};
  const int rc =
      posix::retry_on_eintr([&] { return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED); });
  return waited(rc, info);
}

}  // namespace taskport::backend
