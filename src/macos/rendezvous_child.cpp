// SPDX-License-Identifier: MIT
#include "macos/rendezvous_child.hpp"

#include <servers/bootstrap.h>
#include <stdlib.h>

#include <cstring>

#include "macos/rendezvous_protocol.hpp"

namespace taskport::backend::rendezvous {
namespace {

// Plain deallocations, not the scopers of mach_port.hpp: this file is also
// compiled into the preload dylib, which is kept free of anything but
// libSystem calls.
void drop_send(mach_port_t name) noexcept {
  if (MACH_PORT_VALID(name)) ::mach_port_deallocate(mach_task_self(), name);
}
void drop_receive(mach_port_t name) noexcept {
  if (MACH_PORT_VALID(name)) ::mach_port_mod_refs(mach_task_self(), name, MACH_PORT_RIGHT_RECEIVE, -1);
}

// The port to send for this task, and how. Since macOS 11/12 the port
// mach_task_self() returns may be *immovable* (xnu's control port options):
// copying it into a message then fails, or raises a guard exception. The
// task's control port as task_get_special_port(TASK_KERNEL_PORT) returns it
// is a separate, movable send right to the same task: send that (moving our
// own reference), and fall back to copying mach_task_self() where the call
// fails.
struct SelfPort {
  mach_port_t name = MACH_PORT_NULL;
  mach_msg_type_name_t disposition = MACH_MSG_TYPE_COPY_SEND;
};

SelfPort self_port() noexcept {
  SelfPort p;
  mach_port_t movable = MACH_PORT_NULL;
  if (::task_get_special_port(mach_task_self(), TASK_KERNEL_PORT, &movable) == KERN_SUCCESS &&
      MACH_PORT_VALID(movable)) {
    p.name = movable;
    p.disposition = MACH_MSG_TYPE_MOVE_SEND;
  } else {
    p.name = mach_task_self();
  }
  return p;
}

kern_return_t send_task_message(mach_port_t server, mach_port_t reply) noexcept {
  const SelfPort self = self_port();
  TaskPortMessage msg;
  std::memset(&msg, 0, sizeof msg);
  // The reply right is made only when the child will wait for go.
  const mach_msg_type_name_t reply_type = MACH_PORT_VALID(reply) ? MACH_MSG_TYPE_MAKE_SEND_ONCE : 0;
  msg.header.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, reply_type) | MACH_MSGH_BITS_COMPLEX;
  msg.header.msgh_size = sizeof msg;
  msg.header.msgh_remote_port = server;
  msg.header.msgh_local_port = reply;
  msg.header.msgh_id = kTaskPortMessageId;
  msg.body.msgh_descriptor_count = 1;
  msg.task.name = self.name;
  msg.task.disposition = self.disposition;
  msg.task.type = MACH_MSG_PORT_DESCRIPTOR;
  kern_return_t kr;
  do {
    kr = ::mach_msg(&msg.header, MACH_SEND_MSG | MACH_SEND_TIMEOUT | MACH_SEND_INTERRUPT, sizeof msg, 0,
                    MACH_PORT_NULL, kChildSendTimeoutMs, MACH_PORT_NULL);
  } while (kr == MACH_SEND_INTERRUPTED);
  // A message that was not sent leaves (or hands back) the moved right in
  // our space: deallocate it. Nothing else in this process runs meanwhile (a
  // library constructor, or a freshly forked child), so the name cannot
  // have been reused.
  if (kr != MACH_MSG_SUCCESS && self.disposition == MACH_MSG_TYPE_MOVE_SEND) drop_send(self.name);
  return kr;
}

// Waits for go. Returns KERN_SUCCESS with parent_gone set when the send-once
// notification arrived instead (the parent destroyed its reply right).
kern_return_t await_go(mach_port_t reply, bool& parent_gone) noexcept {
  ReceivedGoMessage in;
  while (true) {
    std::memset(&in, 0, sizeof in);
    kern_return_t kr = ::mach_msg(&in.message.header, MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_INTERRUPT, 0,
                                  sizeof in, reply, kChildGoTimeoutMs, MACH_PORT_NULL);
    if (kr == MACH_RCV_INTERRUPTED) continue;
    if (kr == MACH_RCV_TOO_LARGE) continue;  // destroyed by the kernel; not ours
    if (kr != MACH_MSG_SUCCESS) return kr;
    const mach_msg_id_t id = in.message.header.msgh_id;
    if (id == kGoMessageId && !(in.message.header.msgh_bits & MACH_MSGH_BITS_COMPLEX)) return KERN_SUCCESS;
    // Only the parent ever held a send right to this port (the send-once
    // right it received); so the only other message is the kernel's
    // notification that the right died unused.
    ::mach_msg_destroy(&in.message.header);
    if (id == MACH_NOTIFY_SEND_ONCE) {
      parent_gone = true;
      return KERN_SUCCESS;
    }
  }
}

}  // namespace

ChildOutcome send_task_port(const char* name, bool wait) noexcept {
  ChildOutcome out;
  mach_port_t server = MACH_PORT_NULL;
  // bootstrap_look_up takes a name_t (char[128]); pass a full-size copy so
  // that it never reads past a shorter string's end.
  name_t service;
  std::memset(service, 0, sizeof service);
  std::strncpy(service, name, sizeof service - 1);
  kern_return_t kr = ::bootstrap_look_up(bootstrap_port, service, &server);
  if (kr != KERN_SUCCESS) {
    out.step = ChildStep::look_up;
    out.kr = kr;
    return out;
  }

  mach_port_t reply = MACH_PORT_NULL;
  kr = wait ? ::mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &reply) : KERN_SUCCESS;
  if (kr != KERN_SUCCESS) {
    drop_send(server);
    out.step = ChildStep::reply_port;
    out.kr = kr;
    return out;
  }

  kr = send_task_message(server, reply);
  drop_send(server);
  if (kr != MACH_MSG_SUCCESS) {
    drop_receive(reply);
    out.step = ChildStep::send;
    out.kr = kr;
    return out;
  }

  if (!wait) return out;
  kr = await_go(reply, out.parent_gone);
  drop_receive(reply);
  if (kr != KERN_SUCCESS) {
    out.step = ChildStep::await_go;
    out.kr = kr;
  }
  return out;
}

bool send_from_environment(ChildOutcome& outcome) noexcept {
  const char* value = ::getenv(kNameVariable);
  if (value == nullptr) return false;
  // Copy before unsetenv frees the string.
  name_t name;
  std::memset(name, 0, sizeof name);
  std::strncpy(name, value, sizeof name - 1);
  const char* wait_value = ::getenv(kWaitVariable);
  const bool wait = wait_value != nullptr && std::strcmp(wait_value, "1") == 0;
  ::unsetenv(kNameVariable);
  ::unsetenv(kWaitVariable);
  outcome = send_task_port(name, wait);
  return true;
}

}  // namespace taskport::backend::rendezvous
