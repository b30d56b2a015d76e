// SPDX-License-Identifier: MIT
// The option conflicts of a Command, checked in the parent before a spawn
// creates anything (Step::validate_command). The same on every platform.
#pragma once

#include "taskport/command.hpp"

namespace taskport::common {

// Throws Error(EINVAL, Step::validate_command, program) if `cmd` cannot be
// spawned the way asked: `with_task` false (Command::spawn) while
// start_suspended() (nothing could resume the child) or task_via_preload()
// (the handle would have nowhere to go) is set.
void validate_command(const Command& cmd, bool with_task);

// The process options (validate_options.cpp): Error(EINVAL,
// Step::validate_command) for an rlimit whose soft limit is above its hard
// one or more groups than NGROUPS_MAX; Error(ENOTSUP) for rlimit on macOS.
// Called by validate_command.
void validate_options(const Command& cmd);

}  // namespace taskport::common
