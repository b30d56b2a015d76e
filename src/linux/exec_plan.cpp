// SPDX-License-Identifier: MIT
#include "linux/exec_plan.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/command_access.hpp"
#include "posix/command_env.hpp"

extern char** environ;

namespace taskport::backend {
namespace {

// execvp's fallback when PATH is unset (glibc's confstr(_CS_PATH)).
constexpr const char* kDefaultPath = "/bin:/usr/bin";

// execve's view of a candidate: 0 if it could run, else the errno execve
// would give (EACCES for a directory or a file without execute permission).
int probe_executable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  return ::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) == 0 ? 0 : errno;
}

// A name without '/' is searched in PATH here, in the parent, with execvp's
// rules: candidates that do not exist are skipped, an inaccessible one is
// remembered (EACCES if nothing else is found), the first runnable one wins.
// The child then execs exactly that path — one execve, not one per PATH
// entry. Relative entries (and the empty entry, meaning ".") are resolved
// against the child's working directory, where execvp would resolve them.
void resolve_path(const Command& cmd, ExecPlan& plan) {
  const std::string& program = cmd.get_program();
  if (program.empty()) throw Error(ENOENT, Step::resolve_program, program, "empty program name");
  if (program.find('/') != std::string::npos) {
    plan.path = program;
  } else {
    const std::string path = posix::search_path(cmd, kDefaultPath);
    const std::string base = cmd.get_current_dir() ? *cmd.get_current_dir() + "/" : std::string();
    bool saw_eacces = false;
    for (std::string& candidate : posix::path_candidates(path, program)) {
      // Checked where the child will look (its working directory), executed
      // as written (the child has already changed into that directory).
      const int error = probe_executable(candidate[0] == '/' ? candidate : base + candidate);
      if (error == 0) {
        plan.path = std::move(candidate);
        break;
      }
      if (error == EACCES) saw_eacces = true;
    }
    if (plan.path.empty()) {
      throw Error(saw_eacces ? EACCES : ENOENT, Step::resolve_program, program,
                  saw_eacces ? "found in PATH=" + path + " but not executable" : "not found in PATH=" + path);
    }
  }
}

void add_env(const Command& cmd, ExecPlan& plan) {
  if (!cmd.get_env_clear() && cmd.get_envs().empty()) {
    // Nothing to change: pass the parent's environment as it is at spawn time.
    plan.envp = environ;
    return;
  }
  plan.env_storage = posix::edited_env(cmd, environ);
  for (auto& e : plan.env_storage) plan.env_ptrs.push_back(e.data());
  plan.env_ptrs.push_back(nullptr);
  plan.envp = plan.env_ptrs.data();
}

void add_redirect(ExecPlan& plan, int child_fd, int source_fd) {
  auto& r = plan.redirects;
  r.erase(std::remove_if(r.begin(), r.end(), [&](const Redirect& x) { return x.child_fd == child_fd; }),
          r.end());
  r.push_back({child_fd, source_fd});
}

void add_stdio(const Command& cmd, ExecPlan& plan) {
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
        if (::pipe2(p, O_CLOEXEC) != 0) throw Error(errno, Step::create_pipe, cmd.get_program());
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
  for (const auto& m : detail::CommandAccess::fd_mappings(cmd)) {
    if (m.child_fd < 0 || m.parent_fd < 0) {
      throw Error(EBADF, Step::redirect_fds, cmd.get_program(), "inherit_fd with a negative descriptor");
    }
    add_redirect(plan, m.child_fd, m.parent_fd);
  }
  int floor = 3;
  for (const auto& r : plan.redirects) floor = std::max({floor, r.child_fd + 1, r.source_fd + 1});
  plan.scratch_fd_floor = floor;
}

}  // namespace

void build_exec_plan(const Command& cmd, ExecPlan& plan) {
  resolve_path(cmd, plan);
  posix::build_argv(cmd, plan.argv_storage, plan.argv, plan.sh_argv);
  add_env(cmd, plan);
  add_stdio(cmd, plan);
  if (cmd.get_current_dir()) plan.cwd = cmd.get_current_dir()->c_str();
  plan.setsid = detail::CommandAccess::new_session(cmd);
  if (detail::CommandAccess::process_group(cmd)) {
    plan.setpgid = true;
    plan.pgid = *detail::CommandAccess::process_group(cmd);
  }
  plan.traceme = detail::CommandAccess::start_suspended(cmd);
  plan.hooks = &detail::CommandAccess::pre_exec_hooks(cmd);
}

}  // namespace taskport::backend
