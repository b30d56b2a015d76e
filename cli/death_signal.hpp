// SPDX-License-Identifier: MIT
// Linux: the child dies when taskport dies, SIGKILL included.
#pragma once

#if defined(__linux__)
#include <sys/types.h>

#include <taskport/command.hpp>

namespace taskport_cli {

// A pre_exec hook that sets PR_SET_PDEATHSIG to SIGKILL in the child, and
// fails the spawn (ESRCH) if `parent` (taskport's pid) died before that.
taskport::PreExecHook die_with_parent(pid_t parent);

}  // namespace taskport_cli
#endif
