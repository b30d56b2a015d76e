// SPDX-License-Identifier: MIT
// What the CLI can tell about a process from its task handle alone.
#pragma once

#include <optional>
#include <string>

#include <taskport/task.hpp>

namespace taskport_cli {

struct HandleInfo {
  std::string kind;                     // "pidfd"
  long long handle = -1;                // the descriptor / port name
  std::optional<long long> handle_pid;  // the pid the kernel says the handle names
  std::optional<char> state;            // /proc/<pid>/stat state letter (R, S, T, Z…)
  std::optional<std::string> name;      // /proc/<pid>/comm
};

HandleInfo describe(const taskport::Task& task);
std::string state_name(char state);

}  // namespace taskport_cli
