// SPDX-License-Identifier: MIT
// taskport — the task handle: a capability naming one process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "taskport/export.hpp"
#include "taskport/memory.hpp"
#include "taskport/region.hpp"
#include "taskport/task_info.hpp"
#include "taskport/thread.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport {

namespace detail {
struct TaskAccess;  // the backends' view of a Task (not part of the API)
}

// A Task owns the platform's capability handle to a process:
//   Linux: a pidfd (from clone(CLONE_PIDFD), or from the child itself when
//          CLONE_PIDFD is refused, or from pidfd_open for Task::open); it
//          survives execve and keeps naming the same process, and its pid
//          can never be recycled under it.
//   macOS: the child's Mach task port, sent by the program itself after exec,
//          or task_for_pid's for Task::open (compile-checked only so far; see
//          README "Platform status"). It names one program image: if the
//          program execs again, the port's task is terminated (xnu gives the
//          exec a new task) and the Task is dead, although the pid lives on.
//
// A Task is move-only and independent of the Child it came with: it may
// outlive the Child, and it keeps naming the process (dead or alive) without
// ever reaching a recycled pid.
//
// Thread-safety: every method may be called from any thread, and concurrent
// calls on one Task are safe (reads, writes, regions, threads and info run
// in parallel; suspend, resume and registers are serialized on the Task).
// Moving, assigning or destroying a Task while another thread uses it is not.
//
// Library threads (Linux): the tracer thread, started by the first suspend()
// or hold_at_exit() of any Task or the first start_suspended() spawn (every
// ptrace request runs on it: a tracer is a thread), and the reaper thread of
// child.hpp. Each is started once, on first need, with every signal blocked,
// and persists until the process exits (a forked child starts its own when
// it needs one). No other Task call starts a thread. macOS: no tracer; the
// reaper of child.hpp.
//
// Every method that can fail also has a non-throwing form with a trailing
// std::error_code& (taskport/error.hpp, "Without exceptions").
//
// Moved from: pid(), native_handle() and exit_fd() return -1 (macOS
// native_handle(): MACH_PORT_NULL); every other method throws
// Error(EBADF) (program() of the Error: "pid -1").
//
// fork() in the application — what survives it: the library's own threads
// (the Linux tracer, the reapers) do not; the library starts over in the new
// process at its next call (a pthread_atfork child handler only counts the
// fork: it also runs in taskport's own forked children, so it must be
// async-signal-safe). A Task that exists at the fork is copied with the
// memory:
//   Linux: its descriptors (pidfd, /proc, mem, maps) come along and keep
//          naming the task, so the copy works in the new process, with that
//          process's access rights — and suspensions of its own: a
//          suspension the parent holds stays the parent's (the copy's
//          suspend_count() starts at 0; destroying the copy resumes
//          nothing; its suspend() fails while the parent's tracer holds the
//          threads, naming that tracer).
//   macOS: fork passes on no Mach rights, so the copy names nothing: every
//          method but the accessors throws Error(ECHILD).
// (A Child copied by fork() is inert: taskport/child.hpp.)
class TASKPORT_API Task {
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

  // ---- A process taskport did not start ---------------------------------------
  // What Task::open checks besides the pid.
  struct OpenOptions {
    // The start_time() the caller saw when it learned the pid: if the pid
    // now names a process that started at another time, open fails with
    // ESRCH instead of returning a Task for a stranger. Closes the window
    // between learning a pid (ps, a pid file, /proc) and opening it.
    std::optional<std::uint64_t> expected_start_time;
  };
  // A Task for a running process given by its pid, as gdb -p, py-spy or
  // Boost.Process do it.
  //   Linux: pidfd_open(pid), then — with the pidfd held, so the pid cannot
  //          be recycled any more — a check through /proc/<pid> that it names
  //          a live user process (and, if asked, the expected start time). The
  //          only window left is the one before the call, between learning
  //          the pid and pidfd_open; expected_start_time closes it (a pid is
  //          reused only by a process that starts later: the start time in
  //          clock ticks and the pid name one process, unless the whole pid
  //          space wraps within one tick). From then on the Task behaves like
  //          a spawned one: it never reaches a process that reuses the pid.
  //          open checks only what needs no privilege: threads() and info()
  //          need none; read, write, regions, suspend need ptrace access and
  //          fail with the same explained EPERM/EACCES as for a spawned Task.
  //   macOS: task_for_pid, which needs root, or the debugger entitlement
  //          (com.apple.security.cs.debugger) with a target signed with
  //          get-task-allow; SIP-protected and platform processes are refused
  //          even to root. Every refusal is one KERN_FAILURE, reported as
  //          EPERM naming what this process lacks and the cooperative routes
  //          (Command::spawn_with_task, Rendezvous + send_task_to_spawner).
  // Errors, all Step::open_task naming "pid <N>": ESRCH for a pid that names
  // no process, for a process that has exited (a zombie: "has exited") and
  // for a start time that differs; EINVAL for pid <= 0, a thread id that is
  // not a process id, and a kernel thread (Linux; macOS: pid 0, the kernel):
  // "no user memory".
  static Task open(pid_t pid);
  static Task open(pid_t pid, const OpenOptions& options);
#if defined(__linux__)
  // A Task for the process a pidfd names (pidfd_open, clone(CLONE_PIDFD), or
  // one received over a socket). Adopts `pidfd`: the Task owns and closes it,
  // on failure too. The same checks and errors as open(): EINVAL if the
  // descriptor is not a pidfd or names a process outside this pid
  // namespace, ESRCH if the process has exited or been reaped (errors
  // before the pid is known name this process, "pid <N>", and the
  // descriptor).
  static Task from_pidfd(UniqueFd pidfd);
#endif

  // The handle itself, owned by the Task (do not close it).
  native_handle_type native_handle() const noexcept;
  pid_t pid() const noexcept;

  // When the process started, as the kernel recorded it: the value
  // OpenOptions::expected_start_time compares with. Linux: field 22 of
  // /proc/<pid>/stat (clock ticks since boot); macOS: the start time of
  // proc_pidinfo(PROC_PIDTBSDINFO) in microseconds since the epoch. Needs no
  // privilege on Linux (read once, then remembered); ESRCH once reaped.
  std::uint64_t start_time() const;

  // True until the process exits (a zombie counts as exited). One poll(2).
  // macOS: also false once the program exec'd again (the Task names the
  // image that sent its port: the port's audit token — pid and pid version
  // — is checked, one task_info).
  bool is_alive() const;
  // A descriptor that becomes readable when the process exits, for
  // poll/epoll/select (the pidfd itself on Linux). Owned by the Task.
  int exit_fd() const noexcept;

  // Sends `signal` to exactly this process (pidfd_send_signal); ESRCH once
  // it has been reaped.
  void signal(int signal);

  // ---- Memory --------------------------------------------------------------
  // Costs: one process_vm_readv per call (or one pread of /proc/<pid>/mem when
  // process_vm_* is refused by seccomp/ENOSYS, or once the main thread has
  // exited while other threads run on: then through another thread's
  // /proc/<pid>/task/<tid>/mem — the regions and the process information
  // too), plus one poll(2) on the pidfd that proves the pid still names this
  // task. Needs ptrace access to the task
  // (same uid and dumpable, or CAP_SYS_PTRACE; Yama may restrict further)
  // unless the Task holds a memory capability (see the rendezvous).
  //
  // Reads exactly `size` bytes at `address`, or throws Error(Step::read_memory)
  // naming the range (EFAULT: not mapped / not readable; EPERM/EACCES with the
  // reason; ESRCH: the task has exited).
  void read(std::uint64_t address, void* buffer, std::size_t size) const;
  template <class T>
  T read_value(std::uint64_t address) const {
    T value;
    read(address, &value, sizeof value);
    return value;
  }
  // The same, into a new vector of exactly `size` bytes.
  std::vector<std::byte> read(std::uint64_t address, std::size_t size) const;
  // Batched scatter read: as few process_vm_readv calls as the kernel allows
  // (up to 1024 ranges per call; requests that share a page are read as one
  // span of it, and a call carries at most 128 KiB of such spans); a range
  // that fails is retried alone so every other range is still read. Fills
  // bytes_read/error of each request and returns how many were read
  // completely. Throws only for task-wide failures (permission, task gone).
  std::size_t read_many(ReadRequest* requests, std::size_t count) const;
  std::size_t read_many(std::vector<ReadRequest>& requests) const {
    return read_many(requests.data(), requests.size());
  }
  // Writes exactly `size` bytes, also into read-only pages (software
  // breakpoints): pwrite on /proc/<pid>/mem, opened once per Task. Needs the
  // same access as read().
  // macOS: mach_vm_write; into a page without write permission by
  // protecting it (protection & ~EXECUTE) | WRITE | VM_PROT_COPY — a private
  // copy, never write+execute, which xnu refuses on arm64 — writing, and
  // restoring the protection. The bytes read back, but running a patched
  // code page needs more than taskport arranges: on Apple silicon (and for
  // CS_ENFORCEMENT targets on Intel) the page is no longer validly signed,
  // and executing it kills the program (code-signing fault, or SIGKILL for
  // CS_KILL) unless the target is CS_DEBUGGED — which only a ptrace attach
  // (PT_ATTACHEXC, or PT_TRACE_ME in the child) gives it; taskport does not
  // do that. Writes need Developer Mode (System Settings > Privacy &
  // Security): without it macOS refuses control of another task's memory
  // and write() throws Error(EPERM, Step::write_memory) saying so; reads,
  // regions, threads, registers and suspend/resume work regardless.
  void write(std::uint64_t address, const void* data, std::size_t size);

  // ---- Regions ---------------------------------------------------------------
  // Every mapping, in address order. Costs: the PROCMAP_QUERY ioctl (Linux
  // 6.11+) once per mapping, else one read of /proc/<pid>/maps. Needs ptrace
  // read access (PTRACE_MODE_READ).
  std::vector<Region> regions() const;
  // The mapping containing `address`, if any (one PROCMAP_QUERY when
  // available, else a scan of /proc/<pid>/maps).
  std::optional<Region> region_at(std::uint64_t address) const;
  // Like regions(), with each Region's resident_bytes filled in.
  //   Linux: one read of /proc/<pid>/smaps (PTRACE_MODE_READ, checked at
  //          open): dearer than regions(), the kernel walks the page tables
  //          of every mapping. Where that open is refused but the task handed
  //          over its maps file (rendezvous, preload), the regions come from
  //          that file and resident_bytes stays absent.
  //   macOS: the same mach_vm_region_recurse walk as regions(), whose full
  //          submap info already visits every page of each mapping.
  std::vector<Region> regions_with_resident_size() const;

  // ---- Threads ---------------------------------------------------------------
  // A snapshot of the task's threads (/proc/<pid>/task: racy by nature; a
  // thread may end right after). Needs nothing beyond seeing /proc.
  std::vector<ThreadInfo> threads() const;
#if defined(__x86_64__) || defined(__aarch64__)
  // General-purpose registers of thread `tid`. The task must be suspended
  // (suspend(), or start_suspended): registers of a running thread are
  // meaningless. Costs one PTRACE_GETREGSET, done on taskport's tracer
  // thread. Throws Error(EBUSY, Step::read_registers) if not suspended.
  Registers registers(pid_t tid) const;
  // The registers of every thread of the suspended task, ordered by tid:
  // what a sampling profiler takes at each sample. Linux: one hop to the
  // tracer thread for all of them (one PTRACE_GETREGSET per thread there),
  // where a registers() call per thread costs a hop each — most of a
  // sample's time with many threads. macOS: task_threads, then
  // thread_get_state per thread.
  // The threads are the ones the suspension holds, which are the ones
  // /proc/<pid>/task (task_threads) lists: a suspended task runs no code, so
  // no thread is born. A thread that has ended — killed (SIGKILL still
  // kills a suspended task), or a main thread that called pthread_exit
  // before the suspend and stays listed as a zombie until the process ends
  // — has no registers left and is skipped, not reported: the result is
  // the threads that have registers. The same precondition as registers():
  // Error(EBUSY, Step::read_registers) if not suspended; ESRCH if no thread
  // is left (the task has exited).
  std::vector<ThreadRegisters> registers_all() const;
#endif

  // ---- Usage -------------------------------------------------------------------
  // Reads /proc/<pid>/status, stat and io (three small reads). Fields that
  // cannot be read are absent.
  TaskInfo info() const;

  // ---- What the process runs ---------------------------------------------------
  // Linux: through the task's verified /proc/<pid> directory, so a recycled
  // pid can never substitute another process's answer; ESRCH once the task
  // has exited (a zombie has no executable, directory or memory left).
  // macOS: by pid, each answer confirmed afterwards to still be the task's
  // (pid_for_task on the port).
  //
  // The path of the executable file (Linux: readlink /proc/<pid>/exe — ends
  // in " (deleted)" if the file was removed; needs ptrace read access.
  // macOS: proc_pidpath — any process, no same-user check).
  std::string executable() const;
  // argv as the process holds it now (a program may rewrite it, as
  // setproctitle does). Linux: /proc/<pid>/cmdline, readable by anyone;
  // macOS: sysctl KERN_PROCARGS2, same uid or root (else EPERM).
  std::vector<std::string> command_line() const;
  // The working directory (Linux: readlink /proc/<pid>/cwd, ptrace read
  // access; macOS: proc_pidinfo(PROC_PIDVNODEPATHINFO), same uid or root).
  std::string current_dir() const;
  // The environment the process was started with, "KEY=VALUE" in its order
  // (what the kernel copied at exec: later setenv/putenv calls do not show;
  // entries rewritten in place do). Linux: /proc/<pid>/environ, ptrace read
  // access; macOS: KERN_PROCARGS2, same uid or root, and the kernel leaves
  // the environment out for restricted targets unless this process is root.
  std::vector<std::string> environment() const;

  // ---- Suspend / resume ------------------------------------------------------
  // Counted, like Mach's task_suspend: every thread stops (including threads
  // born while suspending); two suspend() calls need two resume() calls.
  // Linux: PTRACE_SEIZE + PTRACE_INTERRUPT of each thread, performed on one
  // library tracer thread (a ptrace tracer is a thread, not a process), so
  // both calls work from any thread. Signals sent to the task while it is
  // suspended stay pending and are delivered, in order, after the last
  // resume(). Needs ptrace attach access (PTRACE_MODE_ATTACH). Errors, all
  // Step::suspend: EPERM (refused: the detail says why; a thread another
  // process traces — a debugger, strace — names that tracer), ETIMEDOUT (a
  // thread did not reach its stop within 5 s, e.g. waiting in the kernel;
  // nothing stays stopped), EMFILE (no descriptor for /proc), EAGAIN (the
  // tracer thread could not be started: RLIMIT_NPROC; the next call tries
  // again), ESRCH (the task has exited). Works beside an application's
  // SIGCHLD handler that reaps with waitpid(-1): stops are observed, not
  // their wait reports.
  void suspend();
  // Undoes one suspension. A child spawned with Command::start_suspended()
  // begins with one suspension: stopped before the first instruction of the
  // new program. When the count drops to zero every thread runs again (on
  // Linux a thread that cannot be let go at once — killed meanwhile, or not
  // yet at its stop — is let go or reaped by the tracer as soon as it can
  // be; none stays stopped).
  // Callable from any thread. Throws Error(EINVAL, Step::resume) if the task
  // is not suspended. A task that exited while suspended needs no resume:
  // resume() then just lowers the count.
  void resume();
  // Number of outstanding suspensions.
  int suspend_count() const;

  // ---- Holding the process at its exit ---------------------------------------------
  // Keeps the process at its exit, with its memory still mapped and its
  // last thread's registers readable, until the caller has looked: what a
  // snapshot "at exit" needs (the CLI's `taskport run --at-exit`).
  //
  // True where the platform can do it: Linux. Not available on macOS
  // (taskport has no stop at a task's exit there; a debugger's comes with a
  // ptrace attach): hold_at_exit() fails there with Error(ENOTSUP,
  // Step::hold_at_exit), so there is never a hold and the calls below
  // behave as without one.
  static bool can_hold_at_exit() noexcept;
  // Starts holding. Linux: on the tracer thread, PTRACE_SEIZE of every
  // thread with PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE (threads born
  // later are attached by the kernel with the same options); the threads
  // run on, traced. From then on every stop the kernel makes for a tracer
  // — a signal about to be delivered, a new thread, a group stop, a thread
  // that exits while the others live on — is passed on by the tracer
  // thread, which looks every millisecond while a hold exists: signals are
  // delivered as before, at most that much later (a thread born, and a
  // stop/continue, as much slower). When the process exits — exit(),
  // exit_group, a fatal signal, also SIGKILL on the kernels whose exiting
  // threads still stop for their tracer (PTRACE_EVENT_EXIT; Linux 6.x here)
  // — its last thread is kept in that stop: is_held_at_exit() turns true
  // and memory, regions, threads and (once suspend()ed) registers can be
  // read. Works on a suspended task too (the hold starts with the threads
  // the suspension holds; a start-suspended child's first thread, attached
  // by PTRACE_TRACEME, is let go and seized again for the hold when it is
  // resumed: it runs unheld from its first instruction until the tracer
  // thread's next system call — microseconds, or, when the child takes the
  // tracer thread's CPU, until the scheduler gives it back; a program that
  // ends that soon ends unheld). A second call while holding does nothing. Needs
  // ptrace attach access, like suspend(); the same errors (EPERM with the
  // reason or naming another tracer, EAGAIN, ESRCH), in Step::hold_at_exit.
  //
  // Interplay with suspend/resume: while held, suspend() stops the threads
  // as always and resume() gives them back to the hold (still traced; a
  // thread at its exit stays there). A process held at its exit can be
  // suspend()ed to read its registers (registers_all(): the thread at its
  // exit; threads that ended before it are gone). A process that execs
  // stays held (the seized threads stay traced across execve; an exec from
  // a thread other than the main one waits up to 100 ms, the time the main
  // thread is kept at its exit in case it is the process's). A thread that
  // ends alone is reaped by the tracer within a millisecond (until then
  // threads() lists it as a zombie).
  //
  // Never a frozen process: release_exit_hold(), or destroying the Task,
  // lets the process finish its exit (and a Child reaps it as always).
  // While a Task holds, a process that is killed — by Child::kill or a
  // Child's kill_on_drop too — stays at its exit until released.
  void hold_at_exit();
  // True once the process has reached its exit and is held there; false
  // while it runs, and without a hold.
  bool is_held_at_exit() const;
  // Waits up to `timeout` until the process is held at its exit: true once
  // it is, false if the time passed or the process ended without being held
  // (it was never held, or exited before the hold began). Errors: EINVAL
  // without a hold.
  bool wait_until_held_at_exit(std::chrono::milliseconds timeout) const;
  // A descriptor that becomes readable once the process is held at its
  // exit (an eventfd owned by the hold; for poll/epoll beside exit_fd()).
  // -1 without a hold. Valid until the hold is released.
  int held_at_exit_fd() const noexcept;
  // Ends the hold: every thread is let go (PTRACE_DETACH; a running one
  // first stops for an instant), a process held at its exit finishes it.
  // Nothing to do without a hold.
  void release_exit_hold();

  // ---- Without exceptions (taskport/error.hpp) ----------------------------------
  static std::optional<Task> open(pid_t pid, std::error_code& ec) noexcept;
  static std::optional<Task> open(pid_t pid, const OpenOptions& options, std::error_code& ec) noexcept;
#if defined(__linux__)
  static std::optional<Task> from_pidfd(UniqueFd pidfd, std::error_code& ec) noexcept;
#endif
  std::optional<std::uint64_t> start_time(std::error_code& ec) const noexcept;
  std::optional<bool> is_alive(std::error_code& ec) const noexcept;
  bool signal(int signal, std::error_code& ec) noexcept;
  bool read(std::uint64_t address, void* buffer, std::size_t size, std::error_code& ec) const noexcept;
  template <class T>
  std::optional<T> read_value(std::uint64_t address, std::error_code& ec) const noexcept {
    T value;
    if (!read(address, &value, sizeof value, ec)) return std::nullopt;
    return value;
  }
  std::optional<std::vector<std::byte>> read(std::uint64_t address, std::size_t size,
                                             std::error_code& ec) const noexcept;
  std::optional<std::size_t> read_many(ReadRequest* requests, std::size_t count,
                                       std::error_code& ec) const noexcept;
  std::optional<std::size_t> read_many(std::vector<ReadRequest>& requests,
                                       std::error_code& ec) const noexcept {
    return read_many(requests.data(), requests.size(), ec);
  }
  bool write(std::uint64_t address, const void* data, std::size_t size, std::error_code& ec) noexcept;
  std::optional<std::vector<Region>> regions(std::error_code& ec) const noexcept;
  std::optional<Region> region_at(std::uint64_t address, std::error_code& ec) const noexcept;
  std::optional<std::vector<Region>> regions_with_resident_size(std::error_code& ec) const noexcept;
  std::optional<std::vector<ThreadInfo>> threads(std::error_code& ec) const noexcept;
#if defined(__x86_64__) || defined(__aarch64__)
  std::optional<Registers> registers(pid_t tid, std::error_code& ec) const noexcept;
  std::optional<std::vector<ThreadRegisters>> registers_all(std::error_code& ec) const noexcept;
#endif
  std::optional<TaskInfo> info(std::error_code& ec) const noexcept;
  std::optional<std::string> executable(std::error_code& ec) const noexcept;
  std::optional<std::vector<std::string>> command_line(std::error_code& ec) const noexcept;
  std::optional<std::string> current_dir(std::error_code& ec) const noexcept;
  std::optional<std::vector<std::string>> environment(std::error_code& ec) const noexcept;
  bool suspend(std::error_code& ec) noexcept;
  bool resume(std::error_code& ec) noexcept;
  bool hold_at_exit(std::error_code& ec) noexcept;
  std::optional<bool> is_held_at_exit(std::error_code& ec) const noexcept;
  std::optional<bool> wait_until_held_at_exit(std::chrono::milliseconds timeout,
                                              std::error_code& ec) const noexcept;
  bool release_exit_hold(std::error_code& ec) noexcept;

 private:
  friend struct detail::TaskAccess;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskport
