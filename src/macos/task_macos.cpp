// SPDX-License-Identifier: MIT
// The macOS Task: identity (task port, pid_for_task), signals, counted
// suspension (task_suspend/task_resume). Memory, regions, threads and usage
// live in their own task_*_macos.cpp files.
#include <errno.h>
#include <signal.h>

#include "common/backend.hpp"
#include "macos/exit_watch.hpp"
#include "macos/mach_error.hpp"
#include "macos/task_impl.hpp"
#include "taskport/error.hpp"

namespace taskport {

namespace backend {
const std::string& program_of(const Task::Impl& task) noexcept { return task.program; }
}  // namespace backend

using backend::kern_error;

Task::Impl::~Impl() {
  // The target is always restored: a task left suspended would stay frozen
  // with nobody left to resume it.
  for (; suspend_count > 0; --suspend_count) ::task_resume(port.get());
}

Task::Task(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Task::Task(Task&&) noexcept = default;
Task& Task::operator=(Task&&) noexcept = default;
Task::~Task() = default;

Task::native_handle_type Task::native_handle() const noexcept { return impl_->port.get(); }
pid_t Task::pid() const noexcept { return impl_->pid; }
int Task::exit_fd() const noexcept { return impl_->exit_kq.get(); }

bool Task::is_alive() const {
  if (impl_->exit_kq) return !backend::exit_watch_fired(impl_->exit_kq.get(), impl_->program);
  // No exit watch: ask the task port. pid_for_task fails once the task is
  // gone (exited, or replaced by an exec).
  int pid = -1;
  return ::pid_for_task(impl_->port.get(), &pid) == KERN_SUCCESS;
}

void Task::signal(int sig) {
  // kill(2) takes a pid; make sure it still names our task first (the pid
  // of an exited, reaped task may have been recycled).
  int pid = -1;
  const kern_return_t kr = ::pid_for_task(impl_->port.get(), &pid);
  if (kr != KERN_SUCCESS || pid != impl_->pid || !is_alive()) {
    throw Error(ESRCH, Step::send_signal, impl_->program, "the task has exited");
  }
  if (::kill(impl_->pid, sig) != 0) throw Error(errno, Step::send_signal, impl_->program);
}

void Task::suspend() {
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  const kern_return_t kr = ::task_suspend(impl_->port.get());
  if (kr != KERN_SUCCESS) throw kern_error(kr, Step::suspend, impl_->program, "task_suspend");
  ++impl_->suspend_count;
}

void Task::resume() {
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  if (impl_->suspend_count == 0) throw Error(EINVAL, Step::resume, impl_->program, "task is not suspended");
  const kern_return_t kr = ::task_resume(impl_->port.get());
  // A task that exited while suspended needs no resume: just count down.
  if (kr != KERN_SUCCESS && backend::errno_from_kern(kr) != ESRCH) {
    throw kern_error(kr, Step::resume, impl_->program, "task_resume");
  }
  --impl_->suspend_count;
}

int Task::suspend_count() const {
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  return impl_->suspend_count;
}

}  // namespace taskport
