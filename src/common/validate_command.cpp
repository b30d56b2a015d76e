// SPDX-License-Identifier: MIT
#include "common/validate_command.hpp"

#include <errno.h>

#include <string>

#include "common/command_access.hpp"
#include "taskport/error.hpp"

namespace taskport::common {
namespace {

Error invalid(const Command& cmd, const std::string& detail) {
  return Error(EINVAL, Step::validate_command, cmd.get_program(), detail);
}

// `field` holds no NUL byte.
void check_c_string(const Command& cmd, const std::string& value, const std::string& field) {
  const auto at = value.find('\0');
  if (at == std::string::npos) return;
  throw invalid(cmd, field + " contains a NUL byte (at offset " + std::to_string(at) +
                         "): the child would get it cut short there");
}

void check_environment(const Command& cmd) {
  for (const auto& edit : cmd.get_envs()) {
    const std::string call = edit.value ? "env()" : "env_remove()";
    check_c_string(cmd, edit.key, "the key of " + call);
    if (edit.key.empty()) throw invalid(cmd, "the key of " + call + " is empty: no variable has that name");
    if (edit.key.find('=') != std::string::npos) {
      throw invalid(cmd, "the key of " + call + " '" + edit.key +
                             "' contains '=': the child would see the variable '" +
                             edit.key.substr(0, edit.key.find('=')) + "'");
    }
    if (edit.value) check_c_string(cmd, *edit.value, "the value of env(\"" + edit.key + "\")");
  }
}

void check_strings(const Command& cmd) {
  check_c_string(cmd, cmd.get_program(), "the program");
  if (const auto& arg0 = detail::CommandAccess::arg0(cmd)) check_c_string(cmd, *arg0, "arg0");
  const auto& args = cmd.get_args();
  for (size_t i = 0; i < args.size(); ++i) check_c_string(cmd, args[i], "argument " + std::to_string(i + 1));
  if (const auto& dir = cmd.get_current_dir()) check_c_string(cmd, *dir, "current_dir");
  check_environment(cmd);
}

}  // namespace

void validate_command(const Command& cmd, bool with_task) {
  check_strings(cmd);
  validate_options(cmd);
  if (with_task) return;
  if (detail::CommandAccess::start_suspended(cmd)) {
    throw invalid(cmd, "start_suspended needs spawn_with_task(): nothing could resume it");
  }
  if (detail::CommandAccess::task_via_preload(cmd))
    throw invalid(cmd, "task_via_preload needs spawn_with_task()");
}

}  // namespace taskport::common
