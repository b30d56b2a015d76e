// SPDX-License-Identifier: MIT
// Turning a Mach rendezvous receive into a Task, or into the Error the
// rendezvous API promises (taskport/rendezvous.hpp: ESRCH, ETIMEDOUT,
// EPROTO, all Step::accept_task; worded in common/handover.hpp). Shared by
// Rendezvous::accept, spawn_with_task (preload) and fork_with_task.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/handover.hpp"
#include "macos/mach_port.hpp"
#include "macos/rendezvous_server.hpp"
#include "taskport/task.hpp"

namespace taskport::backend::rendezvous {

using common::Expectation;

// Waits for the expected process's task port on `server` until
// expect.deadline (which must be set). On success the handoff's task right
// is returned with the reply right (if the child waits) and the identity it
// was checked to name. Throws Error(…, Step::accept_task, name) as
// rendezvous.hpp says; ESRCH also for a task port whose task ended before
// it could be checked (a child that sent and exited at once: its pid is
// gone from pid_for_task's view by then).
Handoff accept_handoff(Server& server, const Expectation& expect);

// The words that open the detail of that last ESRCH: the child did send
// (a caller adding hints about a child that never sent leaves this alone).
inline constexpr const char* kSentButEnded = "the child sent its task port, but ";

// The Task for an accepted task port of the task `identity` (whose process
// must not have been reaped: its exit watch is registered by pid);
// `program` is its Error::program() (taskport/error.hpp).
Task make_task(SendRight port, const TaskIdentity& identity, std::string program);

}  // namespace taskport::backend::rendezvous
