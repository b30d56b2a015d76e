// SPDX-License-Identifier: MIT
#include "linux/exec_plan.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/command_access.hpp"
#include "posix/command_env.hpp"
#include "posix/launch_plan.hpp"
#include "taskport/error.hpp"

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

}  // namespace

void build_exec_plan(const Command& cmd, ExecPlan& plan) {
  resolve_path(cmd, plan);
  posix::build_launch_plan(cmd, environ, {}, plan);
  for (const auto& r : plan.redirects) plan.child_fds_sorted.push_back(r.child_fd);
  std::sort(plan.child_fds_sorted.begin(), plan.child_fds_sorted.end());
  if (cmd.get_current_dir()) plan.cwd = cmd.get_current_dir()->c_str();
  plan.setsid = detail::CommandAccess::new_session(cmd);
  if (const auto pgid = detail::CommandAccess::process_group(cmd)) {
    plan.setpgid = true;
    plan.pgid = *pgid;
  }
  plan.traceme = detail::CommandAccess::start_suspended(cmd);
  plan.hooks = &detail::CommandAccess::pre_exec_hooks(cmd);
}

}  // namespace taskport::backend
