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

// The step that failed. Steps marked (child) run in the child between clone
// and exec; their errno travels back to the parent before spawn returns.
enum class Step {
  resolve_program,   // PATH search in the parent found nothing executable
  create_pipe,       // pipe2 for a Stdio::piped() stream
  open_null,         // open("/dev/null") for a Stdio::null() stream
  allocate_stack,    // mmap of the child's stack
  clone,             // clone(CLONE_VM|CLONE_VFORK[|CLONE_PIDFD]) itself
  receive_pidfd,     // fallback path: pidfd from the child over SCM_RIGHTS
  signal_reset,      // (child) reset of signal dispositions
  setsid,            // (child) new session
  setpgid,           // (child) new process group
  chdir,             // (child) working directory
  redirect_fds,      // (child) placing stdio and extra fds at their numbers
  pre_exec_hook,     // (child) a user hook returned an error (a hook that dies: child_died)
  ptrace_traceme,    // (child) arming start-suspended
  signal_mask,       // (child) restoring the signal mask
  execve,            // (child) execve of the resolved path
  child_died,        // the child died (signal, or _exit in a hook) before execve; errno ECANCELED
  await_exec_stop,   // start-suspended: waiting for the post-exec stop
  wait,              // waitid on the child
  poll,              // poll on the pidfd
  send_signal,       // pidfd_send_signal
  resume,            // Task::resume
  duplicate_handle,  // dup of a pidfd for the Task
  // Task operations
  open_proc,       // opening /proc/<pid> files of the task
  read_memory,     // process_vm_readv or pread(/proc/<pid>/mem)
  write_memory,    // pwrite(/proc/<pid>/mem)
  read_regions,    // PROCMAP_QUERY or /proc/<pid>/maps
  read_threads,    // /proc/<pid>/task
  read_registers,  // PTRACE_GETREGSET
  read_info,       // /proc/<pid>/status, stat, io
  suspend,         // PTRACE_SEIZE / PTRACE_INTERRUPT of every thread
  // Rendezvous (taskport/rendezvous.hpp, taskport/fork_with_task.hpp)
  rendezvous,   // creating the rendezvous, or finding the preload library
  accept_task,  // waiting for and checking the task handle a child sends
  send_task,    // (child) sending this process's task handle to its spawner
  fork,         // fork_with_task: fork itself
};

TASKPORT_API const char* to_string(Step step) noexcept;

class TASKPORT_API Error : public std::system_error {
 public:
  Error(int errno_value, Step step, std::string program);
  Error(int errno_value, Step step, std::string program, const std::string& detail);

  Step step() const noexcept { return step_; }
  const std::string& program() const noexcept { return program_; }
  int errno_value() const noexcept { return code().value(); }

 private:
  Step step_;
  std::string program_;
};

}  // namespace taskport
