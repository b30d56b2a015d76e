// SPDX-License-Identifier: MIT
// taskport — error model.
//
// Every failure is reported by throwing taskport::Error, a std::system_error
// that also names the program and the step that failed. Why exceptions only:
// a failed spawn is rare and has to carry three facts (errno, step, program)
// to be actionable; an exception carries them to the point that can act
// without widening every signature, and std::system_error keeps the errno
// comparable (`e.code() == std::errc::no_such_file_or_directory`). Calls that
// answer a question whose answer may legitimately be "not yet"
// (Child::try_wait, Child::wait_for) return std::optional instead of throwing.
// Destructors never throw.
#pragma once

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
  // Task operations
  open_proc,       // opening /proc/<pid> files of the task
  read_memory,     // process_vm_readv or pread(/proc/<pid>/mem); macOS: mach_vm_read_overwrite
  write_memory,    // pwrite(/proc/<pid>/mem); macOS: mach_vm_write
  read_regions,    // PROCMAP_QUERY or /proc/<pid>/maps; macOS: mach_vm_region_recurse
  read_threads,    // /proc/<pid>/task; macOS: task_threads
  read_registers,  // PTRACE_GETREGSET; macOS: thread_get_state
  read_info,       // /proc/<pid>/status, stat, io; macOS: task_info
  suspend,         // PTRACE_SEIZE / PTRACE_INTERRUPT of every thread; macOS: task_suspend
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

}  // namespace taskport
