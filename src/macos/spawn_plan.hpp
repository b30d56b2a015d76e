// SPDX-License-Identifier: MIT
// SpawnPlan: everything one macOS spawn needs, prepared in the parent —
// candidates of the PATH search, argv, the child's environment, the pipes
// and /dev/null of its stdio, and the descriptor placements. Used by both
// launch paths: posix_spawn (no hooks) and fork + exec (pre_exec hooks).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "taskport/command.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport::backend {

struct Redirect {
  int child_fd;   // number the descriptor gets in the child
  int source_fd;  // descriptor in the parent's table
};

struct SpawnPlan {
  std::vector<std::string> candidates;  // execve candidates in order (execvp semantics)

  std::vector<std::string> argv_storage;
  std::vector<char*> argv;     // NULL-terminated
  std::vector<char*> sh_argv;  // "/bin/sh", <script>, argv[1..], NULL — for ENOEXEC

  std::vector<std::string> env_storage;
  std::vector<char*> envp;  // NULL-terminated

  std::vector<Redirect> redirects;
  int scratch_fd_floor = 3;  // above every child_fd and source_fd

  UniqueFd null_fd;
  UniqueFd child_ends[3];
  UniqueFd parent_ends[3];
};

// Builds the plan for `cmd`, with `extra_env` set in the child's environment
// on top of the Command's (later entries win). Throws Error on failure.
void build_spawn_plan(const Command& cmd, const std::vector<std::pair<std::string, std::string>>& extra_env,
                      SpawnPlan& plan);

// The value `key` will have in the child's environment (after the Command's
// edits), if any.
const char* child_env_value(const SpawnPlan& plan, const std::string& key);

}  // namespace taskport::backend
