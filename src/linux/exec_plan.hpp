// SPDX-License-Identifier: MIT
// ExecPlan: everything the child needs between clone and execve, prepared in
// the parent so that the child only reads memory and issues system calls.
//
// The invariant this file exists for: the child runs in the parent's address
// space (CLONE_VM) and may not allocate, lock, or call anything that is not
// async-signal-safe. So every string, array and descriptor it needs is built
// here, in the parent, before clone.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "taskport/command.hpp"
#include "taskport/error.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport::backend {

struct Redirect {
  int child_fd;   // number the descriptor gets in the child
  int source_fd;  // descriptor in the parent's table (inherited by the child)
};

struct ExecPlan {
  // The file to execve: the program as given, or what the PATH search in
  // the parent found.
  std::string path;

  std::vector<std::string> argv_storage;
  std::vector<char*> argv;     // NULL-terminated
  std::vector<char*> sh_argv;  // "/bin/sh", <script>, argv[1..], NULL — for ENOEXEC

  std::vector<std::string> env_storage;
  std::vector<char*> env_ptrs;  // NULL-terminated, used when the env is edited
  char** envp = nullptr;        // what execve gets

  const char* cwd = nullptr;

  std::vector<Redirect> redirects;
  int scratch_fd_floor = 3;  // above every child_fd and source_fd

  bool setsid = false;
  bool setpgid = false;
  pid_t pgid = 0;
  bool traceme = false;
  const std::vector<PreExecHook>* hooks = nullptr;

  // Descriptors this spawn created; the parent's ends of pipes are handed to
  // the Child, the rest close when the plan goes away (after clone returned).
  UniqueFd null_fd;
  UniqueFd child_ends[3];
  UniqueFd parent_ends[3];
};

// Builds the plan for one spawn of `cmd`. Throws Error on failure (pipes,
// /dev/null, an empty program name).
void build_exec_plan(const Command& cmd, ExecPlan& plan);

}  // namespace taskport::backend
