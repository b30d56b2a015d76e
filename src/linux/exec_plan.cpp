// SPDX-License-Identifier: MIT
#include "linux/exec_plan.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

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
// rules (posix::path_search_goes_on): candidates that do not exist are
// skipped, an inaccessible one is remembered (EACCES if nothing else is
// found), the first runnable one wins; an error that ends execvp's search
// ends this one. The child then execs exactly that path — one execve, not
// one per PATH entry — and tries the later candidates only if that execve
// fails with an error the search goes on after (child_exec.cpp). Relative
// entries (and the empty entry, meaning ".") are resolved against the
// child's working directory, where execvp would resolve them.
void resolve_path(const Command& cmd, ExecPlan& plan) {
  const std::string& program = cmd.get_program();
  if (program.empty()) throw Error(ENOENT, Step::resolve_program, program, "empty program name");
  if (program.find('/') != std::string::npos) {
    plan.path = program;
    return;
  }
  const std::string path = posix::search_path(cmd, kDefaultPath);
  const std::string base = cmd.get_current_dir() ? *cmd.get_current_dir() + "/" : std::string();
  std::vector<std::string> candidates = posix::path_candidates(path, program);
  int last_error = ENOENT;
  for (size_t i = 0; i < candidates.size(); ++i) {
    // Checked where the child will look (its working directory), executed
    // as written (the child has already changed into that directory).
    const int error = probe_executable(candidates[i][0] == '/' ? candidates[i] : base + candidates[i]);
    if (error == 0) {
      plan.path = std::move(candidates[i]);
      plan.later_candidates.assign(std::make_move_iterator(candidates.begin() + static_cast<long>(i) + 1),
                                   std::make_move_iterator(candidates.end()));
      return;
    }
    if (!posix::path_search_goes_on(error)) {
      throw Error(error, Step::resolve_program, program, candidates[i] + " (in PATH=" + path + ")");
    }
    plan.saw_eacces = plan.saw_eacces || error == EACCES;
    last_error = error;
  }
  throw Error(
      plan.saw_eacces ? EACCES : last_error, Step::resolve_program, program,
      plan.saw_eacces ? "found in PATH=" + path + " but not executable" : "not found in PATH=" + path);
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
  build_child_options(cmd, plan, plan.options);
}

}  // namespace taskport::backend
