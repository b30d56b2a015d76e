// SPDX-License-Identifier: MIT
// The state of a suspended task on Linux (see tracer.hpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>

namespace taskport::backend {

// The threads of one suspended task, each attached (PTRACE_SEIZE, or the
// child's PTRACE_TRACEME) by the tracer thread and in a ptrace stop — or a
// zombie the tracer has not reaped yet. Owned by Task::Impl while
// suspend_count > 0; created and ended (resume_all) only on the tracer
// thread. Threads that resume_all cannot let go at once (killed, or not yet
// at the stop they were asked for) stay in it, and it stays with the tracer
// until each of them is detached or reaped.
struct Suspension {
  pid_t pid = 0;
  // Borrowed from Task::Impl, which outlives the Suspension; -1 once the
  // tracer keeps the Suspension after the Task's resume (resume_all).
  int pidfd = -1;
  // The task is our own child: the tracer never reaps its main thread (that
  // exit status belongs to Child::wait).
  bool leader_is_child = false;
  struct Thread {
    int pending_signal = 0;  // a signal intercepted while stopping: re-injected at detach
  };
  std::map<pid_t, Thread> threads;
  // Start suspended: the main thread is attached by PTRACE_TRACEME and sits in
  // the post-exec SIGTRAP stop with every signal blocked but SIGTRAP; resume_all
  // gives it this mask back and suppresses the SIGTRAP.
  bool from_exec = false;
  std::uint64_t exec_mask = 0;
  // The tracer's list of Suspensions it keeps after their resume (tracer.cpp).
  std::unique_ptr<Suspension> next_kept;
};

}  // namespace taskport::backend
