// SPDX-License-Identifier: MIT
// The backends' view of a Command: everything a spawn needs beyond the
// public read-backs (Command::get_*). Internal: a friend of Command, so the
// public header offers users only the Rust-style read-backs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "taskport/command.hpp"

namespace taskport::detail {

struct CommandAccess {
  // argv[0] if arg0() set one.
  static const std::optional<std::string>& arg0(const Command& c) noexcept { return c.arg0_; }
  // stdin (0), stdout (1) or stderr (2).
  static const Stdio& stdio(const Command& c, int n) noexcept { return c.stdio_[n]; }
  static const std::vector<Command::FdMapping>& fd_mappings(const Command& c) noexcept { return c.fds_; }
  static std::optional<pid_t> process_group(const Command& c) noexcept { return c.pgid_; }
  static bool new_session(const Command& c) noexcept { return c.setsid_; }
  static bool start_suspended(const Command& c) noexcept { return c.suspended_; }
  static const std::vector<PreExecHook>& pre_exec_hooks(const Command& c) noexcept { return c.hooks_; }
  static bool task_via_preload(const Command& c) noexcept { return c.via_preload_; }
  static std::chrono::milliseconds preload_timeout(const Command& c) noexcept { return c.preload_timeout_; }
  // True once standard_input() (0), standard_output() (1) or standard_error() (2) was called.
  static bool stdio_set(const Command& c, int n) noexcept { return c.stdio_set_[n]; }
  static bool close_other_fds(const Command& c) noexcept { return c.close_other_fds_; }
  static const std::optional<uid_t>& uid(const Command& c) noexcept { return c.uid_; }
  static const std::optional<gid_t>& gid(const Command& c) noexcept { return c.gid_; }
  static const std::optional<std::vector<gid_t>>& groups(const Command& c) noexcept { return c.groups_; }
  static const std::vector<Command::ResourceLimit>& rlimits(const Command& c) noexcept { return c.rlimits_; }
#if defined(__APPLE__)
  static Command::MachRoute mach_route(const Command& c) noexcept { return c.mach_route_; }
  // The send right Rendezvous::prepare gave the child for registered slot 2
  // (0: none). Borrowed: the Rendezvous owns it and outlives the spawn.
  static unsigned registered_port(const Command& c) noexcept { return c.registered_port_; }
  static void set_registered_port(Command& c, unsigned port) noexcept { c.registered_port_ = port; }
#endif
};

}  // namespace taskport::detail
