// SPDX-License-Identifier: MIT
// The parent's side of the registered-ports route of the rendezvous
// (rendezvous_protocol.hpp): passing a send right to the rendezvous port in
// slot 2 of the child's registered ports, with posix_spawn.
//
// Registered ports are three send rights a task holds for its children
// (mach_ports_register / mach_ports_lookup). Every new task inherits all
// three from its parent — at fork, at posix_spawn and at exec (xnu
// osfmk/kern/ipc_tt.c ipc_task_init: "inherit registered ports") — and the
// posix_spawn attribute replaces all three in the child (bsd/kern/
// kern_exec.c exec_handle_spawnattr_policy → _kernelrpc_mach_ports_register3
// with the PSPA_REGISTERED_PORTS port actions; slots not given become
// MACH_PORT_NULL). So the child gets this process's own slots 0 and 1 and
// the rendezvous port in slot 2, and the route needs this process's own
// slot 2 to be empty (else the child would lose what it would otherwise
// inherit there). No launchd, no sandbox rule: _kernelrpc_mach_ports_
// register3 checks only that the rights are movable and the task alive.
#pragma once

#include <mach/mach.h>
#include <spawn.h>

#include <string>

#include "macos/mach_port.hpp"
#include "macos/rendezvous_protocol.hpp"
#include "taskport/error.hpp"

namespace taskport::backend {

// This process's registered ports, each a send right of ours
// (mach_ports_lookup hands out a new one per non-null slot, in an array it
// allocates: libsyscall/mach/task.c), held until destroyed.
class OwnRegisteredPorts {
 public:
  // Throws Error(errno, `step`, program) if mach_ports_lookup fails.
  OwnRegisteredPorts(const std::string& program, Step step);
  OwnRegisteredPorts(const OwnRegisteredPorts&) = delete;
  OwnRegisteredPorts& operator=(const OwnRegisteredPorts&) = delete;

  mach_port_t slot(unsigned i) const noexcept { return slots_[i].get(); }
  // Throws Error(EBUSY, `step`, program) if slot 2 holds a port: the route
  // would replace it in the child.
  void require_free_rendezvous_slot(const std::string& program, Step step) const;

 private:
  SendRight slots_[rendezvous::kRegisteredPortSlots];
};

// Sets the child's registered ports on `attr`: `own` slots 0 and 1, and
// `rendezvous` in slot 2. posix_spawnattr_set_registered_ports_np is
// private SPI (libsyscall/wrappers/spawn/spawn_private.h, macOS 10.15+),
// looked up with dlsym. Throws Error(Step::spawn_attributes): ENOTSUP if
// libSystem has no such function, else its errno.
void set_registered_ports(posix_spawnattr_t* attr, const OwnRegisteredPorts& own, mach_port_t rendezvous,
                          const std::string& program);

}  // namespace taskport::backend
