// SPDX-License-Identifier: MIT
// The parent's side of the Mach rendezvous (rendezvous_protocol.hpp): a
// receive right the child can reach — registered in launchd under a name
// unique to this one rendezvous, or passed in registered-port slot 2 —
// and a bounded, validating receive of the child's task port.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/handover.hpp"
#include "macos/mach_port.hpp"
#include "macos/task_identity.hpp"

namespace taskport::backend::rendezvous {

using backend::TaskIdentity;

// What a receive ended with.
enum class Outcome {
  accepted,      // the expected child sent its task port; Handoff is filled
  child_exited,  // the exit watch fired before a valid message arrived
  task_gone,     // the child sent its task port, but that task had already ended (reason says how)
  timed_out,     // the deadline passed
  malformed,     // the expected process sent something else (reason says what)
  failed,        // mach_msg itself failed (kr says how)
};

struct Handoff {
  SendRight task;         // the child's task port
  SendOnceRight reply;    // where "go" is sent (see send_go)
  TaskIdentity identity;  // the sender's, which the task port was checked to name
};

struct ReceiveResult {
  Outcome outcome = Outcome::failed;
  kern_return_t kr = KERN_SUCCESS;  // for Outcome::failed
  std::string reason;               // for Outcome::malformed and task_gone
  common::Rejections rejected;      // messages from other senders, discarded (the first few kept)
  Handoff handoff;
};

class Server {
 public:
  // How the child reaches the port.
  enum class Route {
    launchd,           // bootstrap_check_in of a unique name (name())
    registered_ports,  // a private port, passed in registered slot 2 (registered_port())
  };

  // launchd: bootstrap_check_in("org.taskport.rendezvous.<pid>.<128 random
  // bits>"): launchd creates the port and hands this process its receive
  // right; destroying the right (the destructor) also ends the
  // registration. Throws Error(Step::rendezvous) naming the bootstrap
  // error (EPERM for BOOTSTRAP_NOT_PRIVILEGED).
  // registered_ports: a receive right of our own plus one send right to
  // pass to posix_spawn; throws Error(EBUSY, Step::rendezvous) when this
  // process's own registered slot 2 is in use (the route would take it
  // from the child; see registered_ports.hpp).
  Server(Route route, const std::string& program);
  // launchd, and registered ports where launchd refuses the registration
  // (BOOTSTRAP_NOT_PRIVILEGED 1100: a Seatbelt sandbox without
  // mach-register — launchd-842.92.1 src/core.c job_mig_check_in2 asks
  // sandbox_check(pid, "mach-register", …) — or a sandbox that denies the
  // lookup of launchd itself).
  static Server automatic(const std::string& program);
  Server(Server&&) noexcept = default;
  Server& operator=(Server&&) noexcept = default;

  Route route() const noexcept { return route_; }
  // launchd: the name to give the child (rendezvous_protocol.hpp: kNameVariable).
  const std::string& name() const noexcept { return name_; }
  // registered ports: the send right for slot 2 (owned by the Server).
  mach_port_t registered_port() const noexcept { return send_.get(); }

  // Waits for a task-port message from process `pid` until `deadline`.
  // Each mach_msg receive is bounded by MACH_RCV_TIMEOUT (slices of at most
  // 20 ms); between slices `exit_fd` (a kqueue with EVFILT_PROC/NOTE_EXIT on
  // the child, see exit_watch.hpp) is polled, so a child that dies before
  // sending ends the wait at once instead of at the deadline. Messages from
  // any other sender are destroyed (with the rights they carry) and named
  // in `rejected`; a malformed one from the expected process ends the wait.
  ReceiveResult receive(pid_t pid, int exit_fd, std::chrono::steady_clock::time_point deadline);

 private:
  Server() = default;
  void check_in(const std::string& program, kern_return_t& refused);
  void make_private(const std::string& program);

  Route route_ = Route::launchd;
  std::string name_;
  ReceiveRight port_;
  SendRight send_;  // registered ports: what posix_spawn copies into the child's slot 2
};

// Sends "go" on the child's reply right (consuming it). Returns the
// mach_msg result; on failure the right is destroyed, which also wakes the
// child (send-once notification).
kern_return_t send_go(SendOnceRight& reply) noexcept;

}  // namespace taskport::backend::rendezvous
