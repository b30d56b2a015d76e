// SPDX-License-Identifier: MIT
// The Linux Task: identity (pidfd), signals, and counted suspension through
// the tracer thread. Memory, regions, threads and usage live in their own
// task_*_linux.cpp files.
#include <errno.h>
#include <signal.h>

#include "common/backend.hpp"
#include "linux/proc_access.hpp"
#include "linux/sys.hpp"
#include "linux/task_impl.hpp"
#include "linux/tracer.hpp"
#include "posix/eintr.hpp"
#include "taskport/error.hpp"

namespace taskport {

namespace backend {
const std::string& program_of(const Task::Impl& task) noexcept { return task.program; }
}  // namespace backend

Task::Impl::~Impl() {
  // The target is always restored: a task left suspended would stay frozen
  // with nobody left to resume it.
  if (!suspension) return;
  try {
    backend::run_on_tracer([this] { backend::resume_all(std::move(suspension)); });
  } catch (...) {
    // The tracer thread could not be reached (no thread in a forked child):
    // the tracer of these threads is gone with it, which detaches them.
  }
}

Task::Task(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Task::Task(Task&&) noexcept = default;
Task& Task::operator=(Task&&) noexcept = default;
Task::~Task() = default;

Task::native_handle_type Task::native_handle() const noexcept { return impl_->pidfd.get(); }
pid_t Task::pid() const noexcept { return impl_->pid; }
int Task::exit_fd() const noexcept { return impl_->pidfd.get(); }

bool Task::is_alive() const {
  // A pidfd polls readable once the process has exited (zombie or reaped).
  const int revents = posix::poll_now(impl_->pidfd.get());
  if (revents < 0) throw Error(errno, Step::poll, impl_->program);
  return revents == 0;
}

void Task::signal(int sig) {
  if (backend::pidfd_send_signal(impl_->pidfd.get(), sig) != 0) {
    throw Error(errno, Step::send_signal, impl_->program);
  }
}

void Task::suspend() {
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  if (impl_->suspend_count == 0) {
    backend::run_on_tracer([this] { impl_->suspension = backend::suspend_all(*impl_); });
  }
  ++impl_->suspend_count;
}

void Task::resume() {
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  if (impl_->suspend_count == 0) throw Error(EINVAL, Step::resume, impl_->program, "task is not suspended");
  if (impl_->suspend_count == 1) {
    backend::run_on_tracer([this] { backend::resume_all(std::move(impl_->suspension)); });
  }
  --impl_->suspend_count;
}

int Task::suspend_count() const {
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  return impl_->suspend_count;
}

#if defined(__x86_64__) || defined(__aarch64__)
Registers Task::registers(pid_t tid) const {
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  if (impl_->suspend_count == 0 || !impl_->suspension) {
    throw Error(EBUSY, Step::read_registers, impl_->program, "the task must be suspended to read registers");
  }
  Registers regs{};
  backend::run_on_tracer([&] { regs = backend::get_registers(*impl_->suspension, tid, impl_->program); });
  return regs;
}
#endif

}  // namespace taskport
