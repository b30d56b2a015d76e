// SPDX-License-Identifier: MIT
// Waiting on a child by pidfd, and turning what waitid reports into an
// ExitStatus. Shared by spawn (reaping failed children), Child and the reaper.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>

#include "taskport/exit_status.hpp"

namespace taskport::backend {

ExitStatus to_exit_status(const siginfo_t& info) noexcept;

// waitid(P_PIDFD, WEXITED [| WNOHANG]); retries EINTR. Returns the status,
// nothing if WNOHANG found the child still running, or -errno via `err`.
std::optional<ExitStatus> reap(int pidfd, bool block, int& err) noexcept;

// Blocking reap of a child known only by pid (the CLONE_PIDFD fallback when
// the child died before it could send its pidfd). Safe: an unreaped child's
// pid cannot be reused.
std::optional<ExitStatus> reap_pid(pid_t pid) noexcept;

}  // namespace taskport::backend
