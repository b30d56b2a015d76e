// SPDX-License-Identifier: MIT
// The checks of the process options (rlimit, groups) that can be made in the
// parent, before anything is created: an impossible value is
// Error(EINVAL, Step::validate_command) here, where it can be named, rather
// than an errno from the middle of the child's setup.
#include <errno.h>
#include <limits.h>

#include <string>

#include "common/command_access.hpp"
#include "common/validate_command.hpp"
#include "taskport/error.hpp"

namespace taskport::common {

void validate_options(const Command& cmd) {
  const auto& limits = detail::CommandAccess::rlimits(cmd);
#if defined(__APPLE__)
  if (!limits.empty()) {
    throw Error(ENOTSUP, Step::validate_command, cmd.get_program(),
                "rlimit: macOS's posix_spawn has no attribute for resource limits (call setrlimit in a "
                "pre_exec hook)");
  }
#endif
  for (const Command::ResourceLimit& limit : limits) {
    if (limit.soft > limit.hard) {
      throw Error(EINVAL, Step::validate_command, cmd.get_program(),
                  "rlimit " + std::to_string(limit.resource) + ": the soft limit " +
                      std::to_string(limit.soft) + " is above the hard limit " + std::to_string(limit.hard));
    }
  }
  const auto& groups = detail::CommandAccess::groups(cmd);
  if (groups && groups->size() > static_cast<size_t>(NGROUPS_MAX)) {
    throw Error(EINVAL, Step::validate_command, cmd.get_program(),
                "groups: " + std::to_string(groups->size()) + " groups, more than NGROUPS_MAX (" +
                    std::to_string(NGROUPS_MAX) + ")");
  }
}

}  // namespace taskport::common
