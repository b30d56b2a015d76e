// SPDX-License-Identifier: MIT
// Spawn benchmark `floor`: raw clone(CLONE_VM|CLONE_VFORK) + execve and
// nothing else — no handle, no signal-mask or handler reset. The physical
// limit of spawning on Linux. The parent resumes once the child has exec'd
// (or died); a failed execve leaves its errno in shared memory (CLONE_VM),
// so the caller knows exec succeeded at no extra cost.
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "harness/harness.hpp"

namespace {

struct FloorChild {
  const char* path;
  char* const* argv;
  char* const* envp;
  volatile int exec_errno;
};

int floor_child(void* arg) {
  auto* c = static_cast<FloorChild*>(arg);
  execve(c->path, c->argv, c->envp);
  c->exec_errno = errno;
  _exit(127);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace taskport_bench;
  Options o = parse_options(argc, argv, {"floor"});
  static FloorChild child{nullptr, nullptr, nullptr, 0};
  child.path = o.target.c_str();
  child.argv = target_argv(o.target);
  child.envp = environ;

  constexpr std::size_t kStack = 64 * 1024;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return 1;
  char* stack_top = static_cast<char*>(stack) + kStack;

  pid_t pid = -1;
  Method floor{"floor",
               [&] {
                 child.exec_errno = 0;
                 pid = clone(floor_child, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
                 if (pid < 0) throw_errno(errno, "clone");
                 if (child.exec_errno != 0) {
                   waitpid(pid, nullptr, 0);  // the child exited 127
                   throw_errno(child.exec_errno, "execve");
                 }
               },
               [&] { reap_pid(pid); }};
  return run_spawn_benchmarks(argc, argv, {floor});
}
