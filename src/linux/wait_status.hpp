// SPDX-License-Identifier: MIT
// Waiting on a child by pidfd, and turning what waitid reports into an
// ExitStatus. Shared by spawn (reaping failed children), Child and the reaper.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "common/backend.hpp"
#include "taskport/exit_status.hpp"

namespace taskport::backend {

ExitStatus to_exit_status(const siginfo_t& info) noexcept;

// Blocks until the child the pidfd names exits, and reaps it
// (waitid(P_PIDFD, WEXITED); ECHILD if it is not our child or is reaped).
Reaped reap_when_exited(int pidfd) noexcept;

// Reaps the child the pidfd names if it has exited (WNOHANG): never blocks.
Reaped reap_if_exited(int pidfd) noexcept;

// Blocking reap of a child known only by pid (the CLONE_PIDFD fallback when
// the child died before it could send its pidfd). Exact: an unreaped child's
// pid cannot be reused.
Reaped reap_pid_when_exited(pid_t pid) noexcept;

}  // namespace taskport::backend
