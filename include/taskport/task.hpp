// taskport — the task handle: a capability naming one process.
#pragma once

#include <sys/types.h>

#include <memory>

namespace taskport {

// A Task owns the platform's capability handle to a process:
//   Linux: a pidfd (from clone(CLONE_PIDFD), or from the child itself when
//          CLONE_PIDFD is refused); it survives execve and keeps naming the
//          same process, and its pid can never be recycled under it.
//   macOS: the child's Mach task port (planned, see README "Platform status").
//
// A Task is move-only and independent of the Child it came with: it may
// outlive the Child, and it keeps naming the process (dead or alive) without
// ever reaching a recycled pid. Task methods may be called from any thread.
class Task {
 public:
#if defined(__APPLE__)
  using native_handle_type = unsigned int;  // mach_port_t
#else
  using native_handle_type = int;  // pidfd
#endif

  struct Impl;
  explicit Task(std::unique_ptr<Impl> impl) noexcept;
  Task(Task&&) noexcept;
  Task& operator=(Task&&) noexcept;
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task();

  // The handle itself, owned by the Task (do not close it).
  native_handle_type native_handle() const noexcept;
  pid_t pid() const noexcept;

  // True until the process exits (a zombie counts as exited). One poll(2).
  bool is_alive() const;
  // A descriptor that becomes readable when the process exits, for
  // poll/epoll/select (the pidfd itself on Linux). Owned by the Task.
  int exit_fd() const noexcept;

  // Sends `signal` to exactly this process (pidfd_send_signal); ESRCH once
  // it has been reaped.
  void signal(int signal);

  // Undoes one suspension. A child spawned with Command::start_suspended()
  // begins with one suspension: stopped before the first instruction of the
  // new program. When the count drops to zero the process runs (SIGCONT).
  // Callable from any thread. Throws Error(EINVAL, Step::resume) if the task
  // is not suspended, Error(ESRCH) if it is gone.
  void resume();
  // Number of outstanding suspensions.
  int suspend_count() const;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskport
