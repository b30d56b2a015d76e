// SPDX-License-Identifier: MIT
// taskport — fork a child that runs a function (no exec) and get its task.
#pragma once

#include <functional>
#include <optional>
#include <system_error>
#include <utility>

#include "taskport/child.hpp"
#include "taskport/export.hpp"
#include "taskport/task.hpp"

namespace taskport {

// Forks this process; the child runs `fn` and exits with its return value
// (_exit: no atexit handlers, no static destructors, stdio buffers are not
// flushed). Returns the Child and its Task once the child has handed over
// its task handle, which it does first thing, before `fn` runs.
//
// The use case: a test fixture for memory readers — a process whose memory
// you control, without writing a separate program. Because no exec follows,
// a handle taken in the child stays valid (see taskport/rendezvous.hpp for
// why that matters): the child sends its own handle, just as a rendezvous
// child would after exec. Linux: a pidfd it made of itself (no pid-reuse
// race, unlike a parent-side pidfd_open after fork) plus an open
// /proc/self/mem and /proc/self/maps, so the Task keeps reading and writing
// the child's memory even after `fn` drops privileges or makes itself
// non-dumpable. Reads use process_vm_readv while it works and switch to the
// handed-over mem fd when it is refused. macOS (compile-checked only): the child sends
// mach_task_self() (valid: no exec) through launchd only — a forked child
// inherits none of this process's port rights, so the registered-ports
// route is not used; in a sandbox without mach-register fork_with_task
// fails with Error(EPERM, Step::rendezvous).
//
// Hazards of fork without exec — the same as for any fork():
//   * Only the calling thread exists in the child. If this process has
//     other threads (taskport's own reaper and tracer threads count; so do
//     thread pools, gRPC, logging), anything they held locked stays locked
//     forever in the child: call only async-signal-safe functions in `fn`
//     (signal-safety(7)) — no malloc/new, no stdio/iostreams, no locks, no
//     taskport calls. glibc's fork makes malloc usable in practice, but
//     other libraries' locks are not.
//   * In a single-threaded process `fn` may do anything.
//   * Sanitizers: ThreadSanitizer aborts a child that starts threads after
//     a multi-threaded fork; under ASan/LSan the child exits through _exit,
//     so no leak report is made for it.
//   * The child shares the parent's open descriptors (they are not
//     close-on-exec'd: no exec), file locks excepted; it should close what
//     it must not hold (e.g. the write end of a pipe whose EOF the parent
//     awaits).
//   * An exception that escapes `fn` terminates the child (std::terminate:
//     killed by SIGABRT).
//   * The child copies the parent's page tables: the fork costs about
//     6-7 ms per GiB of the parent's memory (spawn_with_task does not).
//
// Throws Error(errno, Step::rendezvous) if the handover channel cannot be
// made, Error(errno, Step::fork) if fork fails (both name this process:
// "pid <N>"), Error(…, Step::accept_task) if the child dies before handing
// over its handle (it is killed and reaped first). The Child's program() and
// the Task's errors name the child as "pid <N>".
TASKPORT_API std::pair<Child, Task> fork_with_task(const std::function<int()>& fn);
// Without exceptions (taskport/error.hpp).
TASKPORT_API std::optional<std::pair<Child, Task>> fork_with_task(const std::function<int()>& fn,
                                                                  std::error_code& ec) noexcept;

}  // namespace taskport
