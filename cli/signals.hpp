// SPDX-License-Identifier: MIT
// SIGINT, SIGTERM and SIGHUP sent to taskport: `run` forwards them to its
// child, `inspect` ends the inspection on them.
//
// A handler notes each signal in a pipe (the self-pipe trick: write(2) is
// async-signal-safe), and the run loop polls that pipe beside the child's
// exit descriptor, so a signal is forwarded from ordinary code, through the
// child's pidfd. Handlers, not a blocked mask: the child inherits taskport's
// mask through execve, and a blocked SIGTERM would stay blocked in it. Its
// handlers it does not inherit (a spawn resets them to SIG_DFL).
//
// Handlers also let `inspect` finish the snapshot in progress — which may
// have the target suspended — and resume it before ending: the signal is
// acted on between snapshots, never inside one.
//
// Two signals are not forwarded by `run` (take_to_forward):
//   * one sent by the kernel to the terminal's foreground process group
//     (si_code SI_KERNEL: ^C, ^\, a hangup): the child is in that group and
//     got it already, a second copy would be one too many (Linux; macOS
//     has no SI_KERNEL, so there the child gets such a signal twice);
//   * one that was ignored (SIG_IGN) when taskport started (nohup, a
//     background job of a non-interactive shell): taskport leaves it ignored,
//     so the child inherits SIG_IGN as it would without taskport (nor does
//     it end an inspection).
#pragma once

#include <vector>

#include <taskport/unique_fd.hpp>

namespace taskport_cli {

class SignalCatcher {
 public:
  // Installs the handlers; throws taskport::Error if the pipe cannot be made.
  SignalCatcher();
  // Restores the dispositions found at construction.
  ~SignalCatcher();
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;

  // Readable when a signal arrived.
  int fd() const noexcept { return read_end_.get(); }
  // The signals that arrived since the last call and are to be forwarded,
  // in the order they came (not those the kernel sent to the whole group).
  std::vector<int> take_to_forward() { return take(false); }
  // Every signal that arrived since the last call, in the order they came.
  std::vector<int> take_all() { return take(true); }

 private:
  std::vector<int> take(bool sent_to_the_group_too);

  taskport::UniqueFd read_end_, write_end_;
  bool installed_[3] = {false, false, false};
};

}  // namespace taskport_cli
