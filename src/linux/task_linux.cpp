// SPDX-License-Identifier: MIT
// The Linux Task: identity (pidfd), signals, and counted suspension through
// the tracer thread. Memory, regions, threads and usage live in their own
// task_*_linux.cpp files.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

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
// stay the parent's tracer's) and counts from 0; the same for a hold at
// exit. Under suspend_mutex.
void forget_inherited_suspension(Task::Impl& t) noexcept {
  if (t.hold && t.hold_generation != common::fork_generation()) {
    t.hold.reset();  // this process's copy of the parent's record; touches no thread
  }
  if (t.suspend_count == 0 || t.suspension_generation == common::fork_generation()) return;
  t.suspension.reset();  // this process's copy of the parent's record; touches no thread
  t.suspend_count = 0;
}

// Empties the hold's eventfd (nonblocking): readable again only for a new
// hold that reaches the exit.
void drain(int event_fd) noexcept {
  std::uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(event_fd, &count, sizeof count);
}

}  // namespace

Task::Impl::~Impl() {
  // The target is always restored: a task left suspended or held would stay
  // frozen with nobody left to let it go. Not by a copy made by fork(): the
  // parent's Task does that.
  const std::uint64_t generation = common::fork_generation();
  const bool own_hold = hold && hold_generation == generation;
  const bool own_suspension = suspension && suspension_generation == generation;
  if (!own_hold && !own_suspension) return;
  try {
    backend::run_on_tracer(
        [&] {
          if (own_hold) backend::release_hold(std::move(hold));
          if (own_suspension) backend::resume_all(std::move(suspension));
        },
        Step::resume, program);
  } catch (...) {
    // Cannot happen: the tracer thread made the suspension (the hold), so it
    // runs, and queuing a job allocates nothing.
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

bool Task::can_hold_at_exit() noexcept { return true; }

void Task::hold_at_exit() {
  Impl& t = common::present(impl_, Step::hold_at_exit);
  std::lock_guard<std::mutex> lock(t.suspend_mutex);
  forget_inherited_suspension(t);
  if (t.hold) return;
  if (!t.hold_event) {
    t.hold_event = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!t.hold_event) throw Error(errno, Step::hold_at_exit, t.program, "eventfd");
  }
  drain(t.hold_event.get());
  backend::run_on_tracer(
      [&t] {
        t.hold = backend::hold_all(t, t.suspend_count > 0 ? t.suspension.get() : nullptr, t.hold_event.get());
      },
      Step::hold_at_exit, t.program);
  t.hold_generation = common::fork_generation();
}

bool Task::is_held_at_exit() const {
  Impl& t = common::present(impl_, Step::hold_at_exit);
  std::lock_guard<std::mutex> lock(t.suspend_mutex);
  forget_inherited_suspension(t);
  return t.hold && t.hold->held.load();
}

bool Task::wait_until_held_at_exit(std::chrono::milliseconds timeout) const {
  Impl& t = common::present(impl_, Step::hold_at_exit);
  {
    std::lock_guard<std::mutex> lock(t.suspend_mutex);
    forget_inherited_suspension(t);
    if (!t.hold)
      throw Error(EINVAL, Step::hold_at_exit, t.program, "the task is not held: call hold_at_exit() first");
    if (t.hold->held.load()) return true;
  }
  // The eventfd lives as long as the Task, so polling it without the lock
  // is safe even if another thread releases the hold meanwhile.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd fds[2] = {{t.hold_event.get(), POLLIN, 0}, {t.pidfd.get(), POLLIN, 0}};
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const int n =
        ::poll(fds, 2, static_cast<int>(std::max<long long>(0, std::min<long long>(left.count(), 60000))));
    if (n < 0 && errno != EINTR) throw Error(errno, Step::hold_at_exit, t.program, "poll");
    std::lock_guard<std::mutex> lock(t.suspend_mutex);
    if (t.hold && t.hold->held.load()) return true;
    if (n > 0 && (fds[1].revents != 0 || !t.hold)) return false;  // ended unheld, or released meanwhile
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
}

int Task::held_at_exit_fd() const noexcept {
  if (!impl_) return -1;
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  forget_inherited_suspension(*impl_);
  return impl_->hold ? impl_->hold_event.get() : -1;
}

void Task::release_exit_hold() {
  Impl& t = common::present(impl_, Step::hold_at_exit);
  std::lock_guard<std::mutex> lock(t.suspend_mutex);
  forget_inherited_suspension(t);
  if (!t.hold) return;
  backend::run_on_tracer([&t] { backend::release_hold(std::move(t.hold)); }, Step::hold_at_exit, t.program);
  drain(t.hold_event.get());
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
