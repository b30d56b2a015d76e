// SPDX-License-Identifier: MIT
// The parent's side of the Mach rendezvous (rendezvous_protocol.hpp): a
// receive right registered in launchd under a name unique to this one
// rendezvous, and a bounded, validating receive of the child's task port.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "macos/mach_port.hpp"

namespace taskport::backend::rendezvous {

// What a receive ended with.
enum class Outcome {
  accepted,      // the expected child sent its task port; Handoff is filled
  child_exited,  // the exit watch fired before a valid message arrived
  timed_out,     // the deadline passed
  malformed,     // the expected process sent something else (reason says what)
  failed,        // mach_msg itself failed (kr says how)
};

struct Handoff {
  SendRight task;       // the child's task port
  SendOnceRight reply;  // where "go" is sent (see send_go)
};

struct ReceiveResult {
  Outcome outcome = Outcome::failed;
  kern_return_t kr = KERN_SUCCESS;    // for Outcome::failed
  std::string reason;                 // for Outcome::malformed
  std::vector<std::string> rejected;  // messages from other senders, discarded
  Handoff handoff;
};

class Server {
 public:
  // bootstrap_check_in("org.taskport.rendezvous.<pid>.<128 random bits>"):
  // launchd creates the port and hands this process its receive right;
  // destroying the right (the destructor) also ends the registration.
  // Throws Error(Step::rendezvous) naming the bootstrap error.
  explicit Server(const std::string& program);
  Server(Server&&) noexcept = default;
  Server& operator=(Server&&) noexcept = default;

  // The name to give the child (rendezvous_protocol.hpp: kNameVariable).
  const std::string& name() const noexcept { return name_; }

  // Waits for a task-port message from process `pid` until `deadline`.
  // Each mach_msg receive is bounded by MACH_RCV_TIMEOUT (slices of at most
  // 20 ms); between slices `exit_fd` (a kqueue with EVFILT_PROC/NOTE_EXIT on
  // the child, see exit_watch.hpp) is polled, so a child that dies before
  // sending ends the wait at once instead of at the deadline. Messages from
  // any other sender are destroyed (with the rights they carry) and named
  // in `rejected`; a malformed one from the expected process ends the wait.
  ReceiveResult receive(pid_t pid, int exit_fd, std::chrono::steady_clock::time_point deadline);

 private:
  std::string name_;
  ReceiveRight port_;
};

// Sends "go" on the child's reply right (consuming it). Returns the
// mach_msg result; on failure the right is destroyed, which also wakes the
// child (send-once notification).
kern_return_t send_go(SendOnceRight& reply) noexcept;

}  // namespace taskport::backend::rendezvous
