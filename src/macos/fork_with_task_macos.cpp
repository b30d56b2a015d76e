// SPDX-License-Identifier: MIT
// fork_with_task on macOS: the seed crate's technique, which is sound here
// because no exec follows — the forked child sends mach_task_self() (its
// own, new task) through a Mach rendezvous before it runs `fn`.
#include <errno.h>
#include <servers/bootstrap.h>
#include <unistd.h>

#include <cstring>

#include "common/child_access.hpp"
#include "common/child_guard.hpp"
#include "common/pid_program.hpp"
#include "macos/exit_watch.hpp"
#include "macos/rendezvous_accept.hpp"
#include "macos/rendezvous_child.hpp"
#include "macos/rendezvous_server.hpp"
#include "taskport/error.hpp"
#include "taskport/fork_with_task.hpp"

namespace taskport {
namespace {

// The child sends first thing; this only bounds a child stuck before that.
constexpr std::chrono::seconds kAcceptTimeout{30};

}  // namespace

std::pair<Child, Task> fork_with_task(const std::function<int()>& fn) {
  // Until the child exists, errors name this process (taskport/error.hpp).
  // The launchd route: a forked child inherits no port rights of ours but
  // its special and registered ports (osfmk/kern/ipc_tt.c ipc_task_init),
  // and taskport does not lend this process's registered slot to a fork.
  backend::rendezvous::Server server(backend::rendezvous::Server::Route::launchd,
                                     common::pid_program(::getpid()));
  // Copied before fork: the child reads no std::string after it.
  name_t name;
  std::memset(name, 0, sizeof name);
  std::strncpy(name, server.name().c_str(), sizeof name - 1);

  const pid_t pid = ::fork();
  if (pid < 0) throw Error(errno, Step::fork, common::pid_program(::getpid()));
  if (pid == 0) {
    // bootstrap_look_up goes through libxpc, which has fork handlers of
    // its own; the same hazard as any library call after fork (see the
    // header). 126: could not hand over the task port.
    if (!backend::rendezvous::send_task_port(name, false).ok()) ::_exit(126);
    ::_exit(fn());
  }

  const std::string program = common::pid_program(pid);
  UniqueFd watch = backend::watch_new_child(pid, program);
  Child child = detail::ChildAccess::make(pid, std::move(watch), program);
  common::ChildGuard guard(child);
  common::Expectation expect = common::expect_from(child);
  expect.deadline = std::chrono::steady_clock::now() + kAcceptTimeout;
  backend::rendezvous::Handoff handoff = backend::rendezvous::accept_handoff(server, expect);
  Task task = backend::rendezvous::make_task(std::move(handoff.task), handoff.identity, program);
  guard.dismiss();
  return {std::move(child), std::move(task)};
}

}  // namespace taskport
