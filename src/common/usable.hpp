// SPDX-License-Identifier: MIT
// The first check of every Task and Child method that acts on the process:
//   * a moved-from object holds no process: Error(EBADF);
//   * an object copied into a process forked from the one that made it
//     (common/fork_generation.hpp) belongs to that process: Error(ECHILD).
//     Its child is not this process's to wait for or kill, its suspension
//     is the parent's tracer's, and on macOS its task port did not come
//     along (fork passes on no Mach rights).
// The noexcept accessors (pid(), native_handle(), exit_fd()) do not check:
// they return -1 for a moved-from object.
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

// The Impl of a Task for a method at `step`. Each backend's Task::Impl has
// `program` and `fork_generation` (the generation it was made in).
template <class Impl>
Impl& usable(const std::unique_ptr<Impl>& impl, Step step) {
  if (!impl) throw moved_from(step, "Task");
  if (impl->fork_generation != fork_generation()) throw copied_by_fork(step, impl->program, "Task");
  return *impl;
}

}  // namespace taskport::common
