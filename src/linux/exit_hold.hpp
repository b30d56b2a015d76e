// SPDX-License-Identifier: MIT
// The state of a task held at its exit on Linux (Task::hold_at_exit; see
// tracer.hpp).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>

#include "taskport/task.hpp"

namespace taskport::backend {

// Every thread of one process, attached by the tracer thread with
// PTRACE_SEIZE and PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE and running on:
// the tracer passes on each stop the kernel makes for it (signals, new
// threads, group stops, a lone thread's exit) and keeps the process's last
// thread in its exit stop. Owned by Task::Impl while the hold lasts;
// created, changed and ended (release_hold) only on the tracer thread, but
// for `held`, which any thread may read.
struct ExitHold {
  pid_t pid = 0;
  // The Task::Impl it was made for, which outlives it (its /proc access).
  const Task::Impl* task = nullptr;
  // The task is our own child: the tracer never reaps its main thread (that
  // exit status belongs to Child::wait).
  bool leader_is_child = false;
  // Borrowed from Task::Impl: an eventfd the tracer writes once the process
  // is held at its exit.
  int event_fd = -1;
  struct Thread {
    bool at_exit = false;  // in its exit stop, kept there (the process's exit, or deciding)
    std::chrono::steady_clock::time_point exit_seen;  // when at_exit was set
    bool exiting = false;        // let go from its exit stop: it ends (a lone thread's exit)
    bool needs_options = false;  // ours from before the hold: options set at its next stop
  };
  std::map<pid_t, Thread> threads;
  // The process reached its exit and its last thread is kept there.
  std::atomic<bool> held{false};
};

}  // namespace taskport::backend
