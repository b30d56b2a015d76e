// SPDX-License-Identifier: MIT
// fork_with_task on Linux: glibc fork(), then the child hands over its own
// handle through the rendezvous machinery before it runs the function.
//
// Why fork() and not clone(CLONE_PIDFD) without CLONE_VM: a raw clone skips
// glibc's fork bookkeeping — the atfork handlers that make malloc usable in
// the child, and the update of the thread's cached tid (raise(),
// pthread_kill and recursive mutexes would still act as the parent's
// thread). The function the child runs is user code, so it must get a real
// fork.
// Why the child sends its handle instead of the parent calling
// pidfd_open(pid): the child's own pidfd_open(getpid()) cannot name anything
// else, while a parent-side pidfd_open races with whoever else in the
// process might reap children (a SIGCHLD handler calling waitpid(-1), or
// SIGCHLD set to SIG_IGN); and the child can open /proc/self/mem and
// /proc/self/maps itself, which keep working after the function drops
// privileges or makes itself non-dumpable.
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/child_access.hpp"
#include "common/child_guard.hpp"
#include "common/pid_program.hpp"
#include "linux/rendezvous_accept.hpp"
#include "linux/rendezvous_child.h"
#include "linux/sys.hpp"
#include "taskport/fork_with_task.hpp"

namespace taskport {
namespace {

// In the child: only async-signal-safe calls until `fn` (see the header).
// noexcept: an exception escaping `fn` ends in std::terminate.
[[noreturn]] void run_child(int ours, int theirs, const std::function<int()>& fn) noexcept {
  ::syscall(SYS_close, ours);
  const int rc = tp_rdv_send(theirs, 0);
  ::syscall(SYS_close, theirs);
  if (rc != 0) ::_exit(127);  // the parent sees end-of-file and reports it
  ::_exit(fn());
}

}  // namespace

std::pair<Child, Task> fork_with_task(const std::function<int()>& fn) {
  UniqueFd ours, theirs;
  // Until the child exists, errors name this process (taskport/error.hpp).
  backend::rendezvous::make_socket_pair(ours, theirs, Step::rendezvous, common::pid_program(::getpid()));

  const pid_t pid = ::fork();
  if (pid < 0) throw Error(errno, Step::fork, common::pid_program(::getpid()));
  if (pid == 0) run_child(ours.get(), theirs.get(), fn);
  theirs.reset();
  const std::string program = common::pid_program(pid);

  // Watches for the child's exit while it has not sent yet. An unreaped
  // child's pid cannot be reused, so this names our child — unless something
  // else in this process reaps children behind our back, in which case the
  // handover below (which believes only the child's own pidfd) fails safe.
  UniqueFd watch;
  {
    common::ChildGuard by_pid(pid, -1);
    watch.reset(backend::pidfd_open(pid));
    if (!watch) {
      throw Error(errno, Step::accept_task, program,
                  "pidfd_open of the forked child (was it reaped by someone else?)");
    }
    by_pid.dismiss();
  }
  Child child = detail::ChildAccess::make(pid, std::move(watch), program);
  common::ChildGuard guard(child);

  const common::Expectation expect = common::expect_from(child);
  // No deadline: the child sends before anything else, or dies (its end
  // then closes: end-of-file, or its pidfd polls readable).
  Task task = backend::rendezvous::make_task(backend::rendezvous::receive_handover(ours.get(), expect), pid,
                                             program, /*mem_first=*/false);
  guard.dismiss();
  return {std::move(child), std::move(task)};
}

}  // namespace taskport
