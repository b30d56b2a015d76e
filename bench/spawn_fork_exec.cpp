// SPDX-License-Identifier: MIT
// Spawn benchmark `fork_exec_pidfd`: fork + execve with a CLOEXEC error pipe
// (EOF = exec succeeded, 4 bytes = its errno), then pidfd_open. This is what
// Rust std (and most libraries) fall back to once a pre-exec hook is set:
// fork copies the parent's page tables, so the cost grows with parent RSS.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "harness/harness.hpp"

int main(int argc, char** argv) {
  using namespace taskport_bench;
  Options o = parse_options(argc, argv, {"fork_exec_pidfd"});
  char* const* targv = target_argv(o.target);

  int pidfd = -1;
  Method method{"fork_exec_pidfd",
                [&] {
                  int pipefd[2];
                  if (pipe2(pipefd, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
                  pid_t pid = fork();
                  if (pid < 0) {
                    int err = errno;
                    close(pipefd[0]);
                    close(pipefd[1]);
                    throw_errno(err, "fork");
                  }
                  if (pid == 0) {
                    execve(targv[0], targv, environ);
                    int err = errno;
                    (void)!write(pipefd[1], &err, sizeof err);
                    _exit(127);
                  }
                  close(pipefd[1]);
                  int child_errno = 0;
                  ssize_t got;
                  do got = read(pipefd[0], &child_errno, sizeof child_errno);
                  while (got < 0 && errno == EINTR);
                  int read_errno = errno;
                  close(pipefd[0]);
                  if (got != 0) {
                    waitpid(pid, nullptr, 0);  // the child exited 127
                    throw_errno(got < 0 ? read_errno : child_errno, "execve");
                  }
                  pidfd = open_pidfd(pid);
                },
                [&] { reap_pidfd(pidfd); }};
  return run_spawn_benchmarks(argc, argv, {method});
}
