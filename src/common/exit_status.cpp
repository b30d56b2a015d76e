#include "taskport/exit_status.hpp"

#include <string.h>

namespace taskport {

std::optional<int> ExitStatus::code() const noexcept {
  if (signal_ != 0) return std::nullopt;
  return code_;
}

std::optional<int> ExitStatus::signal() const noexcept {
  if (signal_ == 0) return std::nullopt;
  return signal_;
}

std::string ExitStatus::to_string() const {
  if (signal_ == 0) return "exit code " + std::to_string(code_);
  const char* abbrev = sigabbrev_np(signal_);
  std::string s = "killed by ";
  s += abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(signal_);
  if (core_dumped_) s += " (core dumped)";
  return s;
}

}  // namespace taskport
