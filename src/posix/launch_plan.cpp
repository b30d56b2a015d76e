// SPDX-License-Identifier: MIT
#include "posix/launch_plan.hpp"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <string>

#include "common/command_access.hpp"
#include "posix/command_env.hpp"
#include "taskport/error.hpp"

namespace taskport::posix {
namespace {

void add_env(const Command& cmd, char** parent_env,
             const std::vector<std::pair<std::string, std::string>>& extra_env, LaunchPlan& plan) {
  if (!cmd.get_env_clear() && cmd.get_envs().empty() && extra_env.empty()) {
    // Nothing to change: pass the parent's environment as it is at spawn time.
    plan.envp = parent_env;
    return;
  }
  plan.env_storage = edited_env(cmd, parent_env);
  for (const auto& kv : extra_env) env_set(plan.env_storage, kv.first, &kv.second);
  for (auto& e : plan.env_storage) plan.env_ptrs.push_back(e.data());
  plan.env_ptrs.push_back(nullptr);
  plan.envp = plan.env_ptrs.data();
}

void add_redirect(LaunchPlan& plan, int child_fd, int source_fd) {
  auto& r = plan.redirects;
  r.erase(std::remove_if(r.begin(), r.end(), [&](const Redirect& x) { return x.child_fd == child_fd; }),
          r.end());
  r.push_back({child_fd, source_fd});
}

// Stdio stream `n` (0 stdin, 1 stdout, 2 stderr).
void add_stdio(const Command& cmd, int n, LaunchPlan& plan) {
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
      // stdin: the child reads p[0]; stdout/stderr: the child writes p[1].
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

void add_fds(const Command& cmd, LaunchPlan& plan) {
  for (int n = 0; n < 3; ++n) add_stdio(cmd, n, plan);
  for (const auto& m : detail::CommandAccess::fd_mappings(cmd)) {
    if (m.child_fd < 0 || m.parent_fd < 0) {
      throw Error(EBADF, Step::redirect_fds, cmd.get_program(), "inherit_fd with a negative descriptor");
    }
    add_redirect(plan, m.child_fd, m.parent_fd);
  }
  long long floor = 3;  // wider than int: a child_fd of INT_MAX has no successor in int
  for (const auto& r : plan.redirects) {
    // Checked here so that a spawn that cannot work creates no child and the
    // error names the descriptor (posix_spawn would report one errno for the
    // whole launch; a child would only say which step).
    if (::fcntl(r.source_fd, F_GETFD) < 0) {
      throw Error(EBADF, Step::redirect_fds, cmd.get_program(),
                  "descriptor " + std::to_string(r.source_fd) + " is not open");
    }
    floor = std::max({floor, r.child_fd + 1LL, r.source_fd + 1LL});
  }
  // floor + i stays an int for every scratch slot i. A floor at or above
  // RLIMIT_NOFILE (numbers near the limit, or INT_MAX) leaves no room above:
  // the Linux child then parks its copies below (child_exec.cpp); a number
  // that is not below the limit fails in the child with EBADF, as dup2 would.
  const auto room =
      static_cast<long long>(std::numeric_limits<int>::max()) - static_cast<long long>(plan.redirects.size());
  plan.scratch_fd_floor = static_cast<int>(std::min(floor, room));
}

}  // namespace

void build_launch_plan(const Command& cmd, char** parent_env,
                       const std::vector<std::pair<std::string, std::string>>& extra_env, LaunchPlan& plan) {
  build_argv(cmd, plan.argv, plan.sh_argv);
  add_env(cmd, parent_env, extra_env, plan);
  add_fds(cmd, plan);
}

int cloexec_pipe(int fds[2]) noexcept {
#if defined(__linux__)
  return ::pipe2(fds, O_CLOEXEC);
#else
  // macOS has no pipe2. Another thread's fork + exec between the two calls
  // could inherit the pipe; taskport's own spawns never exec from a fork
  // without closing it, and posix_spawn honours FD_CLOEXEC set by then.
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
#endif
}

}  // namespace taskport::posix
