// SPDX-License-Identifier: MIT
#include "macos/rendezvous_server.hpp"

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
#include "macos/registered_ports.hpp"
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
  bool task_gone = false;  // a task port, of a task that has already ended
  std::string reason;      // why it was not accepted
  TaskIdentity sender;     // from the audit trailer
};

// Why the message is not from process `pid`, or nothing if it is (then
// `sender` is the sending task's identity). Only the kernel's audit trailer
// counts: the sending *task's* audit token (xnu osfmk/ipc/ipc_kmsg.c:
// trailer->msgh_audit = *task_get_audit_token(sender)). The kernel appends
// the trailer right after the message's msgh_size bytes (rounded to 4): it
// is found there, whatever the size, so that the sender is known before
// anything else is judged.
std::optional<std::string> foreign_sender(const ReceivedTaskPortMessage& in, pid_t pid,
                                          TaskIdentity& sender) {
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
  sender = identity_of(trailer.msgh_audit);
  if (sender.pid != pid) return "a message from pid " + std::to_string(sender.pid);
  return std::nullopt;
}

// Why the message is not a task-port message of the protocol, or nothing if
// it is: size, id, one port descriptor, the reply right. A right whose port
// died while the message was queued arrives as MACH_PORT_DEAD (xnu
// osfmk/ipc/ipc_kmsg.c ipc_kmsg_copyout_port): that is no malformation —
// the sender ended right after sending (died_in_transit).
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
                 : reply != MACH_MSG_TYPE_PORT_SEND_ONCE || m.header.msgh_remote_port == MACH_PORT_NULL) {
    return "a message with a reply right of type " + std::to_string(reply);
  }
  if (m.task.type != MACH_MSG_PORT_DESCRIPTOR || m.task.disposition != MACH_MSG_TYPE_PORT_SEND ||
      m.task.name == MACH_PORT_NULL) {
    return "a descriptor of type " + std::to_string(m.task.type) + " and disposition " +
           std::to_string(m.task.disposition) + " (expected a port send right)";
  }
  return std::nullopt;
}

// Why the (well-formed) message shows that its sender has ended, or
// nothing: its task port or its reply port died on the way
// (MACH_PORT_DEAD, see malformed). A task's port is destroyed with the
// task, soon after the process exits (bsd/kern/kern_exit.c proc_exit drops
// the proc's task, proc_set_task(p, TASK_NULL)) or execs.
std::optional<std::string> died_in_transit(const TaskPortMessage& m) {
  if (m.task.name == MACH_PORT_DEAD) {
    return std::string("the port died on the way (the task ended right after sending)");
  }
  if (m.header.msgh_remote_port == MACH_PORT_DEAD) {
    return std::string("its reply port died on the way (the child ended right after sending)");
  }
  return std::nullopt;
}

// xnu osfmk/kern/ipc_kobject.h: the kobject types of the four task port
// flavours.
constexpr natural_t kIkotTaskControl = 2, kIkotTaskName = 20, kIkotTaskInspect = 44, kIkotTaskRead = 45;

// True if `port` is (or was) a task port whose task has ended — exited, or
// replaced by an exec — rather than not a task port at all. pid_for_task
// cannot tell the two apart: it fails with KERN_FAILURE for both
// (bsd/kern/kern_proc.c pid_for_task: TASK_NULL or no bsd_info). An ended
// task's ports are disabled (osfmk/kern/task.c task_terminate_internal →
// ipc_task_disable: the kobject is nulled, "the port will retain its
// kobject-ness and kobject type") and destroyed at the last task reference
// (ipc_task_terminate), after which our name is a dead name.
bool ended_task_port(mach_port_t port) {
  mach_port_type_t type = 0;
  if (::mach_port_type(mach_task_self(), port, &type) == KERN_SUCCESS && (type & MACH_PORT_TYPE_DEAD_NAME)) {
    return true;
  }
  natural_t kotype = 0;
  mach_vm_address_t address = 0;  // 0 on release kernels (osfmk/ipc/mach_debug.c)
  if (::mach_port_kobject(mach_task_self(), port, &kotype, &address) != KERN_SUCCESS) return false;
  return kotype == kIkotTaskControl || kotype == kIkotTaskName || kotype == kIkotTaskInspect ||
         kotype == kIkotTaskRead;
}

// Why the port is not the task port of the task that sent it (a child
// could send some other task port it holds), or nothing if it is. Sets
// `gone` when it is a task port whose task has already ended. Checks the
// pid (pid_for_task) and then the whole identity: the task's own audit
// token (task_info TASK_AUDIT_TOKEN, osfmk/kern/task.c) must carry the
// sender's pid and pid version, so a port of an earlier image of the same
// process (sent before an exec) never passes.
std::optional<std::string> not_the_task_of(mach_port_t port, const TaskIdentity& sender, bool& gone) {
  int task_pid = -1;
  kern_return_t kr = ::pid_for_task(port, &task_pid);
  if (kr != KERN_SUCCESS) {
    gone = ended_task_port(port);
    if (gone)
      return std::string(
          "the task had already ended when the port was checked (it exited or exec'd right after sending)");
    return "a port that is no task port (" + kern_text("pid_for_task", kr) + ")";
  }
  if (task_pid != sender.pid) return "the task port of pid " + std::to_string(task_pid);
  // The control flavour, which memory writes need: a name, inspect or read
  // port (also accepted by pid_for_task) is not what the protocol sends.
  // (A child's substitute-once wrapper from task_get_special_port arrives
  // as the control port itself: the kolabel substitution happens at
  // copyout, osfmk/kern/ipc_kobject.c ipc_kobject_alloc_subst_once.) Where
  // the query itself is refused the check is left out.
  natural_t kotype = 0;
  mach_vm_address_t address = 0;
  if (::mach_port_kobject(mach_task_self(), port, &kotype, &address) == KERN_SUCCESS &&
      kotype != kIkotTaskControl) {
    return "a task port of another flavour than control (kobject type " + std::to_string(kotype) + ")";
  }
  audit_token_t token{};
  mach_msg_type_number_t count = TASK_AUDIT_TOKEN_COUNT;
  kr = ::task_info(port, TASK_AUDIT_TOKEN, reinterpret_cast<task_info_t>(&token), &count);
  if (kr != KERN_SUCCESS) {
    // KERN_INVALID_ARGUMENT for a task that is no longer active,
    // MACH_SEND_INVALID_DEST once its port is destroyed (task.c task_info).
    gone = kr == KERN_INVALID_ARGUMENT || kr == MACH_SEND_INVALID_DEST;
    if (gone) return std::string("the task had already ended when its audit token was read");
    return "a task port whose audit token cannot be read (" + kern_text("task_info(TASK_AUDIT_TOKEN)", kr) +
           ")";
  }
  const TaskIdentity named = identity_of(token);
  if (named.pid != sender.pid || named.pid_version != sender.pid_version) {
    return "the task port of pid " + std::to_string(named.pid) + " version " +
           std::to_string(named.pid_version) + ", not of the sending task (pid " +
           std::to_string(sender.pid) + " version " + std::to_string(sender.pid_version) + ")";
  }
  return std::nullopt;
}

// Every check of Chromium's rule: nothing in an incoming message is used
// before it is known to be what the protocol says. The sender is
// established first, so that a stranger's junk is told apart from a broken
// child.
Verdict check(const ReceivedTaskPortMessage& in, pid_t pid) {
  Verdict v;
  if (auto why = foreign_sender(in, pid, v.sender)) {
    v.reason = std::move(*why);
    return v;
  }
  v.from_child = true;
  auto why = malformed(in.message);
  if (!why && (why = died_in_transit(in.message))) v.task_gone = true;
  if (!why) why = not_the_task_of(in.message.task.name, v.sender, v.task_gone);
  if (why) {
    v.reason = std::move(*why);
    return v;
  }
  v.valid = true;
  return v;
}

}  // namespace

void Server::check_in(const std::string& program, kern_return_t& refused) {
  refused = KERN_SUCCESS;
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
    if (kr == BOOTSTRAP_NOT_PRIVILEGED) {
      refused = kr;
      return;
    }
    throw Error(EIO, Step::rendezvous, program,
                std::string("bootstrap_check_in(") + name_ + "): " + ::bootstrap_strerror(kr));
  }
}

void Server::make_private(const std::string& program) {
  OwnRegisteredPorts(program, Step::rendezvous).require_free_rendezvous_slot(program, Step::rendezvous);
  mach_port_t port = MACH_PORT_NULL;
  kern_return_t kr = ::mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port);
  if (kr != KERN_SUCCESS) throw kern_error(kr, Step::rendezvous, program, "mach_port_allocate");
  port_.reset(port);
  // One send right under the same name, for posix_spawn to copy into the
  // child's slot 2 (the receive right is destroyed separately).
  kr = ::mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND);
  if (kr != KERN_SUCCESS) throw kern_error(kr, Step::rendezvous, program, "mach_port_insert_right");
  send_.reset(port);
  route_ = Route::registered_ports;
  name_.clear();
}

Server::Server(Route route, const std::string& program) {
  if (route == Route::registered_ports) {
    make_private(program);
    return;
  }
  kern_return_t refused = KERN_SUCCESS;
  check_in(program, refused);
  if (refused != KERN_SUCCESS) {
    throw Error(EPERM, Step::rendezvous, program,
                std::string("bootstrap_check_in(") + name_ + "): " + ::bootstrap_strerror(refused) +
                    " (a sandbox without mach-register?); the registered-ports route needs no launchd "
                    "(Command::MachRoute::registered_ports)");
  }
}

Server Server::automatic(const std::string& program) {
  Server server;
  kern_return_t refused = KERN_SUCCESS;
  server.check_in(program, refused);
  if (refused != KERN_SUCCESS) server.make_private(program);
  return server;
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
      result.rejected.add("a message too large for the protocol");
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
        result.rejected.add(std::move(v.reason));
        continue;
      }
      result.outcome = v.task_gone ? Outcome::task_gone : Outcome::malformed;
      result.reason = std::move(v.reason);
      return result;
    }
    result.outcome = Outcome::accepted;
    result.handoff.task.reset(in.message.task.name);
    result.handoff.reply.reset(in.message.header.msgh_remote_port);
    result.handoff.identity = v.sender;
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
