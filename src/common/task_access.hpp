// SPDX-License-Identifier: MIT
// The backends' view of a Task: its Impl (each backend defines Task::Impl in
// its own task_impl.hpp). For free functions of the library that take a
// Task, such as taskport::macos::extmod_info.
#pragma once

#include "taskport/task.hpp"

namespace taskport::detail {

struct TaskAccess {
  static const Task::Impl& impl(const Task& task) noexcept { return *task.impl_; }
  // Null for a moved-from Task.
  static const Task::Impl* impl_or_null(const Task& task) noexcept { return task.impl_.get(); }
};

}  // namespace taskport::detail
