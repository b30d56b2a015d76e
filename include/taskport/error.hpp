// SPDX-License-Identifier: MIT
// taskport — error model.
//
// Every failure is reported in one of two forms, carrying the same three
// facts (errno, the step that failed, the program):
//
//   * By default, by throwing taskport::Error, a std::system_error that also
//     names the program and the step. An exception carries the facts to the
//     point that can act without widening every signature, and
//     std::system_error keeps the errno comparable
//     (`e.code() == std::errc::no_such_file_or_directory`).
//   * Without exceptions (code built with -fno-exceptions, or code for which
//     a failure is the normal end — ESRCH when a profiled target exits): every
//     operation that can fail has a second form, in Boost.Process v2's
//     convention — the same parameters plus a trailing std::error_code&,
//     noexcept:
//       - it returns std::optional<T> where the throwing form returns T, and
//         bool (true on success) where that returns void;
//       - where the throwing form already returns an optional
//         (Child::try_wait, Child::wait_for, Task::region_at) it returns the
//         same optional and sets `ec` only on error: empty with a clear `ec`
//         means "not yet" / "none", as in the throwing form;
//       - `ec` is cleared on success; on failure it holds the errno in
//         std::generic_category(), exactly the code() the Error would have
//         had (so `ec == std::errc::no_such_process` works). Running out of
//         memory inside such a call is ENOMEM, never std::bad_alloc.
//     The step, the program and the full message of the failure are in
//     taskport::last_error() (below), which allocates nothing.
//     What fails only when memory runs out has no such form: Command's
//     setters and read-backs, ExitStatus::to_string, preload_library(),
//     set_preload_library(); they throw std::bad_alloc like any std::string
//     would.
//
// Calls that answer a question whose answer may legitimately be "not yet"
// (Child::try_wait, Child::wait_for) or "none" (Task::region_at) return
// std::optional instead of failing. Destructors never throw. Nothing inline
// in taskport's headers throws or catches, so they compile with
// -fno-exceptions -fno-rtti.
#pragma once

#include <cstddef>
#include <string>
#include <system_error>

#include "taskport/export.hpp"

namespace taskport {

// The step that failed. Steps marked (child) run in the child between
// fork/clone and exec; their errno travels back to the parent before spawn
// returns. Steps marked (Linux) or (macOS) occur on that platform only.
enum class Step {
  validate_command,  // a Command that cannot be spawned as configured (start_suspended() or
                     // task_via_preload() with spawn() instead of spawn_with_task(); a NUL byte
                     // in a string; an environment key that is empty or holds '='); checked in
                     // the parent before anything is created; errno EINVAL
  resolve_program,   // PATH search in the parent found nothing executable
  create_pipe,       // a pipe for a Stdio::piped() stream (macOS, pre_exec hooks: also the exec
                     // notification pipe)
  open_null,         // open("/dev/null") for a Stdio::null() stream
  allocate_stack,    // (Linux) mmap of the child's clone stack
  allocate_report,   // (macOS, pre_exec hooks) mmap of the shared page the forked child reports in
  spawn_attributes,  // (macOS) posix_spawnattr / posix_spawn_file_actions setup
  clone,             // (Linux) clone(CLONE_VM|CLONE_VFORK[|CLONE_PIDFD]) itself
  receive_pidfd,     // (Linux) fallback path: pidfd from the child over SCM_RIGHTS
  signal_reset,      // (child) reset of signal dispositions
  setsid,            // (child) new session
  setpgid,           // (child) new process group
  chdir,             // (child) working directory (macOS without hooks: checked in the parent)
  redirect_fds,      // placing stdio and extra fds at their numbers: (child) dup, or (parent) a
                     // source descriptor that is not open (EBADF, before any child exists)
  pre_exec_hook,     // (child) a user hook returned an error (a hook that dies: child_died)
  ptrace_traceme,    // (child, Linux) arming start-suspended
  signal_mask,       // (child) restoring the signal mask
  execve,            // (child) execve of the resolved path (macOS without hooks: posix_spawn)
  child_died,        // the child died (signal, or _exit in a hook) before execve; errno ECANCELED
  await_exec_stop,   // (Linux) start-suspended: waiting for the post-exec stop
  wait,              // waitid / waitpid on the child
  poll,              // poll on the child's exit descriptor (Linux: the pidfd; macOS: the exit
                     // kqueue, or registering it)
  send_signal,       // sending a signal (Linux: pidfd_send_signal; macOS: kill)
  resume,            // Task::resume
  duplicate_handle,  // (Linux) dup of a pidfd for the Task
  close_fds,         // (child) Command::close_other_fds(): closing every descriptor not kept
  setrlimit,         // (child) Command::rlimit(): prlimit64 (macOS: not supported, ENOTSUP)
  setgroups,         // (child) Command::groups(), or dropping them for uid(); macOS: posix_spawnattr
  setgid,            // (child) Command::gid(): setresgid (macOS: posix_spawnattr_set_gid_np)
  setuid,            // (child) Command::uid(): setresuid (macOS: posix_spawnattr_set_uid_np)
  read_output,       // Command::output(), Child::wait_with_output(): reading the piped stdout/stderr
  // Task operations
  open_task,       // Task::open / Task::from_pidfd: pidfd_open (macOS: task_for_pid) and the checks
                   // that the pid still names a live user process
  open_proc,       // opening /proc/<pid> files of the task
  read_memory,     // process_vm_readv or pread(/proc/<pid>/mem); macOS: mach_vm_read_overwrite
  write_memory,    // pwrite(/proc/<pid>/mem); macOS: mach_vm_write
  read_regions,    // PROCMAP_QUERY or /proc/<pid>/maps; macOS: mach_vm_region_recurse
  read_threads,    // /proc/<pid>/task; macOS: task_threads
  read_registers,  // PTRACE_GETREGSET; macOS: thread_get_state
  read_info,       // /proc/<pid>/status, stat, io; macOS: task_info. Also Task::start_time,
                   // executable, command_line, current_dir, environment (/proc/<pid>/stat, exe,
                   // cmdline, cwd, environ; macOS: proc_pidinfo, proc_pidpath, KERN_PROCARGS2)
  suspend,         // PTRACE_SEIZE / PTRACE_INTERRUPT of every thread; macOS: task_suspend
  hold_at_exit,    // (Linux) Task::hold_at_exit and its waits: PTRACE_SEIZE with PTRACE_O_TRACEEXIT of
                   // every thread; macOS: not available (ENOTSUP)
  // Rendezvous (taskport/rendezvous.hpp, taskport/fork_with_task.hpp)
  rendezvous,   // creating the rendezvous, or finding the preload library
  accept_task,  // waiting for and checking the task handle a child sends
  send_task,    // (child) sending this process's task handle to its spawner
  fork,         // fork itself (fork_with_task; macOS: a spawn with pre_exec hooks)
};

// The text of a Step in Error::what(), e.g. "execve", "resolve program".
TASKPORT_API const char* to_string(Step step) noexcept;

class TASKPORT_API Error : public std::system_error {
 public:
  // `program`: see program().
  Error(int errno_value, Step step, std::string program);
  Error(int errno_value, Step step, std::string program, const std::string& detail);

  Step step() const noexcept { return step_; }
  // Whom the error is about, in one of two forms:
  //   * the program as given to the Command (Command::get_program()), for a
  //     spawn, its Child and a Task that came from a spawn
  //     (spawn_with_task, Rendezvous::accept(child));
  //   * "pid <N>", the pid of the process concerned, for everything known
  //     only by pid: a Task from Rendezvous::accept(pid) or fork_with_task,
  //     a fork_with_task Child, the child side of the rendezvous naming
  //     itself (send_task_to_spawner), and this process where no other
  //     process is concerned yet (creating a Rendezvous, a fork that failed);
  //     "pid -1" for a moved-from Child or Task, which names no process (its
  //     pid() is -1).
  // Never empty.
  const std::string& program() const noexcept { return program_; }
  int errno_value() const noexcept { return code().value(); }

 private:
  Step step_;
  std::string program_;
};

// ---- the failure detail of the non-throwing forms -----------------------------

namespace detail {
struct ErrorInfoAccess;  // how the library fills an ErrorInfo (not part of the API)
}

// What an Error would have said, in fixed-size storage: a non-throwing form
// that fails writes it without allocating. Longer texts are cut (and
// truncated() says so).
class ErrorInfo {
 public:
  static constexpr std::size_t kProgramCapacity = 256;  // bytes, with the terminating NUL
  static constexpr std::size_t kWhatCapacity = 1024;

  // The errno; 0 before the first failure on this thread.
  int errno_value() const noexcept { return errno_value_; }
  std::error_code code() const noexcept { return {errno_value_, std::generic_category()}; }
  // The step that failed (meaningless while errno_value() is 0).
  Step step() const noexcept { return step_; }
  // Error::program(): the Command's program, or "pid <N>". "" before the first failure.
  const char* program() const noexcept { return program_; }
  // Error::what(): "taskport: 'prog': step (detail): message". "" before the first failure.
  const char* what() const noexcept { return what_; }
  // True if program() or what() had to be cut to fit.
  bool truncated() const noexcept { return truncated_; }

 private:
  friend struct detail::ErrorInfoAccess;
  int errno_value_ = 0;
  Step step_ = Step::validate_command;
  bool truncated_ = false;
  char program_[kProgramCapacity] = {};
  char what_[kWhatCapacity] = {};
};

// The detail of the last failure reported by a non-throwing form (the
// std::error_code& overloads) on the calling thread. Each thread has its
// own; the reference stays valid for the thread's lifetime, and its contents
// stay as they are until the next non-throwing call that fails on this
// thread (a successful call leaves it alone; the throwing forms never touch
// it). No allocation, no lock.
TASKPORT_API const ErrorInfo& last_error() noexcept;

}  // namespace taskport
