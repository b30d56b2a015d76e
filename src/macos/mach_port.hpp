// SPDX-License-Identifier: MIT
// Owned Mach port rights: one small move-only scoper per kind of right, so
// that no path — error, exception or early return — leaks a right (as
// Chromium's ScopedMachSendRight / ScopedMachReceiveRight).
//
// Why three kinds: the kernel counts each kind separately in the name's
// entry, and each is released differently. mach_port_deallocate() drops one
// send or send-once reference; a receive right needs mach_port_mod_refs(
// MACH_PORT_RIGHT_RECEIVE, -1), which also destroys the port (senders then
// hold dead names, launchd drops a registration made for it). Calling
// mach_port_deallocate on a name holding send+receive would drop only the
// send right and leak the receive right (the seed crate's leak).
#pragma once

#include <mach/mach.h>

#include <utility>

namespace taskport::backend {

// A send right (one user reference). Releases it with mach_port_deallocate.
class SendRight {
 public:
  SendRight() noexcept = default;
  explicit SendRight(mach_port_t name) noexcept : name_(name) {}
  SendRight(SendRight&& other) noexcept : name_(other.release()) {}
  SendRight& operator=(SendRight&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  SendRight(const SendRight&) = delete;
  SendRight& operator=(const SendRight&) = delete;
  ~SendRight() { reset(); }

  mach_port_t get() const noexcept { return name_; }
  bool valid() const noexcept { return MACH_PORT_VALID(name_); }
  explicit operator bool() const noexcept { return valid(); }
  mach_port_t release() noexcept { return std::exchange(name_, MACH_PORT_NULL); }
  void reset(mach_port_t name = MACH_PORT_NULL) noexcept;

 private:
  mach_port_t name_ = MACH_PORT_NULL;
};

// A send-once right: consumed by sending a message through it
// (MACH_MSG_TYPE_MOVE_SEND_ONCE; then call release()), or destroyed by
// reset(), which makes the kernel send a send-once notification to the
// receiver — so a peer waiting for a reply is never left waiting.
class SendOnceRight {
 public:
  SendOnceRight() noexcept = default;
  explicit SendOnceRight(mach_port_t name) noexcept : name_(name) {}
  SendOnceRight(SendOnceRight&& other) noexcept : name_(other.release()) {}
  SendOnceRight& operator=(SendOnceRight&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  SendOnceRight(const SendOnceRight&) = delete;
  SendOnceRight& operator=(const SendOnceRight&) = delete;
  ~SendOnceRight() { reset(); }

  mach_port_t get() const noexcept { return name_; }
  bool valid() const noexcept { return MACH_PORT_VALID(name_); }
  mach_port_t release() noexcept { return std::exchange(name_, MACH_PORT_NULL); }
  void reset(mach_port_t name = MACH_PORT_NULL) noexcept;

 private:
  mach_port_t name_ = MACH_PORT_NULL;
};

// A receive right. reset() destroys the port: queued messages (and the
// rights they carry) are destroyed, senders see a dead name, and a
// bootstrap registration of the port (bootstrap_check_in) goes away.
class ReceiveRight {
 public:
  ReceiveRight() noexcept = default;
  explicit ReceiveRight(mach_port_t name) noexcept : name_(name) {}
  ReceiveRight(ReceiveRight&& other) noexcept : name_(other.release()) {}
  ReceiveRight& operator=(ReceiveRight&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ReceiveRight(const ReceiveRight&) = delete;
  ReceiveRight& operator=(const ReceiveRight&) = delete;
  ~ReceiveRight() { reset(); }

  mach_port_t get() const noexcept { return name_; }
  bool valid() const noexcept { return MACH_PORT_VALID(name_); }
  explicit operator bool() const noexcept { return valid(); }
  mach_port_t release() noexcept { return std::exchange(name_, MACH_PORT_NULL); }
  void reset(mach_port_t name = MACH_PORT_NULL) noexcept;

 private:
  mach_port_t name_ = MACH_PORT_NULL;
};

}  // namespace taskport::backend
