// SPDX-License-Identifier: MIT
// The child's side of the Mach rendezvous (rendezvous_protocol.hpp): find the
// parent's port — by its bootstrap name (launchd) or in registered-port
// slot 2 —, send mach_task_self(), wait for "go".
//
// Used by the preload dylib's constructor (after exec, before main), by the
// cooperative API in a program that links taskport, and by fork_with_task's
// child. It allocates nothing and throws nothing, so the preload can run it
// before the program's own initialisers and without a C++ runtime.
#pragma once

#include <mach/mach.h>

namespace taskport::backend::rendezvous {

enum class ChildStep {
  done,             // the task port was sent and the parent said go
  look_up,          // bootstrap_look_up of the name failed (parent gone, wrong name)
  registered_port,  // mach_ports_lookup failed, or slot 2 held no port
  reply_port,       // allocating the reply port failed
  send,             // sending the task port failed or timed out
  await_go,         // no go arrived within kChildGoTimeoutMs
};

struct ChildOutcome {
  ChildStep step = ChildStep::done;
  kern_return_t kr = KERN_SUCCESS;  // of the failed step
  // The parent dropped its reply right without sending go (it gave up, or
  // died): the kernel's send-once notification arrived instead.
  bool parent_gone = false;

  bool ok() const noexcept { return step == ChildStep::done && !parent_gone; }
};

// Runs the child's side with the service `name` (launchd route); with
// `wait`, then waits for the parent's go. Never throws, never allocates
// memory of its own (libSystem's bootstrap_look_up may).
ChildOutcome send_task_port(const char* name, bool wait) noexcept;

// The same through the registered-ports route: the parent's port is in
// slot 2 of this task's registered ports, which is cleared (slots 0 and 1
// are registered again as they were) before anything is sent, so that the
// program's own children never inherit it.
ChildOutcome send_task_port_to_registered(bool wait) noexcept;

// The rendezvous this process was started with, if any: reads
// TASKPORT_RENDEZVOUS_NAME (or TASKPORT_RENDEZVOUS_PORT_SLOT) and
// TASKPORT_RENDEZVOUS_WAIT, removes them from the environment, and runs
// send_task_port (or send_task_port_to_registered). Returns false (doing
// nothing) when neither route's variable is present. Not
// async-signal-safe (getenv, unsetenv): for a library constructor or early
// in main.
bool send_from_environment(ChildOutcome& outcome) noexcept;

}  // namespace taskport::backend::rendezvous
