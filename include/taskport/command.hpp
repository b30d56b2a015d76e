// SPDX-License-Identifier: MIT
// taskport — Command: what to run and how; spawn() and spawn_with_task().
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "taskport/child.hpp"
#include "taskport/export.hpp"
#include "taskport/output.hpp"
#include "taskport/stdio.hpp"
#include "taskport/task.hpp"

namespace taskport {

// Runs in the child after fork/clone and before execve, after stdio, extra
// fds, session/group and working directory are set up, with every signal
// blocked and every handler that was not SIG_IGN reset to SIG_DFL. Return 0
// to continue, or an errno value to abort the spawn: spawn then throws
// Error(errno, Step::pre_exec_hook).
//
// CONTRACT — the child may share the parent's memory (Linux: clone with
// CLONE_VM|CLONE_VFORK, on a small private stack) while the parent's other
// threads keep running:
//   * call only async-signal-safe functions (signal-safety(7)): no malloc,
//     no new, no locks, no stdio, no std::string building, no logging;
//   * do not throw: the child would die by SIGABRT, and spawn then reports
//     Error(ECANCELED, Step::child_died) naming the hook step and the signal
//     (as for any hook that dies or calls _exit);
//   * do not write to the parent's memory: the parent sees every write;
//   * keep stack use under 64 KiB;
//   * do not call fork/vfork/clone, exit (use _exit), or return by longjmp.
using PreExecHook = std::function<int()>;

namespace detail {
struct CommandAccess;  // the backends' view of a Command (not part of the API)
}

// What to run and how, reusable for many spawns (as Rust's
// std::process::Command). Every setter returns the Command for chaining.
// Options that are not set cost nothing: a plain spawn makes no system call
// for them.
//
// What the child does between clone/fork and exec, in order: reset signal
// handlers, new_session, process_group, current_dir (with the spawner's
// credentials), stdio and inherit_fd placements, close_other_fds, rlimit,
// groups / gid / uid, the pre_exec hooks (so hooks run with the new
// credentials and see the descriptor table the program gets), then execve.
// (macOS without hooks: posix_spawn applies its attributes in the kernel's
// own order.)
class TASKPORT_API Command {
 public:
  // `program` is a path (contains '/') or a name searched in PATH with
  // execvp's rules. Which PATH: the child's if env() sets it (execvp's
  // default if env_remove() removes it); else, unless env_clear() was
  // called, the parent's; else execvp's default (Linux "/bin:/usr/bin",
  // macOS "/usr/bin:/bin"). The rules (glibc's execvp, posix_spawnp, Rust
  // std and CPython alike): a candidate that fails with ENOENT (also a "#!"
  // naming a missing interpreter), ENOTDIR, ESTALE, ENODEV, ETIMEDOUT or
  // EACCES is skipped; one that fails with ENOEXEC is run by /bin/sh; any
  // other error ends the search with it; if every candidate fails, the
  // error is EACCES if one said EACCES, else the last one's. Linux decides
  // in the parent whatever stat(2) can tell (one execve in the child for the
  // first candidate that looks runnable; later ones only when that execve
  // fails with an error the search goes on after).
  //
  // Every string of a Command is a C string for the child: a NUL byte in
  // the program, an argument, arg0, the working directory, an environment
  // key or value — or an environment key that is empty or contains '=' —
  // fails the spawn (not the setter) with Error(EINVAL,
  // Step::validate_command), the detail naming the field, before anything
  // is created.
  explicit Command(std::string program);

  Command& arg(std::string arg);
  Command& args(std::initializer_list<std::string> args);
  Command& args(const std::vector<std::string>& args);
  // argv[0] seen by the child (default: `program` as given).
  Command& arg0(std::string arg0);

  // Environment: inherited from the parent at spawn time, then edited —
  // like a map: a key the parent's environment holds more than once is
  // taken once (the first, as getenv() finds it), and env() or env_remove()
  // of it replaces or removes every copy. (Left unedited, the parent's
  // environment is passed on as it is.)
  Command& env(std::string key, std::string value);
  Command& env_remove(const std::string& key);
  // Start from an empty environment instead of the parent's.
  Command& env_clear();

  // The child's working directory. A directory the child cannot enter
  // fails the spawn with Error(errno, Step::chdir), the detail naming it.
  Command& current_dir(std::string dir);

  Command& standard_input(Stdio stdio);
  Command& standard_output(Stdio stdio);
  Command& standard_error(Stdio stdio);

  // Places the parent's descriptor `parent_fd` (borrowed; open until spawn
  // returns) at number `child_fd` in the child, without FD_CLOEXEC. Any
  // child_fd is allowed, including 0-2 (overrides the Stdio for it). A
  // parent_fd that is not open fails the spawn before any child is created:
  // Error(EBADF, Step::redirect_fds). child_fd must be below RLIMIT_NOFILE,
  // as for dup2 (up to the last number below it; else the child fails with
  // Error(EBADF, Step::redirect_fds)).
  Command& inherit_fd(int child_fd, int parent_fd);

  // Closes, in the child, every descriptor the spawn does not place there
  // itself: the program starts with stdin, stdout, stderr and the
  // inherit_fd() targets only (and what a pre_exec hook opens). What the
  // spawn needs keeps working — the preload's rendezvous descriptor is an
  // inherit_fd target; the CLONE_PIDFD fallback socket is kept until exec.
  //   Linux: close_range(2) over each gap between the kept numbers (Linux
  //          5.9+); on older kernels, or when seccomp refuses it, one close
  //          per open descriptor listed in /proc/self/fd (or, without /proc,
  //          every number below RLIMIT_NOFILE).
  //   macOS: POSIX_SPAWN_CLOEXEC_DEFAULT, with the inherited stdio named by
  //          posix_spawn_file_actions_addinherit_np; with pre_exec hooks
  //          (fork + exec), every descriptor without FD_CLOEXEC below
  //          getdtablesize() is closed in the child.
  // Default false — descriptors without FD_CLOEXEC are inherited, as execve,
  // posix_spawn and Rust's std::process do. Why not true, as Boost.Process v2
  // and Python's subprocess: taskport itself opens every descriptor
  // close-on-exec, so nothing of the library's can leak; an inherited
  // descriptor is most often inherited on purpose (make's jobserver pipe,
  // systemd socket activation, a descriptor passed down from this process's
  // own parent), and closing them would break those programs silently; and
  // a plain spawn stays free of extra system calls. Turn it on for programs
  // you do not trust with this process's descriptors.
  Command& close_other_fds(bool enable = true);

  // The child's credentials, set after the descriptors are placed and
  // before the hooks, in the order groups → gid → uid (once the uid changes
  // the rest would no longer be allowed). Each failure is reported with its
  // own step: Error(errno, Step::setgroups / setgid / setuid), typically
  // EPERM when this process lacks CAP_SETUID / CAP_SETGID.
  //   Linux: raw setgroups / setresgid / setresuid in the child — glibc's
  //          wrappers would signal every thread of this process (they change
  //          credentials process-wide), and the child shares our memory.
  //          uid() without groups() also drops the supplementary groups
  //          (setgroups(0), ignored if refused), as Rust's CommandExt::uid:
  //          a child that changes uid keeps no group of its spawner's.
  //   macOS: posix_spawnattr_set_uid_np / _gid_np / _groups_np (xnu
  //          libsyscall/wrappers/spawn/posix_spawn.c), which the kernel
  //          accepts from root only (bsd/kern/kern_exec.c posix_spawn:
  //          kauth_cred_issuser, else EPERM — reported before spawning); with
  //          pre_exec hooks, setgroups / setgid / setuid in the forked child.
  Command& uid(uid_t uid);
  Command& gid(gid_t gid);
  Command& groups(std::vector<gid_t> groups);

  // A resource limit for the child (setrlimit's `resource`, e.g.
  // RLIMIT_NOFILE, RLIMIT_CORE; RLIM_INFINITY for no limit), set before the
  // credentials change. soft > hard is refused before spawning
  // (Error(EINVAL, Step::validate_command)); raising a hard limit needs
  // CAP_SYS_RESOURCE (Error(EPERM, Step::setrlimit)). Later calls for the
  // same resource replace earlier ones.
  //   Linux: a raw prlimit64 in the child.
  //   macOS: posix_spawn has no attribute for it: spawn reports
  //          Error(ENOTSUP, Step::validate_command) (setrlimit in a pre_exec
  //          hook does it).
  Command& rlimit(int resource, rlim_t soft, rlim_t hard);

  // setpgid(0, pgid) in the child; 0 makes a new group led by the child.
  Command& process_group(pid_t pgid);
  // setsid() in the child.
  Command& new_session(bool enable = true);

  // The child stops before the program runs; the Task from
  // spawn_with_task() starts it with Task::resume() (from any thread). The
  // stop is the Task's first suspension (suspend_count() == 1), so
  // registers and memory of the untouched image can be read.
  //   Linux: stopped before the first instruction of the new program, traced
  //          by a taskport thread (TracerPid in /proc/<pid>/status names it);
  //          needs ptrace access to the child (Yama ptrace_scope 3 refuses).
  //   macOS: stopped in the preload's initializer, before main
  //          (task_suspend), not before dyld runs.
  // spawn() (without a Task) rejects it: Error(EINVAL, Step::validate_command).
  Command& start_suspended(bool enable = true);

  // Adds a hook (see PreExecHook); hooks run in the order added.
  Command& pre_exec(PreExecHook hook);

  // spawn_with_task() gets the Task from the program itself, after exec: a
  // small library (preload_library(); LD_PRELOAD on Linux,
  // DYLD_INSERT_LIBRARIES on macOS) sends the program's own handle through
  // a Rendezvous (taskport/rendezvous.hpp) before main, and leaves no trace
  // the program's children could see or inherit (its entry in the variable
  // — other entries stay —, the rendezvous variables, the rendezvous
  // descriptor). For programs that know nothing of taskport when ptrace
  // access is not to be had (other uid after the program drops privileges,
  // no CAP_SYS_PTRACE, Yama, seccomp): the Task reads and writes memory
  // through the handle the program gave.
  // Cannot work for statically linked programs, setuid/setgid programs
  // (secure execution ignores LD_PRELOAD) or programs of another
  // architecture: spawn_with_task() then reports ENOEXEC or EPERM at once
  // (Step::accept_task), else ETIMEDOUT after preload_timeout(); the child
  // is killed and reaped before the throw. ENOENT (Step::rendezvous) if the
  // library is not found.
  // macOS (spawn_with_task() always works this way there): also refused at
  // once, from the child's code-signing state right after posix_spawn —
  // EPERM for a platform binary (SIP), a set-id program, CS_RESTRICT, a
  // __RESTRICT section, the hardened runtime without the entitlement
  // com.apple.security.cs.allow-dyld-environment-variables; ENOEXEC for an
  // arm64e program or one whose architecture the preload lacks; an
  // arm64-only program on Intel fails posix_spawn itself (EBADARCH,
  // Step::execve). A child that dyld aborts (SIGABRT: library validation,
  // a missing slice) is ESRCH with a hint that says so.
  // With start_suspended(): the program waits before main, suspended by
  // spawn_with_task() (Task::suspend: needs ptrace access on Linux, like
  // start_suspended() alone); Task::resume() lets it run main.
  // spawn() (without a Task) rejects it: Error(EINVAL, Step::validate_command).
  Command& task_via_preload(bool enable = true);
  // How long spawn_with_task() waits for the handle (default 10 s).
  Command& preload_timeout(std::chrono::milliseconds timeout);

#if defined(__APPLE__)
  // macOS: how the child reaches the spawner's Mach port (spawn_with_task(),
  // and a Rendezvous made with the same choice).
  enum class MachRoute {
    automatic,         // launchd, or registered ports where launchd refuses (default)
    launchd,           // a receive right registered with launchd (bootstrap_check_in
                       // of a unique name): refused in a Seatbelt sandbox without
                       // mach-register (EPERM, Step::rendezvous)
    registered_ports,  // no launchd: the port travels in slot 2 of the child's
                       // registered ports (posix_spawn; the child's preload or
                       // send_task_to_spawner() empties the slot). Needs this
                       // process's own slot 2 to be free (else EBUSY,
                       // Step::rendezvous) and no pre_exec hooks (they need fork
                       // + exec: EINVAL, Step::validate_command).
  };
  Command& mach_route(MachRoute route);
#endif

  // Starts the program and returns once execve in the child is past its
  // point of no return (the old image is gone; like posix_spawn). Every
  // failure before that, in the parent or in the child, is thrown as Error
  // carrying errno, the Step and the program; a child that was created is
  // reaped before the throw. The Command can be spawned again.
  // On Linux the kernel may still be mapping the new program for a few
  // microseconds after spawn returns: a Task that must see the complete,
  // not-yet-running image uses start_suspended().
  Child spawn() const;
  // Like spawn(), and also returns the child's task handle.
  std::pair<Child, Task> spawn_with_task() const;

  // Runs the program to its end and returns what it wrote (as Rust's
  // Command::output): stdin is /dev/null and stdout and stderr are piped,
  // unless standard_input() / standard_output() / standard_error() were set
  // (a stream set to something else is not captured: its part of the Output
  // stays empty). Then Child::wait_with_output().
  Output output() const;
  // Runs the program to its end with the streams as configured (inherited
  // unless set) and returns its status: spawn().wait().
  ExitStatus status() const;

  // Without exceptions (taskport/error.hpp). These also report the Command's
  // validation (Step::validate_command) and, for output(), reading its
  // streams (Step::read_output).
  std::optional<Child> spawn(std::error_code& ec) const noexcept;
  std::optional<std::pair<Child, Task>> spawn_with_task(std::error_code& ec) const noexcept;
  std::optional<Output> output(std::error_code& ec) const noexcept;
  std::optional<ExitStatus> status(std::error_code& ec) const noexcept;

  // One edit of the environment, as env() and env_remove() made it.
  struct EnvEdit {
    std::string key;
    std::optional<std::string> value;  // absent: removed
  };
  // One inherit_fd() placement.
  struct FdMapping {
    int child_fd;
    int parent_fd;
  };
  // One rlimit() setting.
  struct ResourceLimit {
    int resource;
    rlim_t soft;
    rlim_t hard;
  };

  // Read back what was configured (as Rust's Command::get_*).
  // The program as given to the constructor.
  const std::string& get_program() const noexcept { return program_; }
  // The arguments after argv[0].
  const std::vector<std::string>& get_args() const noexcept { return args_; }
  // The environment edits in the order made (since the last env_clear()).
  const std::vector<EnvEdit>& get_envs() const noexcept { return env_edits_; }
  // True once env_clear() was called.
  bool get_env_clear() const noexcept { return env_clear_; }
  // The working directory set by current_dir(), if any.
  const std::optional<std::string>& get_current_dir() const noexcept { return cwd_; }

 private:
  friend struct detail::CommandAccess;

  std::string program_;
  std::optional<std::string> arg0_;
  std::vector<std::string> args_;
  bool env_clear_ = false;
  std::vector<EnvEdit> env_edits_;
  std::optional<std::string> cwd_;
  Stdio stdio_[3] = {Stdio::inherit(), Stdio::inherit(), Stdio::inherit()};
  bool stdio_set_[3] = {false, false, false};  // output() captures what was not set
  std::vector<FdMapping> fds_;
  std::optional<pid_t> pgid_;
  bool setsid_ = false;
  bool suspended_ = false;
  std::vector<PreExecHook> hooks_;
  bool via_preload_ = false;
  std::chrono::milliseconds preload_timeout_{10000};
#if defined(__APPLE__)
  MachRoute mach_route_ = MachRoute::automatic;
  unsigned registered_port_ = 0;  // mach_port_t set by Rendezvous::prepare (borrowed)
#endif
  bool close_other_fds_ = false;
  std::optional<uid_t> uid_;
  std::optional<gid_t> gid_;
  std::optional<std::vector<gid_t>> groups_;
  std::vector<ResourceLimit> rlimits_;
};

}  // namespace taskport
