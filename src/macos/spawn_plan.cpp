// SPDX-License-Identifier: MIT
#include "macos/spawn_plan.hpp"

#include <crt_externs.h>
#include <errno.h>

#include "posix/command_env.hpp"
#include "taskport/error.hpp"

namespace taskport::backend {
namespace {

// execvp's fallback when PATH is unset (_PATH_DEFPATH on macOS).
constexpr const char* kDefaultPath = "/usr/bin:/bin";

void add_candidates(const Command& cmd, SpawnPlan& plan) {
  const std::string& program = cmd.get_program();
  if (program.empty()) throw Error(ENOENT, Step::resolve_program, program, "empty program name");
  if (program.find('/') != std::string::npos) {
    plan.candidates.push_back(program);
    return;
  }
  plan.candidates = posix::path_candidates(posix::search_path(cmd, kDefaultPath), program);
}

}  // namespace

void build_spawn_plan(const Command& cmd, const std::vector<std::pair<std::string, std::string>>& extra_env,
                      SpawnPlan& plan) {
  add_candidates(cmd, plan);
  // _NSGetEnviron: a dylib (BUILD_SHARED_LIBS) cannot refer to `environ`.
  posix::build_launch_plan(cmd, *::_NSGetEnviron(), extra_env, plan);
}

}  // namespace taskport::backend
