// SPDX-License-Identifier: MIT
// What each OS backend provides to the platform-neutral code in src/common
// (Child, Task and the spawn guard are written once there). Exactly one
// backend is compiled into a build: src/linux or src/macos.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "taskport/child.hpp"
#include "taskport/exit_status.hpp"
#include "taskport/task.hpp"

namespace taskport::backend {

// What an attempt to reap a child gave: its status once reaped; nothing
// with error 0 if it has not exited yet; nothing with the errno of the wait
// that failed.
struct Reaped {
  std::optional<ExitStatus> status;
  int error = 0;
};

// Blocks until `child` exits, then reaps it (Linux: waitid on the pidfd;
// macOS: waitpid). Retries EINTR.
Reaped reap_when_exited(const Child& child) noexcept;

// Reaps `child` if it has exited; never blocks.
Reaped reap_if_exited(const Child& child) noexcept;

// SIGKILL to a child that no Child owns yet (known by its pid, and on Linux
// by its pidfd, or -1), then a blocking reap. If the signal cannot be sent,
// the child is left alone rather than waited for (it might never exit).
void kill_and_reap(pid_t pid, int pidfd) noexcept;

// Error::program() of the task (taskport/error.hpp).
const std::string& program_of(const Task::Impl& task) noexcept;

}  // namespace taskport::backend
