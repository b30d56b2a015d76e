// SPDX-License-Identifier: MIT
#include "macos/registered_ports.hpp"

#include <dlfcn.h>
#include <errno.h>

#include "macos/mach_error.hpp"
#include "taskport/error.hpp"

namespace taskport::backend {
namespace {

// libsyscall/wrappers/spawn/spawn_private.h:
//   int posix_spawnattr_set_registered_ports_np(posix_spawnattr_t * __restrict attr,
//       mach_port_t portarray[], uint32_t count) __API_AVAILABLE(macos(10.15));
// (posix_spawn.c: count > TASK_PORT_REGISTER_MAX → EINVAL; one
// PSPA_REGISTERED_PORTS port action per entry).
using SetRegisteredPorts = int (*)(posix_spawnattr_t*, mach_port_t[], std::uint32_t);

SetRegisteredPorts set_registered_ports_function() noexcept {
  // Resolved once; a missing symbol stays nullptr.
  static const auto fn =
      reinterpret_cast<SetRegisteredPorts>(::dlsym(RTLD_DEFAULT, "posix_spawnattr_set_registered_ports_np"));
  return fn;
}

}  // namespace

OwnRegisteredPorts::OwnRegisteredPorts(const std::string& program, Step step) {
  mach_port_array_t ports = nullptr;
  mach_msg_type_number_t count = 0;
  const kern_return_t kr = ::mach_ports_lookup(mach_task_self(), &ports, &count);
  if (kr != KERN_SUCCESS) throw kern_error(kr, step, program, "mach_ports_lookup of this process");
  for (mach_msg_type_number_t i = 0; i < count; ++i) {
    if (i < rendezvous::kRegisteredPortSlots) {
      slots_[i].reset(ports[i]);
    } else {
      SendRight(ports[i]).reset();  // more slots than xnu has: not ours to pass on
    }
  }
  ::vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(ports), count * sizeof(mach_port_t));
}

void OwnRegisteredPorts::require_free_rendezvous_slot(const std::string& program, Step step) const {
  if (!slots_[rendezvous::kRegisteredSlot].valid()) return;
  throw Error(EBUSY, step, program,
              "registered port slot 2 of this process is in use (mach_ports_lookup): the registered-ports "
              "route of the rendezvous passes its port there and would take the slot's port from the child; "
              "use the launchd route (Command::MachRoute::launchd)");
}

void set_registered_ports(posix_spawnattr_t* attr, const OwnRegisteredPorts& own, mach_port_t rendezvous,
                          const std::string& program) {
  const SetRegisteredPorts fn = set_registered_ports_function();
  if (fn == nullptr) {
    throw Error(
        ENOTSUP, Step::spawn_attributes, program,
        "posix_spawnattr_set_registered_ports_np is not in libSystem (macOS 10.15 or later needed for "
        "the registered-ports route)");
  }
  mach_port_t ports[rendezvous::kRegisteredPortSlots] = {own.slot(0), own.slot(1), rendezvous};
  if (const int rc = fn(attr, ports, rendezvous::kRegisteredPortSlots); rc != 0) {
    throw Error(rc, Step::spawn_attributes, program, "posix_spawnattr_set_registered_ports_np");
  }
}

}  // namespace taskport::backend
