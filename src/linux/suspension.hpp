// SPDX-License-Identifier: MIT
// The state of a suspended task on Linux (see tracer.hpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>

namespace taskport::backend {

// The threads of one suspended task, each in a ptrace stop, attached by the
// tracer thread. Owned by Task::Impl while suspend_count > 0; created and
// ended (resume_all) only on the tracer thread.
struct Suspension {
  pid_t pid = 0;
  int pidfd = -1;  // borrowed from Task::Impl, which outlives the Suspension
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
};

}  // namespace taskport::backend
