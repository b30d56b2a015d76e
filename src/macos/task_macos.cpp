// SPDX-License-Identifier: MIT
// The macOS Task: identity (task port, pid_for_task), signals, counted
// suspension (task_suspend/task_resume). Memory, regions, threads and usage
// live in their own task_*_macos.cpp files.
#include <errno.h>
#include <signal.h>

#include "common/backend.hpp"
#include "common/usable.hpp"
#include "macos/exit_watch.hpp"
#include "macos/mach_error.hpp"
#include "macos/task_identity.hpp"
#include "macos/task_impl.hpp"
#include "taskport/error.hpp"

namespace taskport {

namespace backend {
const std::string& program_of(const Task::Impl& task) noexcept { return task.program; }
}  // namespace backend

using backend::kern_error;

bool Task::Impl::image_alive(Step step) const {
  audit_token_t token{};
  mach_msg_type_number_t count = TASK_AUDIT_TOKEN_COUNT;
  // A name-flavour query (osfmk/kern/task.c task_info: TASK_AUDIT_TOKEN),
  // answered for any task port, Developer Mode or not; KERN_INVALID_ARGUMENT
  // once the task is inactive (exited, or terminated by an exec), then
  // MACH_SEND_INVALID_DEST once its port is destroyed.
  const kern_return_t kr =
      ::task_info(port.get(), TASK_AUDIT_TOKEN, reinterpret_cast<task_info_t>(&token), &count);
  if (kr == KERN_INVALID_ARGUMENT || kr == MACH_SEND_INVALID_DEST) return false;
  if (kr != KERN_SUCCESS) throw kern_error(kr, step, program, "task_info(TASK_AUDIT_TOKEN)");
  const backend::TaskIdentity now = backend::identity_of(token);
  return now.pid == pid && now.pid_version == pid_version;
}

Error Task::Impl::call_error(kern_return_t kr, Step step, const char* call, const std::string& what) const {
  // Developer Mode off: the kernel refuses to turn another task's control
  // port into its task or map (xnu osfmk/kern/ipc_tt.c
  // task_conversion_eval_internal: "If Developer Mode is not enabled, deny
  // attempts to translate foreign task's control port completely. Read
  // port or corpse is okay"), so control-flavour MIG routines get
  // VM_MAP_NULL and return KERN_INVALID_ARGUMENT (osfmk/vm/vm_user.c
  // mach_vm_protect, mach_vm_write) — the code a dead task gives too. A
  // task that still answers the name-flavour audit-token query is not dead.
  if (kr == KERN_INVALID_ARGUMENT && image_alive(step)) {
    std::string detail = what.empty() ? std::string() : what + ": ";
    detail +=
        backend::kern_text(call, kr) +
        "; the task is alive, so the kernel refused the control-flavour call itself: Developer Mode is "
        "off (macOS refuses control of another task's memory then; reads, regions, threads, registers "
        "and suspend/resume still work — enable Developer Mode in System Settings > Privacy & Security)";
    return Error(EPERM, step, program, detail);
  }
  return kern_error(kr, step, program, call, what);
}

Task::Impl::~Impl() {
  // A copy made by fork(): fork passes on no Mach rights, so the name may
  // mean something else in this process (common/usable.hpp).
  if (fork_generation != common::fork_generation()) {
    port.release();
    return;
  }
  // The target is always restored: a task left suspended would stay frozen
  // with nobody left to resume it.
  for (; suspend_count > 0; --suspend_count) ::task_resume(port.get());
}

Task::Task(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Task::Task(Task&&) noexcept = default;
Task& Task::operator=(Task&&) noexcept = default;
Task::~Task() = default;

Task::native_handle_type Task::native_handle() const noexcept {
  return impl_ ? impl_->port.get() : MACH_PORT_NULL;
}
pid_t Task::pid() const noexcept { return impl_ ? impl_->pid : -1; }
int Task::exit_fd() const noexcept { return impl_ ? impl_->exit_kq.get() : -1; }

bool Task::is_alive() const {
  common::usable(impl_, Step::poll);
  // The exit watch follows the process across exec (bsd/kern/kern_exec.c
  // proc_transfer_knotes), but the Task names one image: after an exec the
  // pid lives on and the task the port names is dead. So both must hold.
  if (impl_->exit_kq && backend::exit_watch_fired(impl_->exit_kq.get(), impl_->program)) return false;
  return impl_->image_alive(Step::poll);
}

void Task::signal(int sig) {
  common::usable(impl_, Step::send_signal);
  // kill(2) takes a pid; make sure it still names our task first (the pid
  // of an exited, reaped task may have been recycled, and after an exec it
  // names another image).
  if (!is_alive()) {
    throw Error(ESRCH, Step::send_signal, impl_->program,
                "the task has exited (or exec'd: the Task names the image that sent its port)");
  }
  if (::kill(impl_->pid, sig) != 0) throw Error(errno, Step::send_signal, impl_->program);
}

void Task::suspend() {
  common::usable(impl_, Step::suspend);
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  const kern_return_t kr = ::task_suspend(impl_->port.get());
  if (kr != KERN_SUCCESS) throw kern_error(kr, Step::suspend, impl_->program, "task_suspend");
  ++impl_->suspend_count;
}

void Task::resume() {
  common::usable(impl_, Step::resume);
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  if (impl_->suspend_count == 0) throw Error(EINVAL, Step::resume, impl_->program, "task is not suspended");
  const kern_return_t kr = ::task_resume(impl_->port.get());
  // A task that exited while suspended needs no resume: just count down.
  if (kr != KERN_SUCCESS && backend::errno_from_kern(kr) != ESRCH) {
    throw kern_error(kr, Step::resume, impl_->program, "task_resume");
  }
  --impl_->suspend_count;
}

// No hold at exit on macOS: taskport has no stop at a task's exit there
// (what a debugger gets comes with a ptrace attach, which taskport does not
// do; the Task's own calls — task_suspend — do not stop an exit).
bool Task::can_hold_at_exit() noexcept { return false; }

void Task::hold_at_exit() {
  common::usable(impl_, Step::hold_at_exit);
  throw Error(ENOTSUP, Step::hold_at_exit, impl_->program,
              "holding a process at its exit is not available on macOS (Task::can_hold_at_exit())");
}

bool Task::is_held_at_exit() const {
  common::usable(impl_, Step::hold_at_exit);
  return false;
}

bool Task::wait_until_held_at_exit(std::chrono::milliseconds) const {
  common::usable(impl_, Step::hold_at_exit);
  throw Error(EINVAL, Step::hold_at_exit, impl_->program, "the task is not held (macOS: never)");
}

int Task::held_at_exit_fd() const noexcept { return -1; }

void Task::release_exit_hold() { common::usable(impl_, Step::hold_at_exit); }

int Task::suspend_count() const {
  common::usable(impl_, Step::suspend);
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  return impl_->suspend_count;
}

}  // namespace taskport
