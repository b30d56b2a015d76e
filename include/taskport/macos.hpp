// SPDX-License-Identifier: MIT
// taskport — macOS-only extras of a Task (Mach task ports).
#pragma once

#if defined(__APPLE__)

#include <array>
#include <cstdint>
#include <optional>
#include <system_error>

#include "taskport/export.hpp"
#include "taskport/task.hpp"

namespace taskport::macos {

// TASK_EXTMOD_INFO: how often the task was modified from outside (and how
// often it did that to others) — the query of spawn-task-port's README.
struct ExtmodInfo {
  std::array<std::uint8_t, 16> task_uuid{};        // the task's unique id (task_uuid)
  std::int64_t task_for_pid_count = 0;             // times this task's port was looked up (task_for_pid)
  std::int64_t task_for_pid_caller_count = 0;      // times this task called task_for_pid
  std::int64_t thread_creation_count = 0;          // threads created in this task from outside
  std::int64_t thread_creation_caller_count = 0;   // threads this task created in others
  std::int64_t thread_set_state_count = 0;         // register writes into this task's threads from outside
  std::int64_t thread_set_state_caller_count = 0;  // register writes this task made into others
};

// task_info(task.native_handle(), TASK_EXTMOD_INFO). Throws
// Error(Step::read_info): ESRCH once the task is gone (exited or exec'd).
TASKPORT_API ExtmodInfo extmod_info(const Task& task);
// Without exceptions (taskport/error.hpp).
TASKPORT_API std::optional<ExtmodInfo> extmod_info(const Task& task, std::error_code& ec) noexcept;

}  // namespace taskport::macos

#endif  // __APPLE__
