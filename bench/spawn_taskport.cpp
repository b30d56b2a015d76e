// SPDX-License-Identifier: MIT
// Spawn benchmarks of taskport itself:
//   taskport            Command::spawn_with_task()
//   taskport_hook       the same with a trivial pre-exec hook (returns 0)
//   taskport_suspended  the same with start_suspended(); timed until the
//                       Task is held (the child is stopped after its exec),
//                       then resumed and reaped outside the timed region.
// spawn_with_task() returns only once execve has succeeded, with the pidfd
// in the Task, so the call itself is the timed region.
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <taskport/taskport.hpp>

#include "harness/harness.hpp"

namespace {

using taskport_bench::Method;

// `suspended`: cmd has start_suspended(), so each child is resumed before it is reaped.
Method taskport_method(std::string name, taskport::Command cmd, bool suspended = false) {
  auto spawned = std::make_shared<std::optional<std::pair<taskport::Child, taskport::Task>>>();
  auto command = std::make_shared<const taskport::Command>(std::move(cmd));
  return Method{std::move(name),
                [=] {
                  spawned->emplace(command->spawn_with_task());
                  if (spawned->value().second.native_handle() < 0) throw std::runtime_error("no task handle");
                },
                [=] {
                  auto& [child, task] = spawned->value();
                  if (suspended) task.resume();
                  taskport::ExitStatus status = child.wait();
                  spawned->reset();
                  if (!status.success()) throw std::runtime_error("child did not exit 0");
                }};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace taskport_bench;
  Options o = parse_options(argc, argv, {"taskport", "taskport_hook", "taskport_suspended"});

  taskport::Command plain(o.target);
  taskport::Command hook(o.target);
  hook.pre_exec([] { return 0; });
  taskport::Command suspended(o.target);
  suspended.start_suspended();

  return run_spawn_benchmarks(argc, argv,
                              {taskport_method("taskport", plain), taskport_method("taskport_hook", hook),
                               taskport_method("taskport_suspended", suspended, true)});
}
