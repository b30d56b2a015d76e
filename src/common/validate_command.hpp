// SPDX-License-Identifier: MIT
// What a Command must be to be spawned, checked in the parent before a
// spawn creates anything (Step::validate_command, errno EINVAL). The same on
// every platform; every spawn path calls it first. In the spawn, not in the
// Command's setters: so that a spawn form that reports errors without
// throwing can report these too.
#pragma once

#include "taskport/command.hpp"

namespace taskport::common {

// Throws Error(EINVAL, Step::validate_command, program), the detail naming
// the field, if `cmd` cannot be spawned the way asked:
//   * a NUL byte in the program, an argument, arg0, the working directory,
//     an environment key or value (execve and chdir take C strings: the
//     child would get them cut short — Rust std and CPython refuse them
//     alike);
//   * an environment key that is empty or contains '=' (the child would
//     get another variable than the one named);
//   * process options that cannot be (validate_options below);
//   * `with_task` false (Command::spawn) while start_suspended() (nothing
//     could resume the child) or task_via_preload() (the handle would have
//     nowhere to go) is set.
void validate_command(const Command& cmd, bool with_task);

// The process options (validate_options.cpp): Error(EINVAL,
// Step::validate_command) for an rlimit whose soft limit is above its hard
// one or more groups than NGROUPS_MAX; Error(ENOTSUP) for rlimit on macOS.
// Called by validate_command.
void validate_options(const Command& cmd);

}  // namespace taskport::common
