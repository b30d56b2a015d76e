// SPDX-License-Identifier: MIT
#include "macos/mach_port.hpp"

namespace taskport::backend {

// The kern_return_t of each release is ignored on purpose: the only failure
// is a name that no longer holds the right (a bug elsewhere), and a
// destructor has nobody to report to.

void SendRight::reset(mach_port_t name) noexcept {
  if (MACH_PORT_VALID(name_)) ::mach_port_deallocate(mach_task_self(), name_);
  name_ = name;
}

void SendOnceRight::reset(mach_port_t name) noexcept {
  if (MACH_PORT_VALID(name_)) ::mach_port_deallocate(mach_task_self(), name_);
  name_ = name;
}

void ReceiveRight::reset(mach_port_t name) noexcept {
  if (MACH_PORT_VALID(name_)) ::mach_port_mod_refs(mach_task_self(), name_, MACH_PORT_RIGHT_RECEIVE, -1);
  name_ = name;
}

}  // namespace taskport::backend
