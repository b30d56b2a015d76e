// SPDX-License-Identifier: MIT
// The tracer: every ptrace request of the library runs on one thread.
//
// Why one thread: a ptrace tracer is a thread, not a process — after
// PTRACE_SEIZE (or a child's PTRACE_TRACEME) every later request (interrupt,
// getregs, setsigmask, detach) must come from the very thread that became
// the tracer. Users call suspend/resume/registers from any thread, so all of
// them are routed here, and so is the clone of a start-suspended child.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "linux/suspension.hpp"
#include "linux/task_impl.hpp"
#include "taskport/thread.hpp"

namespace taskport::backend {

// Runs `job` on the tracer thread and waits for it; rethrows what it throws.
// Called on the tracer thread itself, runs `job` inline.
void run_on_tracer(const std::function<void()>& job);

// On the tracer thread: stops every thread of the task (PTRACE_SEIZE +
// PTRACE_INTERRUPT, repeated until a listing shows no thread left running).
// On failure every thread stopped so far runs again before the throw.
std::unique_ptr<Suspension> suspend_all(const Task::Impl& task);

// Registers a suspension created elsewhere (start suspended) so the tracer
// watches it for exited threads.
void adopt(Suspension& s);

// On the tracer thread: lets every thread run again (PTRACE_DETACH),
// re-injecting intercepted signals; reaps threads that exited meanwhile.
// Never throws.
void resume_all(std::unique_ptr<Suspension> s) noexcept;

#if defined(__x86_64__) || defined(__aarch64__)
// On the tracer thread: PTRACE_GETREGSET(NT_PRSTATUS) of a stopped thread.
Registers get_registers(const Suspension& s, pid_t tid, const std::string& program);
#endif

}  // namespace taskport::backend
