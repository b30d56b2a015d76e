// SPDX-License-Identifier: MIT
// tp_spawn_driver plain|options PROGRAM — one spawn of PROGRAM (waited for)
// in a process of its own, for strace to list the system calls a spawn
// makes: "plain" with no option set, "options" with close_other_fds, rlimit
// and uid (of this process: allowed for anyone) set.
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>

#include "taskport/taskport.hpp"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  taskport::Command cmd(argv[2]);
  if (std::strcmp(argv[1], "options") == 0) {
    rlimit core{};
    ::getrlimit(RLIMIT_CORE, &core);
    cmd.close_other_fds().rlimit(RLIMIT_CORE, core.rlim_cur, core.rlim_max).uid(::getuid());
  }
  return cmd.spawn().wait().success() ? 0 : 1;
}
