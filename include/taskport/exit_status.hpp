// SPDX-License-Identifier: MIT
// taskport — how a child ended.
#pragma once

#include <optional>
#include <string>

#include "taskport/export.hpp"

namespace taskport {

class TASKPORT_API ExitStatus {
 public:
  static ExitStatus exited(int code) noexcept { return ExitStatus(code, 0, false); }
  static ExitStatus signaled(int signal, bool core_dumped) noexcept {
    return ExitStatus(-1, signal, core_dumped);
  }

  // The exit code if the child called exit/_exit; absent if a signal killed it.
  std::optional<int> code() const noexcept;
  // The terminating signal if a signal killed it.
  std::optional<int> signal() const noexcept;
  bool core_dumped() const noexcept { return core_dumped_; }
  // Exited with code 0.
  bool success() const noexcept { return code_ == 0 && signal_ == 0; }
  // "exit code 3" or "killed by SIGKILL" or "killed by SIGSEGV (core dumped)".
  std::string to_string() const;

  friend bool operator==(const ExitStatus& a, const ExitStatus& b) noexcept {
    return a.code_ == b.code_ && a.signal_ == b.signal_ && a.core_dumped_ == b.core_dumped_;
  }
  friend bool operator!=(const ExitStatus& a, const ExitStatus& b) noexcept { return !(a == b); }

 private:
  ExitStatus(int code, int signal, bool core) noexcept : code_(code), signal_(signal), core_dumped_(core) {}
  int code_;
  int signal_;
  bool core_dumped_;
};

}  // namespace taskport
