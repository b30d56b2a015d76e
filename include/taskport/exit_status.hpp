// SPDX-License-Identifier: MIT
// taskport — how a child ended.
#pragma once

#include <optional>
#include <string>

#include "taskport/export.hpp"

namespace taskport {

// One of three: the child exited with a code, a signal killed it, or the
// status is unknown — the child has ended, but its status was not ours to
// read: the kernel discarded it (SIGCHLD set to SIG_IGN, or SA_NOCLDWAIT:
// children are reaped as they end), or another wait in this process took it
// first (an application's SIGCHLD handler that calls waitpid(-1)). Child's
// waits return the unknown status in those cases instead of failing, so
// that "has it ended?" always gets its answer.
class TASKPORT_API ExitStatus {
 public:
  static ExitStatus exited(int code) noexcept { return ExitStatus(code, 0, false, false); }
  static ExitStatus signaled(int signal, bool core_dumped) noexcept {
    return ExitStatus(-1, signal, core_dumped, false);
  }
  static ExitStatus unknown() noexcept { return ExitStatus(-1, 0, false, true); }

  // The exit code if the child called exit/_exit; absent if a signal killed
  // it or the status is unknown.
  std::optional<int> code() const noexcept;
  // The terminating signal if a signal killed it; absent otherwise (also
  // when the status is unknown).
  std::optional<int> signal() const noexcept;
  bool core_dumped() const noexcept { return core_dumped_; }
  // The child ended, its status is gone (see above).
  bool is_unknown() const noexcept { return unknown_; }
  // Exited with code 0 (false when unknown).
  bool success() const noexcept { return !unknown_ && code_ == 0 && signal_ == 0; }
  // "exit code 3" or "killed by SIGKILL" or "killed by SIGSEGV (core
  // dumped)", or "unknown status (…why…)".
  std::string to_string() const;

  friend bool operator==(const ExitStatus& a, const ExitStatus& b) noexcept {
    return a.code_ == b.code_ && a.signal_ == b.signal_ && a.core_dumped_ == b.core_dumped_ &&
           a.unknown_ == b.unknown_;
  }
  friend bool operator!=(const ExitStatus& a, const ExitStatus& b) noexcept { return !(a == b); }

 private:
  ExitStatus(int code, int signal, bool core, bool unknown) noexcept
      : code_(code), signal_(signal), core_dumped_(core), unknown_(unknown) {}
  int code_;
  int signal_;
  bool core_dumped_;
  bool unknown_;
};

}  // namespace taskport
