// SPDX-License-Identifier: MIT
// The macOS spawn path: Command::spawn and Command::spawn_with_task.
//
// spawn() is posix_spawn (fork + exec only for pre_exec hooks, launch.hpp).
// spawn_with_task() cannot simply take a task port: the only Mach route to
// another process's port, task_for_pid, needs root or a debugger
// entitlement; and a port taken before exec names the old task, which exec
// terminates (README "macOS: the exec finding"). So the child sends its own
// task port *after* exec: the preload dylib is inserted with
// DYLD_INSERT_LIBRARIES, and its constructor, before main, hands
// mach_task_self() over through a Rendezvous (rendezvous_protocol.hpp).
// Command::task_via_preload() is therefore implied on macOS. Right after
// posix_spawn returns, the child's code-signing state and executable say
// whether dyld will honour the variable (dyld_policy.hpp): a refusal is
// reported then, with the child killed and reaped, not after the timeout.
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/child_access.hpp"
#include "common/child_guard.hpp"
#include "common/command_access.hpp"
#include "common/preload_library.hpp"
#include "common/validate_command.hpp"
#include "macos/dyld_policy.hpp"
#include "macos/exit_watch.hpp"
#include "macos/launch.hpp"
#include "macos/rendezvous_accept.hpp"
#include "macos/rendezvous_protocol.hpp"
#include "macos/spawn_plan.hpp"
#include "macos/wait_status.hpp"
#include "taskport/command.hpp"
#include "taskport/error.hpp"
#include "taskport/rendezvous.hpp"

namespace taskport {
namespace {

using backend::SpawnPlan;

Child make_child(const Command& cmd, pid_t pid, SpawnPlan& plan) {
  UniqueFd watch = backend::watch_new_child(pid, cmd.get_program());
  return detail::ChildAccess::make(pid, std::move(watch), cmd.get_program(), std::move(plan.parent_ends[0]),
                                   std::move(plan.parent_ends[1]), std::move(plan.parent_ends[2]));
}

// The child's DYLD_INSERT_LIBRARIES: the preload first, then whatever the
// child would have had.
std::string insert_libraries(const Command& cmd, const std::string& preload) {
  std::string value = preload;
  const char* existing = nullptr;
  const auto& edits = cmd.get_envs();
  bool edited = false;
  for (auto it = edits.rbegin(); it != edits.rend(); ++it) {
    if (it->key == "DYLD_INSERT_LIBRARIES") {
      edited = true;
      if (it->value) existing = it->value->c_str();
      break;
    }
  }
  if (!edited && !cmd.get_env_clear()) existing = ::getenv("DYLD_INSERT_LIBRARIES");
  if (existing != nullptr && *existing != '\0') value += std::string(":") + existing;
  return value;
}

// The signal that ended our unreaped child `pid`, or 0 (still running,
// exited normally, or unknown). Never reaps (WNOWAIT).
int killing_signal(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
    return 0;
  return info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED ? info.si_status : 0;
}

// Rendezvous::accept, with a hint added to the errors that mean the preload
// did not run (the child exited, or nothing came in time).
Task accept_with_hint(Rendezvous& rendezvous, const Child& child, std::chrono::milliseconds timeout,
                      const std::string& path, const backend::DyldVerdict& verdict) {
  try {
    return rendezvous.accept(child, timeout);
  } catch (const Error& e) {
    if (e.step() != Step::accept_task || (e.errno_value() != ESRCH && e.errno_value() != ETIMEDOUT)) throw;
    // The preload ran and sent; the program just ended at once.
    if (std::string(e.what()).find(backend::rendezvous::kSentButEnded) != std::string::npos) throw;
    const int signal = e.errno_value() == ESRCH ? killing_signal(child.pid()) : 0;
    throw Error(e.errno_value(), Step::accept_task, child.program(),
                std::string(e.what()) + "; " + backend::preload_hint(path, verdict, signal));
  }
}

// The registered-ports route passes the port as a posix_spawn attribute; a
// spawn with pre_exec hooks forks instead (launch.hpp).
void validate_route(const Command& cmd, mach_port_t registered_port) {
  if (MACH_PORT_VALID(registered_port) && !detail::CommandAccess::pre_exec_hooks(cmd).empty()) {
    throw Error(
        EINVAL, Step::validate_command, cmd.get_program(),
        "the registered-ports route of the rendezvous (a sandbox without mach-register, or "
        "Command::MachRoute::registered_ports) passes its port through posix_spawn, and pre_exec hooks "
        "need fork + exec: use one or the other");
  }
}

}  // namespace

Command& Command::mach_route(MachRoute route) {
  mach_route_ = route;
  return *this;
}

Child Command::spawn() const {
  common::validate_command(*this, false);
  const mach_port_t registered = detail::CommandAccess::registered_port(*this);
  validate_route(*this, registered);
  SpawnPlan plan;
  plan.registered_port = registered;
  backend::build_spawn_plan(*this, {}, plan);
  const backend::Launched launched = backend::launch(*this, plan);
  return make_child(*this, launched.pid, plan);
}

std::pair<Child, Task> Command::spawn_with_task() const {
  common::validate_command(*this, true);
  // macOS gets a task port from the program itself, through this library;
  // dyld resolves a relative path against the child's working directory,
  // which current_dir() may change: find_preload_library's is absolute.
  const std::string preload = common::find_preload_library(get_program());
  // With start_suspended the child waits in the preload's constructor,
  // before main, until we have suspended it and let it go.
  const bool suspended = detail::CommandAccess::start_suspended(*this);
  Rendezvous rendezvous(suspended ? Rendezvous::Start::when_let_go : Rendezvous::Start::at_once,
                        detail::CommandAccess::mach_route(*this));
  Rendezvous::ChildSetup setup = rendezvous.child_setup();
  validate_route(*this, setup.registered_port);
  std::vector<std::pair<std::string, std::string>> extra = std::move(setup.env);
  // Blank the other route's variable, should the Command's environment have
  // one (the child side takes an empty one for none).
  extra.emplace_back(
      setup.registered_port != 0 ? backend::rendezvous::kNameVariable : backend::rendezvous::kSlotVariable,
      "");
  extra.emplace_back("DYLD_INSERT_LIBRARIES", insert_libraries(*this, preload));

  SpawnPlan plan;
  plan.registered_port = setup.registered_port;
  backend::build_spawn_plan(*this, extra, plan);
  const backend::Launched launched = backend::launch(*this, plan);
  Child child = make_child(*this, launched.pid, plan);
  common::ChildGuard guard(child);  // kills and reaps the child if anything below throws

  const backend::DyldVerdict verdict = backend::check_dyld_policy(launched.pid, launched.path, preload);
  if (verdict.refuse != 0) {
    throw Error(verdict.refuse, Step::accept_task, get_program(),
                "refused at once, before waiting for the preload: " + verdict.reason);
  }
  Task task = accept_with_hint(rendezvous, child, detail::CommandAccess::preload_timeout(*this),
                               launched.path, verdict);
  if (suspended) {
    task.suspend();
    rendezvous.let_go();  // it runs on only when the Task resumes it
  }
  guard.dismiss();
  return {std::move(child), std::move(task)};
}

}  // namespace taskport
