// SPDX-License-Identifier: MIT
#include "linux/wait_status.hpp"

#include <errno.h>
#include <sys/wait.h>

#include "linux/sys.hpp"
#include "posix/eintr.hpp"

namespace taskport::backend {
namespace {

bool is_exit(const siginfo_t& info) noexcept {
  return info.si_code == CLD_EXITED || info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
}

Reaped waited(int rc, const siginfo_t& info) noexcept {
  Reaped r;
  if (rc != 0) {
    r.error = errno;
  } else if (info.si_pid != 0 && is_exit(info)) {  // si_pid 0: WNOHANG found it still running
    r.status = to_exit_status(info);
  }
  return r;
}

// A WEXITED wait also reports the ptrace stop of a child that taskport's
// tracer thread traces (a suspended or start-suspended child: the kernel
// shows a tracee's stops to every wait of its tracer's process,
// kernel/exit.c wait_task_stopped): such a report is no exit. The tracer
// does not depend on it (tracer.hpp); a blocking wait waits on for the exit.
Reaped reap_pidfd(int pidfd, int options) noexcept {
  while (true) {
    siginfo_t info{};
    const int rc = posix::retry_on_eintr([&] { return waitid_pidfd(pidfd, &info, WEXITED | options); });
    if (rc == 0 && info.si_pid != 0 && !is_exit(info) && (options & WNOHANG) == 0) continue;
    return waited(rc, info);
  }
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
  while (true) {
    siginfo_t info{};
    const int rc =
        posix::retry_on_eintr([&] { return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED); });
    if (rc == 0 && info.si_pid != 0 && !is_exit(info)) continue;  // a ptrace stop (see reap_pidfd)
    return waited(rc, info);
  }
}

}  // namespace taskport::backend
