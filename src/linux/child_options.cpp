// SPDX-License-Identifier: MIT
#include "linux/child_options.hpp"

#include <algorithm>

#include "common/command_access.hpp"

namespace taskport::backend {

void build_child_options(const Command& cmd, const posix::LaunchPlan& plan, ChildOptions& options) {
  using detail::CommandAccess;
  options.close_fds = CommandAccess::close_other_fds(cmd);
  if (options.close_fds) {
    options.keep_fds = {0, 1, 2};
    for (const posix::Redirect& r : plan.redirects) options.keep_fds.push_back(r.child_fd);
    std::sort(options.keep_fds.begin(), options.keep_fds.end());
    options.keep_fds.erase(std::unique(options.keep_fds.begin(), options.keep_fds.end()),
                           options.keep_fds.end());
  }
  for (const Command::ResourceLimit& l : CommandAccess::rlimits(cmd)) {
    options.limits.push_back(
        {l.resource, static_cast<std::uint64_t>(l.soft), static_cast<std::uint64_t>(l.hard)});
  }
  if (const auto& groups = CommandAccess::groups(cmd)) {
    options.set_groups = true;
    options.groups = *groups;
  }
  if (const auto& gid = CommandAccess::gid(cmd)) {
    options.set_gid = true;
    options.gid = *gid;
  }
  if (const auto& uid = CommandAccess::uid(cmd)) {
    options.set_uid = true;
    options.uid = *uid;
    options.drop_groups = !options.set_groups;
  }
}

}  // namespace taskport::backend
