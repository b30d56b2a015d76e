// SPDX-License-Identifier: MIT
// LaunchPlan: what both POSIX spawn paths (Linux clone + execve, macOS
// posix_spawn or fork + exec) prepare in the parent from a Command — argv,
// the child's environment, and the plan of its descriptors: the pipes and
// /dev/null of its stdio and where each descriptor goes. Each platform
// extends it with its own extras (linux/exec_plan.hpp, macos/spawn_plan.hpp).
//
// The invariant it exists for: the code between fork/clone and exec may
// not allocate (Linux: it runs in the parent's address space), so every
// string, array and descriptor the child needs is made here, in the parent,
// and everything the parent can check is checked here, where the Error can
// name the step (a failure inside the child says less, and posix_spawn
// reports one errno for the whole launch).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "taskport/command.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport::posix {

// One placement: the parent's descriptor `source_fd` at number `child_fd` in
// the child.
struct Redirect {
  int child_fd;
  int source_fd;
};

struct LaunchPlan {
  // argv points into the Command's strings: a plan never outlives the
  // spawn call of the Command it was built from.
  std::vector<char*> argv;     // NULL-terminated
  std::vector<char*> sh_argv;  // "/bin/sh", <script>, argv[1..], NULL — for ENOEXEC

  std::vector<std::string> env_storage;
  std::vector<char*> env_ptrs;  // NULL-terminated, when the environment is edited
  char** envp = nullptr;        // what exec gets: env_ptrs, or the parent's environment as it is

  // One per child_fd (the last placement asked for a number wins), each
  // source checked to be open. The child first parks a copy of every source
  // at or above scratch_fd_floor (above every number involved, where there
  // is room: scratch_fd_floor + i is an int for every slot i), then places
  // the copies, so that no placement clobbers another's source (e.g. a swap
  // of fds 3 and 4).
  std::vector<Redirect> redirects;
  int scratch_fd_floor = 3;

  // Descriptors this spawn created: the parent's ends of the pipes go to the
  // Child, the rest close with the plan (once the child has exec'd).
  UniqueFd null_fd;
  UniqueFd child_ends[3];
  UniqueFd parent_ends[3];
};

// Fills `plan` for one spawn of `cmd`: argv, the environment (`parent_env`, a
// NULL-terminated environ, edited as the Command says, then `extra_env` set
// on top), stdio and inherit_fd() placements. Throws Error: Step::open_null,
// Step::create_pipe, Step::redirect_fds (EBADF: a negative or not-open source
// descriptor — before any child exists).
void build_launch_plan(const Command& cmd, char** parent_env,
                       const std::vector<std::pair<std::string, std::string>>& extra_env, LaunchPlan& plan);

// pipe() with both ends close-on-exec. Returns 0, or -1 with errno set.
int cloexec_pipe(int fds[2]) noexcept;

}  // namespace taskport::posix
