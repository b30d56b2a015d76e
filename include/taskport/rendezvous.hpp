// SPDX-License-Identifier: MIT
// taskport — the rendezvous: a child hands its own task handle to its spawner.
//
// Why it exists (the exec finding): a handle taken *before* execve is of
// little use afterwards, on both platforms.
//   macOS: execve gives the process a new task; a task port sent before exec
//          names the old, terminated task.
//   Linux: the pidfd survives execve, but grants nothing by itself — every
//          memory or ptrace access is re-checked against the reader's
//          *current* credentials (same uid and dumpable, or CAP_SYS_PTRACE;
//          Yama and seccomp may refuse more). An open /proc/<pid>/mem, on
//          the other hand, is a capability (checked once, at open) — but one
//          opened before execve names the old address space and reads
//          nothing afterwards.
// So a capability to the *running program* has to come from the program,
// after exec. That is the rendezvous:
//
//   parent (spawner)                          child (after exec)
//   Rendezvous rdv;
//   rdv.prepare(cmd);       ── environment ──▶ send_task_to_spawner();
//   Child c = cmd.spawn();                    (or the preload's initializer,
//   Task t = rdv.accept(c, 5s); ◀── handle ── before main, for programs that
//                                              know nothing of taskport)
//
// What travels (the transport is an implementation detail):
//   Linux: the child inherits one end of a socketpair, whose descriptor
//          number is in TASKPORT_RENDEZVOUS_FD; it sends a pidfd of itself,
//          an open /proc/self/mem and an open /proc/self/maps (SCM_RIGHTS).
//          The Task reads and writes memory and lists regions through those
//          descriptors, so it works where this process could not get ptrace
//          access: another uid, no CAP_SYS_PTRACE, a child that is not
//          dumpable, process_vm_readv refused by seccomp.
//   macOS (compile-checked only): a receive right registered with launchd under a random
//          name (in TASKPORT_RENDEZVOUS_NAME) — or, where launchd refuses
//          (a sandbox without mach-register), passed in slot 2 of the
//          child's registered ports (Command::MachRoute) —; the child sends
//          mach_task_self() in a port-descriptor message.
// Only the expected process is believed: on Linux the kernel's
// SCM_CREDENTIALS pid must be the child's and the pidfd must name it; on
// macOS the audit trailer's pid, and the port's own audit token must carry
// the sender's pid and pid version (so it names the very image that sent
// it). Anything else is discarded.
//
// Which route to take (details in the README):
//   spawn_with_task()                    you can ptrace the child (same uid,
//                                        dumpable, no Yama/seccomp in the way):
//                                        the pidfd from clone is enough.
//   Rendezvous + send_task_to_spawner()  the program cooperates (you build it).
//   Command::task_via_preload()          the program knows nothing of taskport
//                                        (dynamically linked, not setuid).
//   fork_with_task()                     no exec at all: a function of yours
//                                        in a forked child (taskport/fork_with_task.hpp).
//   Task::open(pid)                      the process is already running and
//                                        you may ptrace it (macOS: root or a
//                                        debugger entitlement; task.hpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "taskport/child.hpp"
#include "taskport/command.hpp"
#include "taskport/export.hpp"
#include "taskport/task.hpp"

namespace taskport {

// The spawner's side of one handover from one child. Move-only.
// Thread-safety: one Rendezvous is used by one thread at a time.
class TASKPORT_API Rendezvous {
 public:
  // When the child runs on after it has sent its handle.
  enum class Start {
    at_once,      // at once.
    when_let_go,  // only after let_go() (or the Rendezvous is destroyed, or
                  // the spawner dies): the child waits inside
                  // send_task_to_spawner() — with the preload, in its
                  // initializer, before main — so the spawner can prepare
                  // (read the initial state, place breakpoints, suspend)
                  // before the program runs on.
  };

  // Creates the transport. Throws Error(errno, Step::rendezvous).
  explicit Rendezvous(Start start = Start::at_once);
#if defined(__APPLE__)
  // macOS: with the route of Command::MachRoute (the one above: automatic).
  // registered_ports: throws Error(EBUSY, Step::rendezvous) if this
  // process's own registered slot 2 is in use.
  Rendezvous(Start start, Command::MachRoute route);
#endif
  // Lets a waiting child go on (let_go()) and closes everything.
  ~Rendezvous();
  Rendezvous(Rendezvous&&) noexcept;
  Rendezvous& operator=(Rendezvous&&) noexcept;
  Rendezvous(const Rendezvous&) = delete;
  Rendezvous& operator=(const Rendezvous&) = delete;

  // Lets `cmd`'s child reach this rendezvous: sets the environment variables
  // and (Linux) places the child's descriptor at a number `cmd` does not use
  // otherwise, (macOS, registered-ports route) gives `cmd` the port for the
  // child's registered slot 2. Call it after the other inherit_fd() calls.
  // The Rendezvous serves one child: spawn `cmd` once, and keep the
  // Rendezvous alive until spawn() has returned. Returns `cmd`.
  Command& prepare(Command& cmd) const;

  // The same for spawners other than Command (posix_spawn, fork + exec):
  // set `env` in the child's environment and place each `fds` entry's
  // parent_fd at child_fd without FD_CLOEXEC (parent_fd is close-on-exec
  // here, and child_fd == parent_fd: use posix_spawn_file_actions_adddup2
  // or, after fork, fcntl(fd, F_SETFD, 0)). macOS: `fds` is empty; on the
  // registered-ports route `registered_port` is the send right to pass as
  // slot 2 of posix_spawnattr_set_registered_ports_np (slots 0 and 1: this
  // process's own, from mach_ports_lookup); else 0.
  struct ChildSetup {
    std::vector<std::pair<std::string, std::string>> env;
    std::vector<Command::FdMapping> fds;
#if defined(__APPLE__)
    unsigned registered_port = 0;  // mach_port_t, owned by the Rendezvous
#endif
  };
  ChildSetup child_setup() const;

  // Waits at most `timeout` for the child's task handle and returns it as a
  // Task (see "What travels" above for what it can do). Never hangs:
  //   ESRCH         the child exited without sending — noticed at once, the
  //                 detail gives its exit status;
  //   ECONNABORTED  the child closed its end without sending;
  //   ETIMEDOUT     nothing from the child within `timeout` (accept may be
  //                 called again);
  //   EPROTO        the child sent something malformed;
  //   EPERM         (Linux) the child sent a memory or maps descriptor of
  //                 another process (each must be its own /proc/<pid>/mem or
  //                 maps: a procfs file whose path names one of the child's
  //                 pids, in any pid namespace);
  //   EMFILE        (Linux) no descriptor was free to receive the child's
  //                 (the kernel drops what it cannot install) or to check
  //                 them; the child's handover is lost;
  //   the child's own errno if it could not make its handle.
  // The deadline holds however fast other processes send: each discarded
  // message is followed by a look at the clock.
  // All as Error(…, Step::accept_task, child.program()). Messages from any
  // process other than the child are discarded (and named in the error if
  // the child's never comes). With Start::at_once the child goes on as soon
  // as its handle is accepted. Throws Error(EINVAL) once a Task was
  // accepted or the Rendezvous ended (let_go()).
  Task accept(const Child& child, std::chrono::nanoseconds timeout);
  // The same for a child spawned by other means, known by its pid. It must
  // not be reaped while accept runs (its pid could be reused).
  Task accept(pid_t pid, std::chrono::nanoseconds timeout);

  // Lets a child that waits (Start::when_let_go) run on, and ends the
  // rendezvous: no accept() after it. Idempotent.
  void let_go() noexcept;

  // Without exceptions (taskport/error.hpp). create() is the constructor's
  // form; prepare() returns true where the throwing form returns `cmd`.
  static std::optional<Rendezvous> create(Start start, std::error_code& ec) noexcept;
  bool prepare(Command& cmd, std::error_code& ec) const noexcept;
  std::optional<ChildSetup> child_setup(std::error_code& ec) const noexcept;
  std::optional<Task> accept(const Child& child, std::chrono::nanoseconds timeout,
                             std::error_code& ec) noexcept;
  std::optional<Task> accept(pid_t pid, std::chrono::nanoseconds timeout, std::error_code& ec) noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---- the child's side -------------------------------------------------------

// Sends this process's task handle to the spawner that started it through a
// Rendezvous (or Command::task_via_preload). Call it early in main, before
// starting threads: it edits the environment. Returns false, doing nothing,
// if this process was not started through a rendezvous. Afterwards the
// rendezvous variables are gone from the environment and its descriptor is
// closed, so the program's own children neither see nor inherit them. If the
// spawner asked for it (Rendezvous::Start::when_let_go), waits until it
// lets this process go. Throws Error(errno, Step::send_task) if sending
// failed (the spawner then sees an error too).
//
// Linux: the handle is a pidfd of this process, an open /proc/self/mem and
// an open /proc/self/maps. To open /proc/self/mem a process that is not
// dumpable (prctl(PR_SET_DUMPABLE, 0), or credentials changed) becomes
// dumpable for the two opens and then is set back to not dumpable.
TASKPORT_API bool send_task_to_spawner();
// Without exceptions (taskport/error.hpp): the answer, or nothing with `ec`
// set.
TASKPORT_API std::optional<bool> send_task_to_spawner(std::error_code& ec) noexcept;

#if defined(__linux__)
// The variable that carries the descriptor number of the child's end.
inline constexpr const char* kRendezvousFdVariable = "TASKPORT_RENDEZVOUS_FD";

// The async-signal-safe core of send_task_to_spawner (Linux): sends over the
// rendezvous descriptor `rendezvous_fd` (read kRendezvousFdVariable before
// you fork), and with `wait_until_let_go` waits until the spawner lets
// this process go. Does not close the descriptor or edit the environment.
// Returns 0 or an errno value; no allocation, no locks, raw system calls
// only — usable in a forked child of a threaded parent.
//
// Only useful in a process that will *not* exec afterwards (a forked worker,
// a test fixture): the /proc/self/mem it sends names the current address
// space, which execve replaces (the spawner's Task then reads nothing).
TASKPORT_API int send_task_to_spawner_signal_safe(int rendezvous_fd, bool wait_until_let_go) noexcept;
#endif

// ---- the preload library ------------------------------------------------------

// The injected library Command::task_via_preload() uses (LD_PRELOAD on
// Linux, DYLD_INSERT_LIBRARIES on macOS, where every spawn_with_task()
// needs it): libtaskport_preload.so (.dylib), installed in
// <libdir>/taskport/. The first of these places that gives one:
//   1. the path last given to set_preload_library(), taken as it is;
//   2. $TASKPORT_PRELOAD_LIBRARY, taken as it is;
//   3. beside taskport itself, if the file is there: a shared libtaskport
//      looks in <its directory>/taskport/; an executable with a static
//      libtaskport in it (the taskport CLI) in <its directory>/../lib/taskport/
//      (the install layout: bin/ beside <libdir>);
//   4. where the CMake package said, if the file is there: an application
//      linking a static libtaskport through find_package(taskport) is told,
//      before main, the preload library of the prefix the package was found
//      in when the application was configured;
//   5. the configured install location,
//      <CMAKE_INSTALL_PREFIX>/<libdir>/taskport/libtaskport_preload.so.
// If none of 3-5 is there, preload_library() returns 5. No path of a build
// tree is compiled in: run from one (tests, the CLI in build/cli/), point 1
// or 2 at the build's copy. A spawn that needs the library and finds none
// throws Error(ENOENT, Step::rendezvous) naming each place it looked at and
// how to fix it.
TASKPORT_API std::string preload_library();
// Overrides preload_library() for this process; an empty path restores the
// default. Thread-safe.
TASKPORT_API void set_preload_library(std::string path);

}  // namespace taskport
