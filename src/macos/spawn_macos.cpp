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
// Command::task_via_preload() is therefore implied on macOS.
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/child_access.hpp"
#include "common/child_guard.hpp"
#include "common/command_access.hpp"
#include "common/validate_command.hpp"
#include "macos/dyld_policy.hpp"
#include "macos/exit_watch.hpp"
#include "macos/launch.hpp"
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

// Rendezvous::accept, with `hint` added to the errors that mean the preload
// did not run (the child exited, or nothing came in time).
Task accept_with_hint(Rendezvous& rendezvous, const Child& child, std::chrono::milliseconds timeout,
                      const std::string& hint) {
  try {
    return rendezvous.accept(child, timeout);
  } catch (const Error& e) {
    if (e.step() != Step::accept_task || (e.errno_value() != ESRCH && e.errno_value() != ETIMEDOUT)) throw;
    throw Error(e.errno_value(), Step::accept_task, child.program(), std::string(e.what()) + "; " + hint);
  }
}

}  // namespace

Child Command::spawn() const {
  common::validate_command(*this, false);
  SpawnPlan plan;
  backend::build_spawn_plan(*this, {}, plan);
  const backend::Launched launched = backend::launch(*this, plan);
  return make_child(*this, launched.pid, plan);
}

std::pair<Child, Task> Command::spawn_with_task() const {
  common::validate_command(*this, true);
  std::string preload = preload_library();
  // dyld resolves a relative path against the child's working directory,
  // which current_dir() may change: pass an absolute one.
  if (char* absolute = preload.empty() ? nullptr : ::realpath(preload.c_str(), nullptr)) {
    preload = absolute;
    std::free(absolute);
  }
  if (preload.empty() || ::access(preload.c_str(), R_OK) != 0) {
    throw Error(
        ENOENT, Step::rendezvous, get_program(),
        "preload library '" + preload +
            "' not found: macOS gets a task port from the program itself, through this library (install "
            "taskport, set TASKPORT_PRELOAD_LIBRARY, or call taskport::set_preload_library)");
  }
  // With start_suspended the child waits in the preload's constructor,
  // before main, until we have suspended it and let it go.
  const bool suspended = detail::CommandAccess::start_suspended(*this);
  Rendezvous rendezvous(suspended ? Rendezvous::Start::when_let_go : Rendezvous::Start::at_once);
  std::vector<std::pair<std::string, std::string>> extra = rendezvous.child_setup().env;
  extra.emplace_back("DYLD_INSERT_LIBRARIES", insert_libraries(*this, preload));

  SpawnPlan plan;
  backend::build_spawn_plan(*this, extra, plan);
  const backend::Launched launched = backend::launch(*this, plan);
  Child child = make_child(*this, launched.pid, plan);
  common::ChildGuard guard(child);

  const backend::DyldVerdict verdict = backend::check_dyld_policy(launched.path);
  if (verdict.refuse != 0) throw Error(verdict.refuse, Step::accept_task, get_program(), verdict.reason);
  Task task = accept_with_hint(rendezvous, child, detail::CommandAccess::preload_timeout(*this),
                               backend::preload_hint(launched.path, verdict.reason));
  if (suspended) {
    task.suspend();
    rendezvous.let_go();  // it runs on only when the Task resumes it
  }
  guard.dismiss();
  return {std::move(child), std::move(task)};
}

}  // namespace taskport
