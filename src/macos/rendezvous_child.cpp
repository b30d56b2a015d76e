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

// The port to send for this task, and how. On macOS only platform binaries
// (and browser engines) get an immovable, pinned control port: xnu
// osfmk/ipc/ipc_init.c IPC_CONTROL_PORT_OPTIONS_DEFAULT is the 1P-only
// IMMOVABLE_1P_HARD | PINNED_1P_HARD, and osfmk/kern/task.c
// task_set_exc_guard_ctrl_port_default gives the 1P options only where
// task_is_hardened_binary (platform or web-browser-engine entitlement) —
// not to codesign's hardened runtime. So for the programs taskport serves
// mach_task_self() is movable; should it not be (a platform binary that
// let the preload in, a future policy), copying it would fail the send
// (osfmk/ipc/ipc_right.c copyin: KERN_INVALID_CAPABILITY, with a fatal
// EXC_GUARD for HARD). task_get_special_port(self, TASK_KERNEL_PORT)
// returns a substitute-once wrapper of the non-pinned control port, movable
// even then (osfmk/kern/ipc_tt.c task_get_special_port_from_user →
// task_get_non_substituted_self): send that, moving our one reference, and
// fall back to copying mach_task_self() where the call is refused (it is
// subject to the MAC hook mac_task_check_get_movable_control_port).
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
  // Without MACH_SEND_INTERRUPT, libsyscall's mach_msg sends again when the
  // send was interrupted (libsyscall/mach/mach_msg.c mach_msg2_internal).
  const kern_return_t kr = ::mach_msg(&msg.header, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof msg, 0,
                                      MACH_PORT_NULL, kChildSendTimeoutMs, MACH_PORT_NULL);
  if (kr == MACH_SEND_TIMED_OUT || kr == MACH_SEND_INTERRUPTED) {
    // The kernel copied the message in and then handed it back: every right
    // it carried is in our space again, under the names and dispositions in
    // the buffer — the extra reference COPY_SEND made to the server, the
    // send-once right MAKE_SEND_ONCE made to the reply port, the task port
    // (xnu osfmk/ipc/mach_msg.c: a failed ipc_kmsg_send is followed by
    // mach_msg_receive_pseudo, ipc_kmsg.c ipc_kmsg_copyout_pseudo, "Caller
    // still has message"). mach_msg_destroy releases exactly those.
    ::mach_msg_destroy(&msg.header);
  } else if (kr != MACH_MSG_SUCCESS && self.disposition == MACH_MSG_TYPE_MOVE_SEND) {
    // Refused before the copyin (e.g. a dead server name): the moved right
    // is still ours. Nothing else in this process runs meanwhile (a library
    // constructor, or a freshly forked child), so the name cannot have been
    // reused.
    drop_send(self.name);
  }
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

ChildOutcome failed(ChildStep step, kern_return_t kr) noexcept {
  ChildOutcome out;
  out.step = step;
  out.kr = kr;
  return out;
}

// Sends to `server` (a send right this consumes) and, with `wait`, waits
// for go. `found` is how finding the server went (`finding`: the step).
ChildOutcome send_to(kern_return_t found, ChildStep finding, mach_port_t server, bool wait) noexcept {
  if (found != KERN_SUCCESS) return failed(finding, found);
  mach_port_t reply = MACH_PORT_NULL;
  kern_return_t kr =
      wait ? ::mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &reply) : KERN_SUCCESS;
  if (kr != KERN_SUCCESS) {
    drop_send(server);
    return failed(ChildStep::reply_port, kr);
  }

  kr = send_task_message(server, reply);
  drop_send(server);
  if (kr != MACH_MSG_SUCCESS) {
    drop_receive(reply);
    return failed(ChildStep::send, kr);
  }

  ChildOutcome out;
  if (!wait) return out;
  kr = await_go(reply, out.parent_gone);
  drop_receive(reply);
  if (kr != KERN_SUCCESS) return failed(ChildStep::await_go, kr);
  return out;
}

// Takes the send right in registered slot 2 (into `server`) and clears the
// slot. mach_ports_lookup hands out a new send right for every non-null
// slot, in an array it vm_allocates here; mach_ports_register replaces all
// three slots, padding a shorter list with MACH_PORT_NULL (xnu
// libsyscall/mach/task.c mach_ports_lookup, mach_ports_register;
// osfmk/kern/ipc_tt.c _kernelrpc_mach_ports_register3). So slots 0 and 1
// are registered again as they were, and slot 2 becomes empty.
kern_return_t take_registered_port(mach_port_t& server) noexcept {
  server = MACH_PORT_NULL;
  mach_port_array_t ports = nullptr;
  mach_msg_type_number_t count = 0;
  kern_return_t kr = ::mach_ports_lookup(mach_task_self(), &ports, &count);
  if (kr != KERN_SUCCESS) return kr;
  mach_port_t kept[kRegisteredSlot] = {};
  for (mach_msg_type_number_t i = 0; i < count; ++i) {
    if (i < kRegisteredSlot) {
      kept[i] = ports[i];
    } else if (i == kRegisteredSlot) {
      server = ports[i];
    } else {
      drop_send(ports[i]);
    }
  }
  // A failed clear is not fatal: the program's children would inherit a
  // send right to a port that is destroyed once the spawner accepted.
  ::mach_ports_register(mach_task_self(), kept, kRegisteredSlot);
  for (mach_port_t p : kept) drop_send(p);
  ::vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(ports), count * sizeof(mach_port_t));
  return MACH_PORT_VALID(server) ? KERN_SUCCESS : KERN_INVALID_NAME;  // the slot was empty
}

}  // namespace

ChildOutcome send_task_port(const char* name, bool wait) noexcept {
  mach_port_t server = MACH_PORT_NULL;
  // bootstrap_look_up takes a name_t (char[128]); pass a full-size copy so
  // that it never reads past a shorter string's end.
  name_t service;
  std::memset(service, 0, sizeof service);
  std::strncpy(service, name, sizeof service - 1);
  const kern_return_t kr = ::bootstrap_look_up(bootstrap_port, service, &server);
  return send_to(kr, ChildStep::look_up, server, wait);
}

ChildOutcome send_task_port_to_registered(bool wait) noexcept {
  mach_port_t server = MACH_PORT_NULL;
  const kern_return_t kr = take_registered_port(server);
  return send_to(kr, ChildStep::registered_port, server, wait);
}

bool send_from_environment(ChildOutcome& outcome) noexcept {
  // An empty variable counts as absent (the spawner blanks the other
  // route's variable rather than editing the program's environment).
  const char* value = ::getenv(kNameVariable);
  if (value != nullptr && *value == '\0') value = nullptr;
  const char* slot = ::getenv(kSlotVariable);
  const bool registered = value == nullptr && slot != nullptr && std::strcmp(slot, kRegisteredSlotValue) == 0;
  if (value == nullptr && !registered) {
    ::unsetenv(kNameVariable);
    ::unsetenv(kSlotVariable);
    return false;
  }
  // Copy before unsetenv frees the string.
  name_t name;
  std::memset(name, 0, sizeof name);
  if (value != nullptr) std::strncpy(name, value, sizeof name - 1);
  const char* wait_value = ::getenv(kWaitVariable);
  const bool wait = wait_value != nullptr && std::strcmp(wait_value, "1") == 0;
  ::unsetenv(kNameVariable);
  ::unsetenv(kSlotVariable);
  ::unsetenv(kWaitVariable);
  outcome = registered ? send_task_port_to_registered(wait) : send_task_port(name, wait);
  return true;
}

}  // namespace taskport::backend::rendezvous
