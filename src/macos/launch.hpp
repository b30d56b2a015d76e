// SPDX-License-Identifier: MIT
// Starting the process of a SpawnPlan: posix_spawn when the Command has no
// pre_exec hooks (no fork: the cost does not grow with the parent's memory),
// fork + exec when it has (a hook must run in the child before exec, which
// posix_spawn cannot do).
#pragma once

#include <sys/types.h>

#include <string>

#include "macos/spawn_plan.hpp"
#include "taskport/command.hpp"

namespace taskport::backend {

struct Launched {
  pid_t pid = -1;
  std::string path;  // the candidate that was executed
};

// Returns once the child has exec'd. Throws Error (with the step that
// failed) otherwise; a child that was created is reaped before the throw.
Launched launch(const Command& cmd, SpawnPlan& plan);

}  // namespace taskport::backend
