// SPDX-License-Identifier: MIT
// The Mach rendezvous wire protocol: how a child hands its task port to the
// parent that spawned it (or forked it). Shared by the parent's server
// (rendezvous_server.cpp), the child's side (rendezvous_child.cpp) and the
// preload dylib.
//
// How the child finds the parent's port R — one of two routes:
//   launchd:          the parent registers R under a unique name
//                     (bootstrap_check_in) and passes the name in
//                     TASKPORT_RENDEZVOUS_NAME; the child looks it up.
//   registered ports: where launchd refuses the registration (a Seatbelt
//                     sandbox without mach-register: BOOTSTRAP_NOT_PRIVILEGED),
//                     the parent passes a send right to R in slot 2 of the
//                     child's registered ports (posix_spawnattr_set_registered_
//                     ports_np) and TASKPORT_RENDEZVOUS_PORT_SLOT=2; the child
//                     reads it with mach_ports_lookup and clears the slot.
//
//   parent                                     child (after exec, or after fork)
//   ------                                     -----
//   bootstrap_check_in(<unique name>)
//     → receive right R, registered in launchd
//   (or: mach_port_allocate → R, private)
//   spawn with <name> in the environment
//   (or R's send right in registered slot 2)
//   (and TASKPORT_RENDEZVOUS_WAIT=1 if the
//   child is to wait until let go)
//                                              bootstrap_look_up(<name>) → send right to R
//                                              (or mach_ports_lookup: slot 2)
//                                              [wait: new port G (receive right)]
//                                              send TaskPortMessage to R:
//                                                remote: COPY_SEND R
//                                                local:  MAKE_SEND_ONCE G (wait) or none
//                                                descriptor: the task control port
//                                                  (MOVE_SEND of a movable copy, see
//                                                  rendezvous_child.cpp)
//   receive on R, bounded (MACH_RCV_TIMEOUT),
//   with an audit trailer; accept only
//   the expected pid, id, size, one port
//   descriptor of disposition PORT_SEND;
//   pid_for_task(port) == pid, and the
//   port's audit token (pid, pid version)
//   == the sender's (the trailer's)
//   destroy R (the registration goes too)
//   [wait: e.g. task_suspend(port), then
//   send GoMessage on the send-once right]      [wait: receive on G (bounded): go, or
//                                                the send-once notification if the
//                                                parent dropped the reply right; either
//                                                way continue (main runs)]
//
// Every field of an incoming message is checked before use (Chromium's
// rule); a message that fails a check is destroyed with every right it
// carried, and the parent keeps waiting until its deadline.
#pragma once

#include <mach/mach.h>

#include <cstddef>
#include <cstdint>

namespace taskport::backend::rendezvous {

// Environment variables the parent sets for the child (the names are
// shared with the Linux rendezvous where the meaning is the same).
//   kNameVariable: the bootstrap service name of the parent's receive right.
//   kWaitVariable: "1": after sending, wait until the parent lets us go
//                  (Rendezvous::Start::when_let_go).
//   kSlotVariable: "2": the registered-ports route (no kNameVariable): the
//                  parent's port is in slot kRegisteredSlot.
inline constexpr const char* kNameVariable = "TASKPORT_RENDEZVOUS_NAME";
inline constexpr const char* kWaitVariable = "TASKPORT_RENDEZVOUS_WAIT";
inline constexpr const char* kSlotVariable = "TASKPORT_RENDEZVOUS_PORT_SLOT";

// Registered ports: a task has TASK_PORT_REGISTER_MAX (3) slots
// (xnu osfmk/mach/mach_param.h; the SDK header is not in zig's set), which
// every new task inherits from its parent at fork, posix_spawn and exec
// (osfmk/kern/ipc_tt.c ipc_task_init: "inherit registered ports"). Slots 0
// and 1 stay what the spawner has; the rendezvous uses the last one.
inline constexpr unsigned kRegisteredPortSlots = 3;
inline constexpr unsigned kRegisteredSlot = 2;
inline constexpr const char* kRegisteredSlotValue = "2";

// Bootstrap names are at most 128 bytes including the NUL (name_t).
inline constexpr std::size_t kMaxNameLength = 127;
// "org.taskport.rendezvous.<parent pid>.<32 hex digits>"
inline constexpr const char* kNamePrefix = "org.taskport.rendezvous.";

// Message ids ('tpT1', 'tpG1'): a peer speaking another protocol version is
// rejected by id, not misparsed.
inline constexpr mach_msg_id_t kTaskPortMessageId = 0x74705431;
inline constexpr mach_msg_id_t kGoMessageId = 0x74704731;

// child → parent: the child's task port (complex message, one descriptor).
struct TaskPortMessage {
  mach_msg_header_t header;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t task;
};

// What the parent's receive buffer holds: the message, then the trailer the
// kernel appends (MACH_RCV_TRAILER_AUDIT: sender's audit token). One extra
// max-size trailer of room so that a short spoofed message with a full
// trailer still fits and is validated (and rejected) rather than truncated.
struct ReceivedTaskPortMessage {
  TaskPortMessage message;
  mach_msg_audit_trailer_t trailer;
  mach_msg_max_trailer_t spare;
};

// parent → child, on the send-once reply right: "go on". Simple message.
struct GoMessage {
  mach_msg_header_t header;
};
struct ReceivedGoMessage {
  GoMessage message;
  mach_msg_max_trailer_t trailer;
};

// The kernel lays out a message as 4-byte-aligned fields with no padding;
// these hold on both x86_64 and arm64 (checked by the cross-build).
static_assert(sizeof(mach_msg_header_t) == 24, "mach_msg_header_t layout");
static_assert(sizeof(TaskPortMessage) == 24 + 4 + 12, "TaskPortMessage wire layout");
static_assert(offsetof(ReceivedTaskPortMessage, trailer) == sizeof(TaskPortMessage),
              "trailer follows the message");

// The receive options for the task-port message: a trailer with the audit
// token (the sender's pid, as the kernel saw it).
inline constexpr mach_msg_option_t kAuditTrailerOptions =
    MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) | MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT);

// The child's bounds. The send cannot block for long (the parent's queue
// holds 5 messages and the parent drains it), but a full queue must not
// stall a program's start forever; the go normally arrives within
// milliseconds, and if the parent is gone its send-once right dies and the
// kernel's notification wakes the child at once.
inline constexpr mach_msg_timeout_t kChildSendTimeoutMs = 10000;
inline constexpr mach_msg_timeout_t kChildGoTimeoutMs = 60000;

}  // namespace taskport::backend::rendezvous
