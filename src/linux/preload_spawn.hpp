// SPDX-License-Identifier: MIT
// Command::spawn_with_task() with task_via_preload(): the Task comes from
// the program itself, sent by the preload library's initializer.
#pragma once

#include <utility>

#include "taskport/child.hpp"
#include "taskport/command.hpp"
#include "taskport/task.hpp"

namespace taskport::backend::rendezvous {

std::pair<Child, Task> spawn_with_task_via_preload(const Command& cmd);

}  // namespace taskport::backend::rendezvous
