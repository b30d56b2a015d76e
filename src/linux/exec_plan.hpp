// SPDX-License-Identifier: MIT
// ExecPlan: everything the child needs between clone and execve, prepared in
// the parent so that the child only reads memory and issues system calls.
//
// The invariant this file exists for: the child runs in the parent's address
// space (CLONE_VM) and may not allocate, lock, or call anything that is not
// async-signal-safe. So every string, array and descriptor it needs is built
// here, in the parent, before clone. The part every POSIX spawn needs is
// posix::LaunchPlan; this adds what the Linux child does itself.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "linux/child_options.hpp"
#include "posix/launch_plan.hpp"
#include "taskport/command.hpp"

namespace taskport::backend {

struct ExecPlan : posix::LaunchPlan {
  // The file to execve: the program as given, or what the PATH search in
  // the parent found (its first candidate that exists and is executable).
  std::string path;
  // A PATH search only: the candidates after `path`, which the child tries
  // in order only when execve itself says the search goes on
  // (posix::path_search_goes_on: a "#!" naming a missing interpreter, say);
  // and whether a candidate before `path` was not runnable (EACCES, then
  // reported if nothing runs).
  std::vector<std::string> later_candidates;
  bool saw_eacces = false;
  const char* cwd = nullptr;
  bool setsid = false;
  bool setpgid = false;
  pid_t pgid = 0;
  bool traceme = false;
  const std::vector<PreExecHook>* hooks = nullptr;
  // Every redirect's child_fd, sorted: where there is no room above them
  // for the scratch copies (scratch_fd_floor at RLIMIT_NOFILE), the child
  // parks them below, on numbers that are none of these.
  std::vector<int> child_fds_sorted;
  ChildOptions options;
};

// Builds the plan for one spawn of `cmd`. Throws Error on failure (the PATH
// search, pipes, /dev/null, descriptors that are not open).
void build_exec_plan(const Command& cmd, ExecPlan& plan);

}  // namespace taskport::backend
