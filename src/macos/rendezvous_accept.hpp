// SPDX-License-Identifier: MIT
// Turning a Mach rendezvous receive into a Task, or into the Error the
// rendezvous API promises (taskport/rendezvous.hpp: ESRCH, ETIMEDOUT,
// EPROTO, all Step::accept_task). Shared by Rendezvous::accept,
// spawn_with_task (preload) and fork_with_task.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "macos/mach_port.hpp"
#include "macos/rendezvous_server.hpp"
#include "taskport/task.hpp"

namespace taskport::backend {

struct Expectation {
  pid_t pid = -1;
  int exit_fd = -1;           // readable once the process exits (exit_watch.hpp)
  bool is_our_child = false;  // its exit status can be quoted (waitid WNOWAIT)
  std::chrono::steady_clock::time_point deadline;
  std::string name;  // the program, for Error
  std::string hint;  // appended to "never sent" errors
};

// Waits for the expected process's task port on `server`. On success the
// handoff's task right is returned with the reply right (if the child
// waits). Throws Error(…, Step::accept_task, name) as rendezvous.hpp says.
rendezvous::Handoff accept_handoff(rendezvous::Server& server, const Expectation& expect);

// The Task for an accepted task port of process `pid` (which must not have
// been reaped: its exit watch is registered by pid); `program` is its
// Error::program() (taskport/error.hpp).
Task make_task(SendRight port, pid_t pid, std::string program);

}  // namespace taskport::backend
