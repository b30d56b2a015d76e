// SPDX-License-Identifier: MIT
// Owned Mach port rights: one move-only scoper, MachRight<Traits>, and one
// kind of it per right, so that no path — error, exception or early
// return — leaks a right (as Chromium's ScopedMachSendRight /
// ScopedMachReceiveRight).
//
// Why kinds: the kernel counts each kind separately in the name's entry,
// and each is destroyed differently. mach_port_deallocate() drops one send
// or send-once reference; a receive right needs mach_port_mod_refs(
// MACH_PORT_RIGHT_RECEIVE, -1), which also destroys the port (senders then
// hold dead names, launchd drops a registration made for it). Calling
// mach_port_deallocate on a name holding send+receive would drop only the
// send right and leak the receive right (the seed crate's leak).
// (apple-oss-distributions/xnu, osfmk/ipc/ipc_right.c: ipc_right_dealloc
// drops a send, send-once or dead-name reference only;
// ipc_right_delta(MACH_PORT_RIGHT_RECEIVE, -1) destroys the port.)
#pragma once

#include <mach/mach.h>

#include <utility>

namespace taskport::backend {

// Holds one right of the kind Traits describes: Traits::destroy(name)
// destroys it. release() gives it up without destroying it (for a right a
// message has consumed, or that is handed on).
template <class Traits>
class MachRight {
 public:
  MachRight() noexcept = default;
  explicit MachRight(mach_port_t name) noexcept : name_(name) {}
  MachRight(MachRight&& other) noexcept : name_(other.release()) {}
  MachRight& operator=(MachRight&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  MachRight(const MachRight&) = delete;
  MachRight& operator=(const MachRight&) = delete;
  ~MachRight() { reset(); }

  mach_port_t get() const noexcept { return name_; }
  bool valid() const noexcept { return MACH_PORT_VALID(name_); }
  explicit operator bool() const noexcept { return valid(); }
  mach_port_t release() noexcept { return std::exchange(name_, MACH_PORT_NULL); }
  // Destroys the held right (if any) and holds `name`.
  void reset(mach_port_t name = MACH_PORT_NULL) noexcept {
    if (MACH_PORT_VALID(name_)) Traits::destroy(name_);
    name_ = name;
  }

 private:
  mach_port_t name_ = MACH_PORT_NULL;
};

// The kern_return_t of each destroy is ignored on purpose: the only failure
// is a name that no longer holds the right (a bug elsewhere), and a
// destructor has nobody to report to.

// A send right (one user reference).
struct SendRightTraits {
  static void destroy(mach_port_t name) noexcept { ::mach_port_deallocate(mach_task_self(), name); }
};
using SendRight = MachRight<SendRightTraits>;

// A send-once right: consumed by sending a message through it
// (MACH_MSG_TYPE_MOVE_SEND_ONCE; then call release()), or destroyed by
// reset(), which makes the kernel send a send-once notification to the
// receiver — so a peer waiting for a reply is never left waiting.
struct SendOnceRightTraits : SendRightTraits {};
using SendOnceRight = MachRight<SendOnceRightTraits>;

// A receive right. reset() destroys the port: queued messages (and the
// rights they carry) are destroyed, senders see a dead name, and a
// bootstrap registration of the port (bootstrap_check_in) goes away.
struct ReceiveRightTraits {
  static void destroy(mach_port_t name) noexcept {
    ::mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
  }
};
using ReceiveRight = MachRight<ReceiveRightTraits>;

}  // namespace taskport::backend
