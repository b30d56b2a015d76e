// SPDX-License-Identifier: MIT
// Waiting on a child by pid with waitpid, and turning its status into an
// ExitStatus. Shared by spawn (reaping failed children), Child and the
// reaper. An unreaped child's pid cannot be recycled, so waiting by pid on
// our own child is exact.
#pragma once

#include <sys/types.h>

#include "common/backend.hpp"
#include "taskport/exit_status.hpp"

namespace taskport::backend {

ExitStatus to_exit_status(int wait_status) noexcept;

// Blocks until the child `pid` exits, and reaps it (waitpid).
Reaped reap_when_exited(pid_t pid) noexcept;

// Reaps the child `pid` if it has exited (WNOHANG): never blocks.
Reaped reap_if_exited(pid_t pid) noexcept;

}  // namespace taskport::backend
