// SPDX-License-Identifier: MIT
// Task::open and Task::start_time (macOS): task_for_pid, explained.
//
// task_for_pid answers every refusal with one KERN_FAILURE (xnu
// bsd/kern/kern_proc.c task_for_pid: pid 0, no such pid, the
// task_for_pid_posix_check — not root and another uid, or a setuid target —,
// the MAC hook mac_proc_check_get_task where AMFI decides on the debugger
// entitlement and get-task-allow, a dead taskgated port). So the error is
// explained from what can be seen here, not from the code: whether this
// process is root, and the target's code-signing flags (csops
// CS_OPS_STATUS, allowed on any pid: kern_proc.c csops_internal).
//
// Pid reuse: task_for_pid resolves the pid once; the port then names that
// task. Its audit token naming the pid afterwards proves the task is alive, so
// the pid was not reused in between and everything read by pid meanwhile
// (the zombie check, the start time) was about it.
#include <errno.h>
#include <libproc.h>
#include <mach/mach.h>
#include <sys/proc.h>
#include <sys/proc_info.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/pid_program.hpp"
#include "common/usable.hpp"
#include "macos/exit_watch.hpp"
#include "macos/mach_error.hpp"
#include "macos/task_identity.hpp"
#include "macos/task_impl.hpp"
#include "taskport/error.hpp"

// Exported by libSystem, declared only in the private sys/codesign.h.
extern "C" int csops(pid_t pid, unsigned int ops, void* useraddr, size_t usersize);

namespace taskport {
namespace {

// osfmk/kern/cs_blobs.h; bsd/sys/codesign.h.
constexpr unsigned kCsOpsStatus = 0;
constexpr std::uint32_t kCsGetTaskAllow = 0x4;
constexpr std::uint32_t kCsRuntime = 0x10000;
constexpr std::uint32_t kCsPlatformBinary = 0x4000000;

constexpr const char* kCooperativeRoutes =
    "; without it, get the port from the program itself: start it with Command::spawn_with_task(), or have "
    "it "
    "call taskport::send_task_to_spawner() (Rendezvous)";

// The process as proc_pidinfo(PROC_PIDT_SHORTBSDINFO) sees it (no same-user
// check: bsd/kern/proc_info.c proc_pidinfo); `arg` 1 finds zombies too.
// ESRCH if there is none, or if it is a zombie.
void check_exists(pid_t pid, const std::string& program) {
  proc_bsdshortinfo info{};
  if (::proc_pidinfo(pid, PROC_PIDT_SHORTBSDINFO, 1, &info, sizeof info) != static_cast<int>(sizeof info)) {
    throw Error(ESRCH, Step::open_task, program, "no such process");
  }
  if (info.pbsi_status == SZOMB) {
    throw Error(ESRCH, Step::open_task, program,
                "the process has exited (a zombie its parent has not reaped yet)");
  }
}

// What this process lacks for task_for_pid(pid), as far as it can be told.
std::string refusal_reason(pid_t pid) {
  std::uint32_t flags = 0;
  const bool known = ::csops(pid, kCsOpsStatus, &flags, sizeof flags) == 0;
  std::string why;
  if (known && (flags & kCsPlatformBinary) != 0) {
    why =
        "the target is an Apple platform binary: System Integrity Protection refuses its task port even to "
        "root";
  } else if (::geteuid() == 0) {
    why =
        "refused although this process is root: System Integrity Protection or the target's hardened runtime"
        " (codesign -o runtime without the get-task-allow entitlement) protects it";
  } else if (known && (flags & kCsGetTaskAllow) == 0) {
    why =
        "this process is not root, and the target is not signed with get-task-allow "
        "(com.apple.security.get-task-allow); a non-root debugger also needs the "
        "com.apple.security.cs.debugger entitlement";
    if ((flags & kCsRuntime) != 0) why += " (the target uses the hardened runtime)";
  } else {
    why =
        "this process is not root and lacks the debugger entitlement (com.apple.security.cs.debugger) that "
        "task_for_pid requires of a non-root caller, even for a get-task-allow target of the same user";
  }
  return why + kCooperativeRoutes;
}

// The start time of proc_pidinfo(PROC_PIDTBSDINFO), in µs since the epoch
// (same user or root: CHECK_SAME_USER in proc_pidinfo). Returns an errno.
int read_start_time(pid_t pid, std::uint64_t& out) {
  proc_bsdinfo info{};
  if (::proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &info, sizeof info) != static_cast<int>(sizeof info)) {
    return errno != 0 ? errno : ESRCH;
  }
  out = info.pbi_start_tvsec * 1000000 + info.pbi_start_tvusec;
  return 0;
}

// The identity the Task keeps (task_impl.hpp): the pid and pid version of
// the port's task, from its audit token (osfmk/kern/task.c task_info:
// TASK_AUDIT_TOKEN; KERN_INVALID_ARGUMENT once the task is inactive). False
// if the task has gone or is not the pid's.
bool live_identity(mach_port_t port, pid_t pid, backend::TaskIdentity& out) {
  audit_token_t token{};
  mach_msg_type_number_t count = TASK_AUDIT_TOKEN_COUNT;
  if (::task_info(port, TASK_AUDIT_TOKEN, reinterpret_cast<task_info_t>(&token), &count) != KERN_SUCCESS)
    return false;
  out = backend::identity_of(token);
  return out.pid == pid;
}

void check_start_time(pid_t pid, std::uint64_t expected, const std::string& program) {
  std::uint64_t started = 0;
  if (const int error = read_start_time(pid, started); error != 0) {
    throw Error(error, Step::open_task, program, "proc_pidinfo(PROC_PIDTBSDINFO)");
  }
  if (started != expected) {
    throw Error(ESRCH, Step::open_task, program,
                "the pid now names another process (it started at " + std::to_string(started) +
                    " µs since the epoch, expected " + std::to_string(expected) +
                    "): the one meant has exited");
  }
}

}  // namespace

Task Task::open(pid_t pid) { return open(pid, OpenOptions{}); }

Task Task::open(pid_t pid, const OpenOptions& options) {
  std::string program = common::pid_program(pid);
  if (pid < 0) throw Error(EINVAL, Step::open_task, program, "not a process id");
  if (pid == 0)
    throw Error(EINVAL, Step::open_task, program, "pid 0 is the kernel (kernel_task): no user memory");
  check_exists(pid, program);
  mach_port_t name = MACH_PORT_NULL;
  const kern_return_t kr = ::task_for_pid(mach_task_self(), pid, &name);
  backend::SendRight port(name);
  if (kr != KERN_SUCCESS) {
    check_exists(pid, program);  // it may have gone meanwhile: that is ESRCH, not a refusal
    throw Error(EPERM, Step::open_task, program,
                backend::kern_text("task_for_pid", kr) + ": " + refusal_reason(pid));
  }
  if (options.expected_start_time) check_start_time(pid, *options.expected_start_time, program);
  UniqueFd exit_kq = backend::watch_exit(pid);
  // Alive now, so the pid the checks and the exit watch used was still its.
  backend::TaskIdentity identity;
  if (!live_identity(port.get(), pid, identity))
    throw Error(ESRCH, Step::open_task, program, "the process has exited");
  return Task(std::make_unique<Impl>(std::move(port), pid, identity.pid_version, std::move(program),
                                     std::move(exit_kq)));
}

std::uint64_t Task::start_time() const {
  common::usable(impl_, Step::read_info);
  std::uint64_t started = 0;
  const int error = read_start_time(impl_->pid, started);
  // Read by pid, so valid only if the Task's own image is still the pid's.
  if (!impl_->image_alive(Step::read_info)) {
    throw Error(ESRCH, Step::read_info, impl_->program, "the task has exited");
  }
  if (error != 0) throw Error(error, Step::read_info, impl_->program, "proc_pidinfo(PROC_PIDTBSDINFO)");
  return started;
}

}  // namespace taskport
