// SPDX-License-Identifier: MIT
// taskport — what a finished child wrote: Command::output(),
// Child::wait_with_output().
#pragma once

#include <string>

#include "taskport/exit_status.hpp"

namespace taskport {

// The fields are not called stdout/stderr: those are macros on some
// platforms.
struct Output {
  ExitStatus status;
  std::string out;  // everything the child wrote to its piped stdout (empty if not piped)
  std::string err;  // everything the child wrote to its piped stderr (empty if not piped)
};

}  // namespace taskport
