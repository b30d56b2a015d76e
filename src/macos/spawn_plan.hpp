// SPDX-License-Identifier: MIT
// SpawnPlan: everything one macOS spawn needs, prepared in the parent — the
// shared part (posix::LaunchPlan: argv, environment, stdio pipes and
// /dev/null, descriptor placements) plus the candidates of the PATH search,
// which posix_spawn and exec try in turn. Used by both launch paths:
// posix_spawn (no hooks) and fork + exec (pre_exec hooks).
#pragma once

#include <mach/mach.h>

#include <string>
#include <utility>
#include <vector>

#include "posix/launch_plan.hpp"
#include "taskport/command.hpp"

namespace taskport::backend {

struct SpawnPlan : posix::LaunchPlan {
  std::vector<std::string> candidates;  // execve candidates in order (execvp semantics)
  // The registered-ports route of the rendezvous: the send right for the
  // child's registered slot 2 (registered_ports.hpp), or MACH_PORT_NULL.
  // Borrowed from the Rendezvous, which outlives the spawn.
  mach_port_t registered_port = MACH_PORT_NULL;
};

// Builds the plan for `cmd`, with `extra_env` set in the child's environment
// on top of the Command's (later entries win). Throws Error on failure.
void build_spawn_plan(const Command& cmd, const std::vector<std::pair<std::string, std::string>>& extra_env,
                      SpawnPlan& plan);

}  // namespace taskport::backend
