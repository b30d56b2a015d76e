// SPDX-License-Identifier: MIT
#include "macos/spawn_plan.hpp"

#include <crt_externs.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/command_access.hpp"
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

void add_env(const Command& cmd, const std::vector<std::pair<std::string, std::string>>& extra,
             SpawnPlan& plan) {
  // _NSGetEnviron: a dylib (BUILD_SHARED_LIBS) cannot refer to `environ`.
  plan.env_storage = posix::edited_env(cmd, *::_NSGetEnviron());
  auto& env = plan.env_storage;
  for (const auto& kv : extra) posix::env_set(env, kv.first, &kv.second);
  for (auto& e : env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
}

// pipe() + FD_CLOEXEC: macOS has no pipe2. Another thread's fork+exec in
// the window between the two calls could inherit the pipe; taskport's own
// spawns never exec from a fork without closing it (posix_spawn honours
// FD_CLOEXEC set by then).
int cloexec_pipe(int fds[2]) {
  if (::pipe(fds) != 0) return -1;
  for (int i = 0; i < 2; ++i) {
    if (::fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
      const int error = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      errno = error;
      return -1;
    }
  }
  return 0;
}

void add_redirect(SpawnPlan& plan, int child_fd, int source_fd) {
  auto& r = plan.redirects;
  r.erase(std::remove_if(r.begin(), r.end(), [&](const Redirect& x) { return x.child_fd == child_fd; }),
          r.end());
  r.push_back({child_fd, source_fd});
}

void add_stdio(const Command& cmd, SpawnPlan& plan) {
  for (int n = 0; n < 3; ++n) {
    const Stdio& s = detail::CommandAccess::stdio(cmd, n);
    switch (s.kind()) {
      case Stdio::Kind::inherit: break;
      case Stdio::Kind::null:
        if (!plan.null_fd) {
          plan.null_fd.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
          if (!plan.null_fd) throw Error(errno, Step::open_null, cmd.get_program());
        }
        add_redirect(plan, n, plan.null_fd.get());
        break;
      case Stdio::Kind::piped: {
        int p[2];
        if (cloexec_pipe(p) != 0) throw Error(errno, Step::create_pipe, cmd.get_program());
        plan.child_ends[n].reset(n == 0 ? p[0] : p[1]);
        plan.parent_ends[n].reset(n == 0 ? p[1] : p[0]);
        add_redirect(plan, n, plan.child_ends[n].get());
        break;
      }
      case Stdio::Kind::fd:
        if (s.parent_fd() < 0) throw Error(EBADF, Step::redirect_fds, cmd.get_program(), "Stdio::fd(-1)");
        add_redirect(plan, n, s.parent_fd());
        break;
    }
  }
  for (const auto& m : detail::CommandAccess::fd_mappings(cmd)) {
    if (m.child_fd < 0 || m.parent_fd < 0) {
      throw Error(EBADF, Step::redirect_fds, cmd.get_program(), "inherit_fd with a negative descriptor");
    }
    add_redirect(plan, m.child_fd, m.parent_fd);
  }
  int floor = 3;
  for (const auto& r : plan.redirects) {
    // A source that is not open would only fail inside the child, where
    // posix_spawn cannot say which step failed: check here.
    if (::fcntl(r.source_fd, F_GETFD) < 0) {
      throw Error(EBADF, Step::redirect_fds, cmd.get_program(),
                  "descriptor " + std::to_string(r.source_fd) + " is not open");
    }
    floor = std::max({floor, r.child_fd + 1, r.source_fd + 1});
  }
  plan.scratch_fd_floor = floor;
}

}  // namespace

void build_spawn_plan(const Command& cmd, const std::vector<std::pair<std::string, std::string>>& extra_env,
                      SpawnPlan& plan) {
  add_candidates(cmd, plan);
  posix::build_argv(cmd, plan.argv_storage, plan.argv, plan.sh_argv);
  add_env(cmd, extra_env, plan);
  add_stdio(cmd, plan);
}

const char* child_env_value(const SpawnPlan& plan, const std::string& key) {
  for (const auto& e : plan.env_storage) {
    if (posix::env_has_key(e, key)) return e.c_str() + key.size() + 1;
  }
  return nullptr;
}

}  // namespace taskport::backend
