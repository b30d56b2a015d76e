// SPDX-License-Identifier: MIT
// Waiting on a child by pid with waitpid, and turning its status into an
// ExitStatus. Shared by spawn (reaping failed children), Child and the
// reaper. An unreaped child's pid cannot be recycled, so waiting by pid on
// our own child is exact.
#pragma once

#include <sys/types.h>

#include <optional>

#include "taskport/exit_status.hpp"

namespace taskport::backend {

ExitStatus to_exit_status(int wait_status) noexcept;

// waitpid(pid, WNOHANG unless `block`); retries EINTR. Returns the status,
// nothing if WNOHANG found the child still running, or sets `err`.
std::optional<ExitStatus> reap(pid_t pid, bool block, int& err) noexcept;

}  // namespace taskport::backend
