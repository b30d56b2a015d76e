// SPDX-License-Identifier: MIT
// Spawn benchmark `posix_spawn_pidfd`: glibc posix_spawn (clone(CLONE_VM|
// CLONE_VFORK) plus signal resets; it reports a failed execve itself), then
// pidfd_open on the new pid for a race-free handle.
#include <spawn.h>
#include <unistd.h>

#include "harness/harness.hpp"

int main(int argc, char** argv) {
  using namespace taskport_bench;
  Options o = parse_options(argc, argv, {"posix_spawn_pidfd"});
  char* const* targv = target_argv(o.target);

  int pidfd = -1;
  Method method{"posix_spawn_pidfd",
                [&] {
                  pid_t pid;
                  int rc = posix_spawn(&pid, targv[0], nullptr, nullptr, targv, environ);
                  if (rc != 0) throw_errno(rc, "posix_spawn");
                  pidfd = open_pidfd(pid);
                },
                [&] { reap_pidfd(pidfd); }};
  return run_spawn_benchmarks(argc, argv, {method});
}
