// SPDX-License-Identifier: MIT
// The Linux Task: identity (pidfd), signals, and counted suspension through
// the tracer thread. Memory, regions, threads and usage live in their own
// task_*_linux.cpp files.
#include <errno.h>
#include <signal.h>

#include "common/backend.hpp"
#include "common/usable.hpp"
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

namespace {

// In a process forked from the one whose tracer holds the suspension, the
// copied Task has none of its own: it forgets the parent's (its threads
// stay the parent's tracer's) and counts from 0. Under suspend_mutex.
void forget_inherited_suspension(Task::Impl& t) noexcept {
  if (t.suspend_count == 0 || t.suspension_generation == common::fork_generation()) return;
  t.suspension.reset();  // this process's copy of the parent's record; touches no thread
  t.suspend_count = 0;
}

}  // namespace

Task::Impl::~Impl() {
  // The target is always restored: a task left suspended would stay frozen
  // with nobody left to resume it. Not by a copy made by fork(): the parent's
  // Task does that.
  if (!suspension || suspension_generation != common::fork_generation()) return;
  try {
    backend::run_on_tracer([this] { backend::resume_all(std::move(suspension)); }, Step::resume, program);
  } catch (...) {
    // Cannot happen: the tracer thread made the suspension, so it runs, and
    // queuing a job allocates nothing.
  }
}

Task::Task(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Task::Task(Task&&) noexcept = default;
Task& Task::operator=(Task&&) noexcept = default;
Task::~Task() = default;

Task::native_handle_type Task::native_handle() const noexcept { return impl_ ? impl_->pidfd.get() : -1; }
pid_t Task::pid() const noexcept { return impl_ ? impl_->pid : -1; }
int Task::exit_fd() const noexcept { return impl_ ? impl_->pidfd.get() : -1; }

bool Task::is_alive() const {
  const Impl& t = common::present(impl_, Step::poll);
  // A pidfd polls readable once the process has exited (zombie or reaped).
  const int revents = posix::poll_now(t.pidfd.get());
  if (revents < 0) throw Error(errno, Step::poll, t.program);
  return revents == 0;
}

void Task::signal(int sig) {
  const Impl& t = common::present(impl_, Step::send_signal);
  if (backend::pidfd_send_signal(t.pidfd.get(), sig) != 0) throw Error(errno, Step::send_signal, t.program);
}

void Task::suspend() {
  Impl& t = common::present(impl_, Step::suspend);
  std::lock_guard<std::mutex> lock(t.suspend_mutex);
  forget_inherited_suspension(t);
  if (t.suspend_count == 0) {
    backend::run_on_tracer([&t] { t.suspension = backend::suspend_all(t); }, Step::suspend, t.program);
    t.suspension_generation = common::fork_generation();
  }
  ++t.suspend_count;
}

void Task::resume() {
  Impl& t = common::present(impl_, Step::resume);
  std::lock_guard<std::mutex> lock(t.suspend_mutex);
  forget_inherited_suspension(t);
  if (t.suspend_count == 0) throw Error(EINVAL, Step::resume, t.program, "task is not suspended");
  if (t.suspend_count == 1) {
    backend::run_on_tracer([&t] { backend::resume_all(std::move(t.suspension)); }, Step::resume, t.program);
  }
  --t.suspend_count;
}

int Task::suspend_count() const {
  Impl& t = common::present(impl_, Step::suspend);
  std::lock_guard<std::mutex> lock(t.suspend_mutex);
  forget_inherited_suspension(t);
  return t.suspend_count;
}

#if defined(__x86_64__) || defined(__aarch64__)
Registers Task::registers(pid_t tid) const {
  Impl& t = common::present(impl_, Step::read_registers);
  std::lock_guard<std::mutex> lock(t.suspend_mutex);
  forget_inherited_suspension(t);
  if (t.suspend_count == 0 || !t.suspension) {
    throw Error(EBUSY, Step::read_registers, t.program, "the task must be suspended to read registers");
  }
  Registers regs{};
  backend::run_on_tracer([&] { regs = backend::get_registers(*t.suspension, tid, t.program); },
                         Step::read_registers, t.program);
  return regs;
}

std::vector<ThreadRegisters> Task::registers_all() const {
  Impl& t = common::present(impl_, Step::read_registers);
  std::lock_guard<std::mutex> lock(t.suspend_mutex);
  forget_inherited_suspension(t);
  if (t.suspend_count == 0 || !t.suspension) {
    throw Error(EBUSY, Step::read_registers, t.program, "the task must be suspended to read registers");
  }
  std::vector<ThreadRegisters> all;
  // One hop for every thread: the point of this call (tracer.hpp).
  backend::run_on_tracer([&] { all = backend::get_all_registers(*t.suspension, t.program); },
                         Step::read_registers, t.program);
  return all;
}
#endif

}  // namespace taskport
