// SPDX-License-Identifier: MIT
// The first check of every Task and Child method that acts on the process:
//   * a moved-from object holds no process: Error(EBADF);
//   * an object copied into a process forked from the one that made it
//     (common/fork_generation.hpp) may belong to that process:
//     Error(ECHILD). A Child's child is not the forked process's to wait
//     for or kill; a macOS Task's port did not come along (fork passes on no
//     Mach rights). A Linux Task's descriptors do come along and keep naming
//     the task, so a copy works (present()); only its suspension stays the
//     parent's (task_linux.cpp).
// The noexcept accessors (pid(), native_handle(), exit_fd()) do not check:
// they return -1 (MACH_PORT_NULL) for a moved-from object.
#pragma once

#include <memory>
#include <string>

#include "common/fork_generation.hpp"
#include "taskport/error.hpp"

namespace taskport::common {

// Error(EBADF, step, "pid -1") about a moved-from `what` ("Task", "Child").
Error moved_from(Step step, const char* what);
// Error(ECHILD, step, program) about a `what` copied by fork().
Error copied_by_fork(Step step, const std::string& program, const char* what);

// The Impl of a Task for a method at `step`, in the process that made it.
// Each backend's Task::Impl has `program` and `fork_generation` (the
// generation it was made in).
template <class Impl>
Impl& usable(const std::unique_ptr<Impl>& impl, Step step) {
  if (!impl) throw moved_from(step, "Task");
  if (impl->fork_generation != fork_generation()) throw copied_by_fork(step, impl->program, "Task");
  return *impl;
}

// The Impl of a Task whose copies made by fork() work (Linux: the pidfd,
// /proc, mem and maps come along and keep naming the task): only a
// moved-from Task is refused.
template <class Impl>
Impl& present(const std::unique_ptr<Impl>& impl, Step step) {
  if (!impl) throw moved_from(step, "Task");
  return *impl;
}

}  // namespace taskport::common
