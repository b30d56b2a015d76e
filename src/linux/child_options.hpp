// SPDX-License-Identifier: MIT
// The process options a Linux child applies itself between clone and execve
// (Command::close_other_fds, rlimit, groups, gid, uid), prepared in the
// parent like the rest of the ExecPlan: the child only reads these fields
// and issues raw system calls (child_exec.cpp). An option that is not set
// leaves its field empty and costs the child no system call.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "posix/launch_plan.hpp"
#include "taskport/command.hpp"

namespace taskport::backend {

struct ChildOptions {
  // close_other_fds(): every descriptor but these (ascending, no duplicates:
  // 0-2 and every placement's child_fd) is closed.
  bool close_fds = false;
  std::vector<int> keep_fds;

  // rlimit(): prlimit64 of each, in order.
  struct Limit {
    int resource;
    std::uint64_t soft, hard;
  };
  std::vector<Limit> limits;

  // groups() (set_groups), or uid() without groups() (drop_groups:
  // setgroups(0), a refusal ignored), then gid(), then uid().
  bool set_groups = false;
  bool drop_groups = false;
  std::vector<gid_t> groups;
  bool set_gid = false;
  gid_t gid = 0;
  bool set_uid = false;
  uid_t uid = 0;
};

// Fills `options` from `cmd`; `plan` gives the placements to keep.
void build_child_options(const Command& cmd, const posix::LaunchPlan& plan, ChildOptions& options);

}  // namespace taskport::backend
