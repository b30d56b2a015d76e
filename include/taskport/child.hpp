// SPDX-License-Identifier: MIT
// taskport — a spawned child process: its pipes, its exit, its signals.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

#include "taskport/error.hpp"
#include "taskport/exit_status.hpp"
#include "taskport/export.hpp"
#include "taskport/output.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport {

namespace detail {
struct ChildAccess;  // how the backends make a Child (not part of the API)
}

// A child started by Command::spawn or Command::spawn_with_task.
//
// Identity: on Linux, Child holds a pidfd taken from the clone itself, so
// every signal and wait names exactly this process; after the child is reaped
// no call ever reaches a process by pid again (signal() then throws ESRCH).
// On macOS (no pidfd) Child holds a kqueue watching the pid (EVFILT_PROC,
// NOTE_EXIT) and signals by pid only while the child is unreaped — an
// unreaped child's pid cannot be reused.
//
// Thread-safety: like a std::fstream, one Child is used by one thread at a
// time. Different Child objects are independent.
//
// Every method that can fail also has a non-throwing form with a trailing
// std::error_code& (taskport/error.hpp, "Without exceptions").
//
// Destructor policy (never blocks, never leaves a zombie for good):
//   1. if the child was already reaped, nothing happens;
//   2. if kill_on_drop(true) was set, SIGKILL is sent through the pidfd;
//   3. the child is reaped at once if it has exited;
//   4. otherwise it is handed to a library-wide reaper thread that waits on
//      its pidfd and reaps it whenever it exits. The child keeps running.
//      If that thread cannot be started (RLIMIT_NPROC, out of descriptors),
//      the child is kept and the thread started at the next hand-off or
//      spawn, which reaps it then.
//   Pipes are closed in every case (a child blocked writing to stdout then
//   sees EPIPE/SIGPIPE; one blocked reading stdin sees EOF).
//
// Someone else's wait: if SIGCHLD is set to SIG_IGN (the kernel then reaps
// children by itself) or another wait in this process reaps the child first
// (an application's SIGCHLD handler calling waitpid(-1)), wait(),
// try_wait() and wait_for() return ExitStatus::unknown() once the child has
// ended, instead of failing.
//
// Moved from: pid() and exit_fd() (and pidfd()) return -1, program() is
// empty, status() absent; every other method throws Error(EBADF) (program()
// of the Error: "pid -1").
//
// fork(): a Child that exists when the application forks is copied into
// the new process with the memory, but the child is not the new process's
// child. There the copy is inert: its destructor only closes its
// descriptors (no kill_on_drop, no reap, no reaper), and wait(),
// try_wait(), wait_for(), wait_with_output(), terminate(), signal() and
// kill() throw Error(ECHILD) — unless the child was reaped before the fork:
// then the waits return its status.
// (The library itself starts over in the new process: see
// taskport/task.hpp.)
class TASKPORT_API Child {
 public:
  Child(Child&&) noexcept;
  Child& operator=(Child&&) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  // Readable (POLLIN) once the child has exited; usable in poll/epoll/kqueue.
  // Linux: the pidfd. macOS: a kqueue with an EVFILT_PROC/NOTE_EXIT filter.
  // Owned by the Child.
  int exit_fd() const noexcept { return handle_.get(); }
#if defined(__linux__)
  // The pidfd (Linux): names exactly this process. Owned by the Child.
  int pidfd() const noexcept { return handle_.get(); }
#endif
  const std::string& program() const noexcept { return program_; }

  // The parent's ends of Stdio::piped() streams; invalid otherwise. Move out
  // of them to take ownership, reset() them to close.
  UniqueFd& stdin_pipe() noexcept { return stdin_; }
  UniqueFd& stdout_pipe() noexcept { return stdout_; }
  UniqueFd& stderr_pipe() noexcept { return stderr_; }

  // Blocks until the child exits, reaps it and returns its status
  // (ExitStatus::unknown() if someone else had it: see above). Further
  // calls return the same status. Closes stdin_pipe() first so that a child
  // reading its stdin is not left waiting for input (as Rust's Child::wait).
  ExitStatus wait();
  // Reaps the child if it has exited; never blocks.
  std::optional<ExitStatus> try_wait();
  // Waits at most `timeout` for the child to exit (poll on the pidfd, not on
  // pipe EOF: a grandchild holding the pipes open cannot stretch the wait).
  // Does not close stdin_pipe().
  std::optional<ExitStatus> wait_for(std::chrono::nanoseconds timeout);

  // Closes stdin_pipe(), reads stdout_pipe() and stderr_pipe() to their end
  // (both at once, with poll: a child filling one while we wait on the
  // other cannot deadlock), reaps the child and returns its status with
  // what it wrote (as Rust's Child::wait_with_output). A stream that is not
  // piped gives an empty string. The pipes are closed afterwards. Unlike
  // Rust, a grandchild that keeps a pipe open cannot stretch the wait: once
  // the child has exited, what is in the pipes is read, not what might come
  // later. Error(errno, Step::read_output) if reading fails (the child is
  // still reaped first).
  Output wait_with_output();

  // Asks the child to end: SIGTERM, then up to `grace` for it to exit, then
  // SIGKILL; reaps it and returns its status (SIGTERM's or SIGKILL's, or
  // its own exit if it exited in time). Returns the status at once if the
  // child was already reaped.
  ExitStatus terminate(std::chrono::nanoseconds grace);

  // Sends `signal` through the pidfd. Throws Error(ESRCH) once the child has
  // been reaped: the pid may already belong to another process.
  void signal(int signal);
  // signal(SIGKILL), but a no-op if the child was already reaped.
  void kill();

  // Sets what the destructor does with a still-running child (see above).
  void kill_on_drop(bool enable) noexcept { kill_on_drop_ = enable; }

  // The status once reaped.
  const std::optional<ExitStatus>& status() const noexcept { return status_; }

  // Without exceptions (taskport/error.hpp).
  std::optional<ExitStatus> wait(std::error_code& ec) noexcept;
  std::optional<ExitStatus> try_wait(std::error_code& ec) noexcept;
  std::optional<ExitStatus> wait_for(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;
  std::optional<Output> wait_with_output(std::error_code& ec) noexcept;
  std::optional<ExitStatus> terminate(std::chrono::nanoseconds grace, std::error_code& ec) noexcept;
  bool signal(int signal, std::error_code& ec) noexcept;
  bool kill(std::error_code& ec) noexcept;

 private:
  friend struct detail::ChildAccess;
  // `handle` is what exit_fd() returns.
  Child(pid_t pid, UniqueFd handle, std::string program, UniqueFd in, UniqueFd out, UniqueFd err) noexcept;
  // What the destructor and move assignment do (see "Destructor policy"),
  // for a Child of this process (per platform).
  void dispose() noexcept;
  // dispose(), or for a copy made by fork() only the closing of its
  // descriptors.
  void drop() noexcept;
  // Throws Error(EBADF, step) for a moved-from Child, Error(ECHILD, step)
  // for a copy made by fork() (see above).
  void check_usable(Step step) const;

  pid_t pid_ = -1;
  UniqueFd handle_;
  std::string program_;
  UniqueFd stdin_, stdout_, stderr_;
  std::optional<ExitStatus> status_;
  bool kill_on_drop_ = false;
  std::uint64_t fork_generation_ = 0;  // the process generation that made it (see "fork()")
};

}  // namespace taskport
