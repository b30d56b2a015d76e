// SPDX-License-Identifier: MIT
// Spawn benchmarks of the kernel's floor:
//   floor                raw clone(CLONE_VM|CLONE_VFORK) + execve and nothing
//                        else — no handle, no signal-mask or handler reset.
//                        The physical limit of spawning on Linux.
//   floor_pidfd_signals  the floor plus exactly what taskport guarantees and
//                        nothing of taskport's code: a pidfd from the clone
//                        itself and a second one (F_DUPFD_CLOEXEC) for the
//                        Task, which outlives the Child on its own handle
//                        (task.hpp), every signal blocked in the parent around the
//                        clone (restored after), the handlers reset by the
//                        kernel (clone3's CLONE_CLEAR_SIGHAND), the child
//                        restoring the parent's mask before execve. It uses
//                        taskport's clone3 stub (src/linux/clone3.cpp is
//                        compiled into this program): there is no other way
//                        to run a CLONE_VM child of clone3 on its own stack.
//   floor_suspended      the floor of taskport_suspended: the child asks
//                        PTRACE_TRACEME before execve, the parent waits for
//                        the post-exec SIGTRAP stop with a blocking waitpid
//                        (which taskport cannot use: an application's
//                        waitpid(-1) could take that report first); detached
//                        and reaped outside the timed region.
// The parent resumes once the child has exec'd (or died); a failed execve
// leaves its errno in shared memory (CLONE_VM), so the caller knows exec
// succeeded at no extra cost.
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>

#include "harness/harness.hpp"
#include "linux/clone3.hpp"

namespace {

struct FloorChild {
  const char* path;
  char* const* argv;
  char* const* envp;
  std::uint64_t parent_mask;
  volatile int exec_errno;
};

int floor_child(void* arg) {
  auto* c = static_cast<FloorChild*>(arg);
  execve(c->path, c->argv, c->envp);
  c->exec_errno = errno;
  _exit(127);
}

// Raw rt_sigprocmask, as taskport does (glibc's wrapper keeps its own two
// signals open); the kernel's set is 8 bytes.
long set_mask(const std::uint64_t* mask, std::uint64_t* old) {
  return syscall(SYS_rt_sigprocmask, SIG_SETMASK, mask, old, 8);
}

int guarded_child(void* arg) {
  auto* c = static_cast<FloorChild*>(arg);
  set_mask(&c->parent_mask, nullptr);
  execve(c->path, c->argv, c->envp);
  c->exec_errno = errno;
  _exit(127);
}

int traced_child(void* arg) {
  auto* c = static_cast<FloorChild*>(arg);
  if (syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) != 0) _exit(126);
  execve(c->path, c->argv, c->envp);
  c->exec_errno = errno;
  _exit(127);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace taskport_bench;
  Options o = parse_options(argc, argv, {"floor", "floor_pidfd_signals", "floor_suspended"});
  static FloorChild child{nullptr, nullptr, nullptr, 0, 0};
  child.path = o.target.c_str();
  child.argv = target_argv(o.target);
  child.envp = environ;

  constexpr std::size_t kStack = 64 * 1024;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return 1;
  char* stack_top = static_cast<char*>(stack) + kStack;

  pid_t pid = -1;
  int pidfd = -1, task_pidfd = -1;
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
  Method guarded{"floor_pidfd_signals",
                 [&] {
                   child.exec_errno = 0;
                   const std::uint64_t all = ~std::uint64_t{0};
                   set_mask(&all, &child.parent_mask);
                   pid = taskport::backend::clone3_vfork(guarded_child, &child, stack, kStack, &pidfd);
                   const int clone_errno = errno;
                   set_mask(&child.parent_mask, nullptr);
                   if (pid < 0) throw_errno(clone_errno, "clone3");
                   if (child.exec_errno != 0) {
                     reap_pidfd(pidfd);  // the child exited 127
                     throw_errno(child.exec_errno, "execve");
                   }
                   task_pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
                   if (task_pidfd < 0) throw_errno(errno, "F_DUPFD_CLOEXEC");
                 },
                 [&] {
                   close(task_pidfd);
                   reap_pidfd(pidfd);
                 }};
  Method suspended{"floor_suspended",
                   [&] {
                     child.exec_errno = 0;
                     pid = clone(traced_child, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
                     if (pid < 0) throw_errno(errno, "clone");
                     int status = 0;
                     if (waitpid(pid, &status, 0) != pid) throw_errno(errno, "waitpid");
                     if (child.exec_errno != 0) throw_errno(child.exec_errno, "execve");
                     if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP)
                       throw_errno(ECHILD, "no post-exec stop");
                   },
                   [&] {
                     ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
                     reap_pid(pid);
                   }};
  return run_spawn_benchmarks(argc, argv, {floor, guarded, suspended});
}
