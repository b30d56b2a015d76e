// SPDX-License-Identifier: MIT
// The code that runs in the child between clone and execve.
//
// INVARIANT: this runs on a private stack in the parent's address space
// (CLONE_VM) while the spawning thread is suspended (CLONE_VFORK) and the
// parent's other threads run on. It must not allocate, take a lock, touch
// errno-dependent libc state beyond the calling thread's own errno, or call
// anything that is not async-signal-safe. It issues raw system calls only —
// that also keeps sanitizer interceptors (which take locks) out of the child;
// child_exec.cpp is compiled without sanitizer instrumentation for the same
// reason. It writes to exactly two places in the parent's memory: the
// ChildReport, and the ExecPlan's scratch arrays.
#pragma once

#include <cstdint>
#include <vector>

#include "linux/exec_plan.hpp"
#include "linux/spawn_timing.hpp"
#include "taskport/error.hpp"

namespace taskport::backend {

// What the child tells the parent through shared memory. The parent reads it
// only after clone(CLONE_VFORK) returned, i.e. after the child has exec'd or
// exited; the kernel's vfork completion orders the child's writes before.
struct ChildReport {
  Step step = Step::signal_reset;  // the step the child is in (or failed in)
  int error = 0;                   // errno of the failed step
  bool failed = false;             // the child reported a failure and _exit'ed
#if defined(TASKPORT_SPAWN_TIMING)
  std::uint64_t stamps[timing::kPoints] = {};  // the child's points (spawn_timing.hpp)
#endif
};

struct ChildContext {
  ExecPlan* plan = nullptr;
  ChildReport* report = nullptr;
  std::uint64_t parent_mask = 0;  // the spawning thread's mask before clone
  int pidfd_socket = -1;          // CLONE_PIDFD fallback: send our pidfd here
  // clone3 with CLONE_CLEAR_SIGHAND made the child: the kernel has reset its
  // handlers already (clone3.hpp), the child skips reset_signal_handlers.
  bool handlers_reset_by_kernel = false;
  std::vector<int>* scratch = nullptr;  // one slot per redirect, sized by the parent
};

// clone() entry point; `arg` is a ChildContext*. Never returns.
extern "C" int taskport_child_entry(void* arg) noexcept;

}  // namespace taskport::backend
