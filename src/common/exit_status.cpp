// SPDX-License-Identifier: MIT
#include "taskport/exit_status.hpp"

#include <signal.h>
#include <string.h>

#include <cctype>

namespace taskport {

std::optional<int> ExitStatus::code() const noexcept {
  if (signal_ != 0 || unknown_) return std::nullopt;
  return code_;
}

std::optional<int> ExitStatus::signal() const noexcept {
  if (signal_ == 0) return std::nullopt;
  return signal_;
}

namespace {
// "KILL" for SIGKILL, or empty. glibc has sigabbrev_np; macOS has the
// lower-case table sys_signame.
std::string signal_abbrev(int sig) {
#if defined(__APPLE__)
  if (sig <= 0 || sig >= NSIG) return std::string();
  std::string name = sys_signame[sig];
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
#else
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string(abbrev) : std::string();
#endif
}
}  // namespace

std::string ExitStatus::to_string() const {
  if (unknown_) {
    return "unknown status (the child has ended; its exit status was discarded by the kernel, as SIGCHLD "
           "is ignored, or taken by another wait in this process)";
  }
  if (signal_ == 0) return "exit code " + std::to_string(code_);
  const std::string abbrev = signal_abbrev(signal_);
  std::string s = "killed by ";
  s += !abbrev.empty() ? "SIG" + abbrev : "signal " + std::to_string(signal_);
  if (core_dumped_) s += " (core dumped)";
  return s;
}

}  // namespace taskport
