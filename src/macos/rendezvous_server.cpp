// SPDX-License-Identifier: MIT
#include "macos/rendezvous_server.hpp"

#include <bsm/libbsm.h>
#include <errno.h>
#include <poll.h>
#include <servers/bootstrap.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <optional>

#include "macos/mach_error.hpp"
#include "macos/rendezvous_protocol.hpp"
#include "posix/eintr.hpp"
#include "taskport/error.hpp"

namespace taskport::backend::rendezvous {
namespace {

constexpr std::chrono::milliseconds kSlice{20};

std::string unique_name() {
  unsigned char random[16];
  ::arc4random_buf(random, sizeof random);
  std::string name = kNamePrefix + std::to_string(::getpid()) + ".";
  for (unsigned char b : random) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", b);
    name += hex;
  }
  return name;
}

// True once the exit watch fired (non-consuming: poll, not kevent).
bool exited(int exit_fd) { return posix::poll_now(exit_fd) > 0; }

struct Verdict {
  bool from_child = false;  // the kernel says the expected process sent it
  bool valid = false;
  std::string reason;  // why it was not accepted
};

// Why the message is not from process `pid`, or nothing if it is. Only the
// kernel's audit trailer counts. The kernel appends the trailer right after
// the message's msgh_size bytes (rounded to 4): it is found there, whatever
// the size, so that the sender is known before anything else is judged.
std::optional<std::string> foreign_sender(const ReceivedTaskPortMessage& in, pid_t pid) {
  const mach_msg_size_t size = in.message.header.msgh_size;
  const std::size_t trailer_at = (static_cast<std::size_t>(size) + 3) & ~std::size_t{3};
  if (trailer_at + sizeof(mach_msg_audit_trailer_t) > sizeof in) {
    return "a message of " + std::to_string(size) + " bytes";
  }
  mach_msg_audit_trailer_t trailer;
  std::memcpy(&trailer, reinterpret_cast<const unsigned char*>(&in) + trailer_at, sizeof trailer);
  if (trailer.msgh_trailer_type != MACH_MSG_TRAILER_FORMAT_0 ||
      trailer.msgh_trailer_size < sizeof(mach_msg_audit_trailer_t)) {
    return std::string("a message without an audit trailer");
  }
  const pid_t sender = ::audit_token_to_pid(trailer.msgh_audit);
  if (sender != pid) return "a message from pid " + std::to_string(sender);
  return std::nullopt;
}

// Why the message is not a task-port message of the protocol, or nothing if
// it is: size, id, one port descriptor, the reply right.
std::optional<std::string> malformed(const TaskPortMessage& m) {
  const mach_msg_bits_t bits = m.header.msgh_bits;
  if (m.header.msgh_size != sizeof(TaskPortMessage)) {
    return "a message of " + std::to_string(m.header.msgh_size) + " bytes (expected " +
           std::to_string(sizeof(TaskPortMessage)) + ")";
  }
  if (m.header.msgh_id != kTaskPortMessageId) {
    return "a message with id " + std::to_string(m.header.msgh_id) + " (not a taskport task-port message)";
  }
  if (!(bits & MACH_MSGH_BITS_COMPLEX) || m.body.msgh_descriptor_count != 1) {
    return std::string("a message without exactly one descriptor");
  }
  // No reply right (the child runs on), or the send-once right a waiting
  // child made with MAKE_SEND_ONCE.
  const mach_msg_type_name_t reply = MACH_MSGH_BITS_REMOTE(bits);
  if (reply == 0 ? m.header.msgh_remote_port != MACH_PORT_NULL
                 : reply != MACH_MSG_TYPE_PORT_SEND_ONCE || !MACH_PORT_VALID(m.header.msgh_remote_port)) {
    return "a message with a reply right of type " + std::to_string(reply);
  }
  if (m.task.type != MACH_MSG_PORT_DESCRIPTOR || m.task.disposition != MACH_MSG_TYPE_PORT_SEND ||
      !MACH_PORT_VALID(m.task.name)) {
    return "a descriptor of type " + std::to_string(m.task.type) + " and disposition " +
           std::to_string(m.task.disposition) + " (expected a port send right)";
  }
  return std::nullopt;
}

// Why the port is not the task port of process `pid` (a child could send
// some other task port it holds), or nothing if it is.
std::optional<std::string> not_the_task_of(mach_port_t port, pid_t pid) {
  int task_pid = -1;
  const kern_return_t kr = ::pid_for_task(port, &task_pid);
  if (kr != KERN_SUCCESS) return "a port that is no task port (" + kern_text("pid_for_task", kr) + ")";
  if (task_pid != pid) return "the task port of pid " + std::to_string(task_pid);
  return std::nullopt;
}

// Every check of Chromium's rule: nothing in an incoming message is used
// before it is known to be what the protocol says. The sender is
// established first, so that a stranger's junk is told apart from a broken
// child.
Verdict check(const ReceivedTaskPortMessage& in, pid_t pid) {
  Verdict v;
  if (auto why = foreign_sender(in, pid)) {
    v.reason = std::move(*why);
    return v;
  }
  v.from_child = true;
  auto why = malformed(in.message);
  if (!why) why = not_the_task_of(in.message.task.name, pid);
  if (why) {
    v.reason = std::move(*why);
    return v;
  }
  v.valid = true;
  return v;
}

}  // namespace

Server::Server(const std::string& program) {
  for (int attempt = 0;; ++attempt) {
    name_ = unique_name();
    name_t service;
    std::memset(service, 0, sizeof service);
    std::strncpy(service, name_.c_str(), sizeof service - 1);
    mach_port_t port = MACH_PORT_NULL;
    const kern_return_t kr = ::bootstrap_check_in(bootstrap_port, service, &port);
    if (kr == KERN_SUCCESS) {
      port_.reset(port);
      return;
    }
    // 128 random bits collide only by malice; try fresh names a few times.
    if ((kr == BOOTSTRAP_NAME_IN_USE || kr == BOOTSTRAP_SERVICE_ACTIVE) && attempt < 3) continue;
    throw Error(kr == BOOTSTRAP_NOT_PRIVILEGED ? EPERM : EIO, Step::rendezvous, program,
                std::string("bootstrap_check_in(") + name_ + "): " + ::bootstrap_strerror(kr));
  }
}

ReceiveResult Server::receive(pid_t pid, int exit_fd, std::chrono::steady_clock::time_point deadline) {
  using clock = std::chrono::steady_clock;
  ReceiveResult result;
  ReceivedTaskPortMessage in;
  bool last_try = false;  // the child has exited: drain what it may have sent, once
  while (true) {
    mach_msg_timeout_t timeout_ms = 0;
    if (!last_try) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) {
        result.outcome = Outcome::timed_out;
        return result;
      }
      timeout_ms = static_cast<mach_msg_timeout_t>(std::min(left, kSlice).count());
    }
    std::memset(&in, 0, sizeof in);
    const kern_return_t kr = ::mach_msg(
        &in.message.header, MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_INTERRUPT | kAuditTrailerOptions, 0,
        sizeof in, port_.get(), timeout_ms, MACH_PORT_NULL);
    if (kr == MACH_RCV_TIMED_OUT) {
      if (last_try) {
        result.outcome = Outcome::child_exited;
        return result;
      }
      last_try = exited(exit_fd);
      continue;
    }
    if (kr == MACH_RCV_INTERRUPTED) continue;
    if (kr == MACH_RCV_TOO_LARGE) {
      // Without MACH_RCV_LARGE the kernel has dequeued and destroyed it.
      result.rejected.push_back("a message too large for the protocol");
      continue;
    }
    if (kr != MACH_MSG_SUCCESS) {
      result.outcome = Outcome::failed;
      result.kr = kr;
      return result;
    }
    Verdict v = check(in, pid);
    if (!v.valid) {
      ::mach_msg_destroy(&in.message.header);
      if (!v.from_child) {
        result.rejected.push_back(std::move(v.reason));
        continue;
      }
      result.outcome = Outcome::malformed;
      result.reason = std::move(v.reason);
      return result;
    }
    result.outcome = Outcome::accepted;
    result.handoff.task.reset(in.message.task.name);
    result.handoff.reply.reset(in.message.header.msgh_remote_port);
    return result;
  }
}

kern_return_t send_go(SendOnceRight& reply) noexcept {
  GoMessage go;
  std::memset(&go, 0, sizeof go);
  go.header.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_MOVE_SEND_ONCE, 0);
  go.header.msgh_size = sizeof go;
  go.header.msgh_remote_port = reply.get();
  go.header.msgh_id = kGoMessageId;
  // The child's reply port is fresh and empty: the send never waits.
  const kern_return_t kr = ::mach_msg(&go.header, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof go, 0,
                                      MACH_PORT_NULL, 1000, MACH_PORT_NULL);
  if (kr == MACH_MSG_SUCCESS) {
    reply.release();  // consumed by the message
  } else {
    reply.reset();
  }
  return kr;
}

}  // namespace taskport::backend::rendezvous
