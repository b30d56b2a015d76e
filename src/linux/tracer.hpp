// SPDX-License-Identifier: MIT
// The tracer: every ptrace request of the library runs on one thread.
//
// Why one thread: a ptrace tracer is a thread, not a process — after
// PTRACE_SEIZE (or a child's PTRACE_TRACEME) every later request (interrupt,
// getregs, setsigmask, detach) must come from the very thread that became
// the tracer. Users call suspend/resume/registers from any thread, so all of
// them are routed here, and so is the clone of a start-suspended child.
//
// The rules it keeps (issue 10):
//   * every thread it attaches is accounted for until it is detached or
//     reaped: a thread that exits while suspended, while being suspended or
//     while being resumed is a traced zombie only its tracer can reap (and
//     until it is reaped its process cannot be reaped either);
//   * a stop is what the kernel says the thread is in (PTRACE_GETSIGINFO
//     succeeds only in a ptrace stop), not a wait report: an application's
//     SIGCHLD handler that loops waitpid(-1, WNOHANG) takes those;
//   * no WEXITED wait that could consume a ptrace stop (the kernel reports a
//     tracee's stops to every wait of its tracer, WEXITED or not:
//     kernel/exit.c wait_task_stopped); exits are peeked at with WNOWAIT
//     first, and only a zombie is reaped (__WNOTHREAD: never a child of
//     another thread);
//   * resume leaves no thread stopped: a thread that cannot be detached at
//     once is kept and let go (or reaped) as soon as it can be;
//   * the thread starts at the first request; if the kernel refuses it
//     (EAGAIN, ENOMEM) the request fails with an Error and the next one
//     tries again; a process forked from this one gets a tracer of its own.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "linux/exit_hold.hpp"
#include "linux/suspension.hpp"
#include "linux/task_impl.hpp"
#include "taskport/error.hpp"
#include "taskport/thread.hpp"

namespace taskport::backend {

// Runs `job` on the tracer thread and waits for it; rethrows what it throws.
// Called on the tracer thread itself, runs `job` inline. If the tracer
// thread cannot be started: Error(errno, step, program).
void run_on_tracer(const std::function<void()>& job, Step step, const std::string& program);

// On the tracer thread: stops every thread of the task (PTRACE_SEIZE +
// PTRACE_INTERRUPT, repeated until a listing shows no thread left running).
// On failure every thread stopped so far runs again before the throw.
std::unique_ptr<Suspension> suspend_all(const Task::Impl& task);

// On the tracer thread: registers a suspension created elsewhere (start
// suspended) so the tracer watches it for exited threads. Throws
// Error(ENOMEM, Step::await_exec_stop) if it cannot.
void adopt(Suspension& s, const std::string& program);

// On the tracer thread: lets every thread run again (PTRACE_DETACH),
// re-injecting intercepted signals; a thread that cannot be let go yet is
// kept by the tracer until it is detached or reaped. The threads of a
// process held for its exit go back to the hold instead (PTRACE_CONT;
// one in its exit stop stays there). Never throws.
void resume_all(std::unique_ptr<Suspension> s) noexcept;

// On the tracer thread: starts holding `task` at its exit (PTRACE_SEIZE
// with PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE of every thread, repeated
// until a listing shows none left; or, if `suspended` is its suspension,
// the options set on the threads it holds). The tracer then passes on every
// stop and keeps the last thread in its exit stop, writing to `event_fd`.
// On failure every thread attached so far is let go before the throw
// (Error in Step::hold_at_exit).
std::unique_ptr<ExitHold> hold_all(const Task::Impl& task, Suspension* suspended, int event_fd);

// On the tracer thread: ends the hold; every thread is let go (a thread of
// a suspension stays in it, and its resume lets it go). Never throws.
void release_hold(std::unique_ptr<ExitHold> h) noexcept;

#if defined(__x86_64__) || defined(__aarch64__)
// On the tracer thread: PTRACE_GETREGSET(NT_PRSTATUS) of a stopped thread.
Registers get_registers(const Suspension& s, pid_t tid, const std::string& program);
// On the tracer thread: the registers of every thread of `s`, by tid; a
// thread that has exited (PTRACE_GETREGSET: ESRCH) is skipped. Error(ESRCH)
// if none is left.
std::vector<ThreadRegisters> get_all_registers(const Suspension& s, const std::string& program);
#endif

// On the tracer thread: true if `tid`, a tracee of this thread, is in a
// ptrace stop; `*signal` is then the signal it stopped to deliver (0 for an
// event stop: PTRACE_INTERRUPT, a group stop).
bool in_ptrace_stop(pid_t tid, int* signal) noexcept;

}  // namespace taskport::backend
