// SPDX-License-Identifier: MIT
#include "common/validate_command.hpp"

#include <errno.h>

#include "common/command_access.hpp"
#include "taskport/error.hpp"

namespace taskport::common {

void validate_command(const Command& cmd, bool with_task) {
  validate_options(cmd);
  if (with_task) return;
  if (detail::CommandAccess::start_suspended(cmd)) {
    throw Error(EINVAL, Step::validate_command, cmd.get_program(),
                "start_suspended needs spawn_with_task(): nothing could resume it");
  }
  if (detail::CommandAccess::task_via_preload(cmd)) {
    throw Error(EINVAL, Step::validate_command, cmd.get_program(),
                "task_via_preload needs spawn_with_task()");
  }
}

}  // namespace taskport::common
