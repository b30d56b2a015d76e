// SPDX-License-Identifier: MIT
// Shared test support: the probe, its report, and ways to look at processes
// and descriptors from the outside (waitid, fstat, and what the kernel
// offers: /proc on Linux; sysctl, libproc and the task port on macOS). The
// same functions on both platforms, so that the shared suite reads the same
// on both; what only one platform has is marked (Linux) or (macOS).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "taskport/taskport.hpp"

namespace tp_test {

using namespace std::chrono_literals;

// Generous bound for anything that should happen "at once"; only reached
// when something is broken (sanitizer builds are slow, CI machines busy).
inline constexpr std::chrono::milliseconds kLong = 10s;

// ---- the helper programs -------------------------------------------------

const std::string& probe_path();

// Command(probe_path()) with the given arguments.
taskport::Command probe(std::initializer_list<std::string> args = {});

// A probe that runs until its stdin — a pipe whose write end only the Child
// holds — closes: it can never outlive the test process (unlike a sleep).
taskport::Command long_running_probe();

// ---- what the probe reports ----------------------------------------------

struct FdSeen {
  std::string id;      // "dev:ino" from fstat in the child
  std::string target;  // a path, "pipe:[ino]", ... (as Linux's readlink of /proc/self/fd/N)
};

struct ProbeReport {
  pid_t pid = -1, ppid = -1, pgid = -1, sid = -1, tracer_pid = -1;
  std::string exe, cwd;
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "KEY=VALUE" in environ order
  std::map<int, FdSeen> fds;
  uint64_t sigblk = 0, sigign = 0, sigcgt = 0;
  bool complete = false;  // saw the final "end" line

  // Values of every env entry named `key`, in order (to spot duplicates).
  std::vector<std::string> env_values(const std::string& key) const;
  std::optional<std::string> env_value(const std::string& key) const;
  std::set<int> fd_numbers() const;
};

ProbeReport parse_report(const std::string& text);

// Spawns `cmd` (a probe command whose arguments include "--report") with
// stdout piped, reads the report and waits for a successful exit.
// Records a test failure (and returns what it has) if anything goes wrong.
ProbeReport report_via_stdout(taskport::Command cmd);
// Same, but the report comes through a pipe placed at `child_fd` in the
// child (the command's arguments must include "--out <child_fd> --report"),
// so the test can configure stdout freely.
ProbeReport report_via_fd(taskport::Command cmd, int child_fd);

// ---- waiting without hanging ---------------------------------------------

// Waits at most kLong. On timeout: records a failure, kills the child and
// returns the status after the kill.
taskport::ExitStatus wait_exit(taskport::Child& child, std::chrono::milliseconds timeout = kLong);

// Polls `pred` every millisecond or so until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = kLong);

// Reads until EOF. Records a failure and returns what it has if EOF does
// not come within `timeout`.
std::string read_all(int fd, std::chrono::milliseconds timeout = kLong);

// Polls one fd for `events`; true if any is reported within `timeout`.
bool poll_readable(int fd, std::chrono::milliseconds timeout);

// Kills the task after `timeout` unless dismissed first: a guard for the
// rare test that must call a blocking API (Child::wait).
class Watchdog {
 public:
  Watchdog(taskport::Task& task, std::chrono::milliseconds timeout = kLong);
  ~Watchdog();
  bool fired() const { return fired_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

// ---- descriptors -----------------------------------------------------------

struct Pipe {
  taskport::UniqueFd read, write;
};
// A pipe; both ends carry `flags` (O_CLOEXEC or 0).
Pipe make_pipe(int flags = O_CLOEXEC);

// For children that must outlive their Child object: they read the
// lifeline's pipe until the test cuts it (or this process dies).
class Lifeline {
 public:
  Lifeline();
  // probe --wait-stdin with stdin = the lifeline's pipe.
  taskport::Command probe() const;
  void cut() { pipe_.write.reset(); }

 private:
  Pipe pipe_;
};
void write_str(int fd, const std::string& s);

// Open descriptors of this process (Linux: /proc/self/fd; macOS:
// proc_pidinfo PROC_PIDLISTFDS).
std::set<int> open_fds();
// Open descriptors without FD_CLOEXEC: what a child inherits by default.
std::set<int> inheritable_fds();
bool is_cloexec(int fd);
// "dev:ino" of an open descriptor, as the probe reports it.
std::string fd_identity(int fd);
std::string path_identity(const std::string& path);
#if defined(__linux__)
// The "Pid:" line of /proc/self/fdinfo/<fd> (a pidfd), or nullopt.
std::optional<pid_t> pidfd_pid(int fd);
#endif

// ---- the task handle, as the kernel sees it ----------------------------------

// The pid the kernel says `task`'s handle names (Linux: the pidfd's
// fdinfo; macOS: pid_for_task of the task port), or nullopt.
std::optional<pid_t> handle_pid(const taskport::Task& task);
// True while the handle itself is still held by this process (Linux: the
// descriptor is open; macOS: the port name holds a send right or a dead
// name), whether or not the process lives.
bool handle_is_held(const taskport::Task& task);
// True if every thread of the task is held stopped (Linux: the process is
// in state T or t; macOS: the kernel's suspend count of the task, from
// task_info(MACH_TASK_BASIC_INFO), is above zero).
bool is_held_stopped(const taskport::Task& task);

// ---- processes -------------------------------------------------------------

struct ProcStat {
  char state = '?';  // 'R', 'S', 'T', 'Z', ... (Linux: /proc/<pid>/stat; macOS: p_stat of sysctl KERN_PROC)
  pid_t ppid = -1;
  unsigned long long start_time = 0;  // (Linux: clock ticks since boot; macOS: microseconds since the epoch)
};
std::optional<ProcStat> proc_stat(pid_t pid);
#if defined(__linux__)
// The TracerPid of a process, or -1.
pid_t tracer_pid(pid_t pid);
#endif
// The executable a process runs, as a real path (Linux: /proc/<pid>/exe;
// macOS: proc_pidpath), or "" if it cannot be told.
std::string executable_of(pid_t pid);
// Every process whose parent is this process (zombies included).
std::set<pid_t> children_of_self();
// True once `pid` is no longer a child of ours at all (reaped), as waitid
// says; never reaps anything itself (WNOWAIT).
bool is_reaped(pid_t pid);
// Bounded wait until `pid` has been reaped by someone (the library).
bool eventually_reaped(pid_t pid, std::chrono::milliseconds timeout = kLong);

// ---- files -----------------------------------------------------------------

class TempDir {
 public:
  // A fresh directory under $TMPDIR (or /tmp), or under `base` if given;
  // removed with its contents at the end.
  explicit TempDir(const std::string& base = "");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool file_exists(const std::string& path);
void write_file(const std::string& path, const std::string& text, mode_t mode);
std::string real_path(const std::string& path);

// ---- signals -----------------------------------------------------------------

// A signal set as the probe reports it: bit N-1 for signal N.
inline std::uint64_t signal_bit(int sig) { return std::uint64_t{1} << (sig - 1); }
// Every signal number the platform has (Linux 1-64, macOS 1-31).
std::uint64_t every_signal();
// What no mask can hold (SIGKILL, SIGSTOP) and, on Linux, glibc's two
// internal signals (32, 33), which its sigfillset leaves out.
std::uint64_t never_blocked_signals();
// The signal mask of the calling thread (Linux: SigBlk of
// /proc/thread-self/status; macOS: pthread_sigmask).
std::uint64_t this_thread_blocked_signals();

// Why no core file can be expected from a child killed by SIGQUIT here, or
// nullopt if one can (Linux: a core_pattern that is a plain file name;
// macOS: kern.coredump on and /cores writable).
std::optional<std::string> why_no_core_dump();

// ---- inside a pre_exec hook ----------------------------------------------------
// Async-signal-safe and lock-free: the hook may run in a child that shares
// the parent's memory (Linux: CLONE_VM), so these are raw system calls on
// Linux, and plain libSystem calls on macOS (a forked child of its own).

inline long hook_getpid() {
#if defined(__linux__)
  return ::syscall(SYS_getpid);
#else
  return ::getpid();
#endif
}
inline long hook_getppid() {
#if defined(__linux__)
  return ::syscall(SYS_getppid);
#else
  return ::getppid();
#endif
}
inline long hook_getsid() {
#if defined(__linux__)
  return ::syscall(SYS_getsid, 0);
#else
  return ::getsid(0);
#endif
}
// The working directory into `buf`; its length without the NUL, or -1.
inline long hook_getcwd(char* buf, std::size_t size) {
#if defined(__linux__)
  const long n = ::syscall(SYS_getcwd, buf, size);  // counts the NUL
  return n > 0 ? n - 1 : -1;
#else
  if (::getcwd(buf, size) == nullptr) return -1;
  long n = 0;
  while (buf[n] != '\0') ++n;
  return n;
#endif
}
inline void hook_kill_self(int sig) {
#if defined(__linux__)
  ::syscall(SYS_kill, ::syscall(SYS_getpid), sig);
#else
  ::kill(::getpid(), sig);
#endif
}
// The calling thread's blocked signals (bit N-1 for signal N), or false.
inline bool hook_blocked_signals(std::uint64_t& mask) {
#if defined(__linux__)
  mask = 0;
  return ::syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &mask, sizeof mask) == 0;
#else
  sigset_t set;
  if (::sigprocmask(SIG_BLOCK, nullptr, &set) != 0) return false;
  mask = 0;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sigismember(&set, sig) == 1) mask |= signal_bit(sig);
  return true;
#endif
}
// The handler of `sig` as the kernel has it (SIG_DFL, SIG_IGN or a
// function), or false.
inline bool hook_handler_of(int sig, void*& handler) {
#if defined(__linux__)
  struct KernelSigaction {
    void* handler;
    unsigned long flags;
    void* restorer;
    std::uint64_t mask;
  } ksa{};
  if (::syscall(SYS_rt_sigaction, sig, nullptr, &ksa, 8) != 0) return false;
  handler = ksa.handler;
#else
  struct sigaction sa {};
  if (::sigaction(sig, nullptr, &sa) != 0) return false;
  handler = reinterpret_cast<void*>(sa.sa_handler);
#endif
  return true;
}
// Gives `cmd` a hook that writes the handlers of SIGUSR1 and SIGUSR2 as the
// child has them (two void*, hook_handler_of) to `wfd`.
inline void write_user_signal_handlers_in_hook(taskport::Command& cmd, int wfd) {
  cmd.pre_exec([wfd] {
    void* handlers[2] = {};
    if (!hook_handler_of(SIGUSR1, handlers[0]) || !hook_handler_of(SIGUSR2, handlers[1])) return 1;
    return ::write(wfd, handlers, sizeof handlers) == sizeof handlers ? 0 : 1;
  });
}
// RLIMIT_CORE of the calling process to `bytes` (soft and hard); false on failure.
inline bool hook_set_core_limit(rlim_t bytes) {
  struct rlimit lim {
    bytes, bytes
  };
#if defined(__linux__)
  return ::syscall(SYS_prlimit64, 0, RLIMIT_CORE, &lim, nullptr) == 0;
#else
  return ::setrlimit(RLIMIT_CORE, &lim) == 0;
#endif
}

// ---- errors ----------------------------------------------------------------

// Runs `f`; returns the taskport::Error it throws, or nullopt (and the
// child it returned is dropped with kill_on_drop) if it does not throw.
std::optional<taskport::Error> spawn_error(const taskport::Command& cmd);

}  // namespace tp_test
