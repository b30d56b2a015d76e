// SPDX-License-Identifier: MIT
// The process options of a Command on macOS (close_other_fds, uid, gid,
// groups; rlimit is refused before spawning, common/validate_options.cpp),
// for both launch paths of launch.cpp: posix_spawn attributes, or the
// forked child of a spawn with pre_exec hooks.
#pragma once

#include <spawn.h>

#include "macos/spawn_plan.hpp"
#include "taskport/command.hpp"
#include "taskport/error.hpp"

namespace taskport::backend {

// posix_spawn: the flags the options add (POSIX_SPAWN_CLOEXEC_DEFAULT).
short spawn_option_flags(const Command& cmd) noexcept;

// posix_spawn: the file actions and attributes of the options. Throws
// Error(Step::spawn_attributes), or Error(EPERM, Step::setgroups / setgid /
// setuid) when credentials are asked for by a process that is not root.
void add_spawn_options(const Command& cmd, const SpawnPlan& plan, posix_spawnattr_t* attr,
                       posix_spawn_file_actions_t* actions);

// In the forked child (async-signal-safe: system calls only), after the
// descriptors are placed and before the hooks: closes what close_other_fds
// does not keep, then sets groups, gid, uid. Keeps `step` at the step it is
// in; returns 0 or the errno of the step that failed.
int apply_forked_child_options(const Command& cmd, const SpawnPlan& plan, Step& step) noexcept;

}  // namespace taskport::backend
