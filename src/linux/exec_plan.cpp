#include "linux/exec_plan.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

extern char** environ;

namespace taskport::linux_spawn {
namespace {

// execvp's fallback when PATH is unset (glibc's confstr(_CS_PATH)).
constexpr const char* kDefaultPath = "/bin:/usr/bin";

bool has_key(const std::string& entry, const std::string& key) {
  return entry.size() > key.size() && entry[key.size()] == '=' && entry.compare(0, key.size(), key) == 0;
}

// The PATH the search uses: the child's if Command sets or removes it, else
// the parent's (unless the environment was cleared).
std::string search_path(const Command& cmd) {
  const auto& edits = cmd.env_edits();
  for (auto it = edits.rbegin(); it != edits.rend(); ++it) {
    if (it->key == "PATH") return it->value ? *it->value : kDefaultPath;
  }
  if (!cmd.env_cleared()) {
    if (const char* path = std::getenv("PATH")) return path;
  }
  return kDefaultPath;
}

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
  const std::string& program = cmd.program();
  if (program.empty()) throw Error(ENOENT, Step::resolve_program, program, "empty program name");
  if (program.find('/') != std::string::npos) {
    plan.path = program;
  } else {
    const std::string path = search_path(cmd);
    const std::string base = cmd.get_current_dir() ? *cmd.get_current_dir() + "/" : std::string();
    bool saw_eacces = false;
    size_t begin = 0;
    while (true) {
      const size_t end = std::min(path.find(':', begin), path.size());
      std::string dir = path.substr(begin, end - begin);
      std::string candidate = dir.empty() ? program : dir + "/" + program;
      // Checked where the child will look (its working directory), executed
      // as written (the child has already changed into that directory).
      const int error = probe_executable(candidate[0] == '/' ? candidate : base + candidate);
      if (error == 0) {
        plan.path = std::move(candidate);
        break;
      }
      if (error == EACCES) saw_eacces = true;
      if (end == path.size()) break;
      begin = end + 1;
    }
    if (plan.path.empty()) {
      throw Error(saw_eacces ? EACCES : ENOENT, Step::resolve_program, program,
                  saw_eacces ? "found in PATH=" + path + " but not executable" : "not found in PATH=" + path);
    }
  }
}

void add_argv(const Command& cmd, ExecPlan& plan) {
  plan.argv_storage.reserve(cmd.get_args().size() + 1);
  plan.argv_storage.push_back(cmd.get_arg0() ? *cmd.get_arg0() : cmd.program());
  for (const auto& a : cmd.get_args()) plan.argv_storage.push_back(a);
  for (auto& a : plan.argv_storage) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);

  // ENOEXEC: execvp runs the file with the shell; the child fills slot 1.
  static char sh[] = "/bin/sh";
  plan.sh_argv.push_back(sh);
  plan.sh_argv.push_back(nullptr);
  for (size_t i = 1; i < plan.argv_storage.size(); ++i) plan.sh_argv.push_back(plan.argv_storage[i].data());
  plan.sh_argv.push_back(nullptr);
}

void add_env(const Command& cmd, ExecPlan& plan) {
  if (!cmd.env_cleared() && cmd.env_edits().empty()) {
    // Nothing to change: pass the parent's environment as it is at spawn time.
    plan.envp = environ;
    return;
  }
  auto& env = plan.env_storage;
  if (!cmd.env_cleared() && environ != nullptr) {
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  }
  for (const auto& edit : cmd.env_edits()) {
    auto it =
        std::find_if(env.begin(), env.end(), [&](const std::string& e) { return has_key(e, edit.key); });
    if (!edit.value) {
      if (it != env.end()) env.erase(it);
    } else if (it != env.end()) {
      *it = edit.key + "=" + *edit.value;
    } else {
      env.push_back(edit.key + "=" + *edit.value);
    }
  }
  for (auto& e : env) plan.env_ptrs.push_back(e.data());
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
    const Stdio& s = cmd.get_stdio(n);
    switch (s.kind()) {
      case Stdio::Kind::inherit: break;
      case Stdio::Kind::null:
        if (!plan.null_fd) {
          plan.null_fd.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
          if (!plan.null_fd) throw Error(errno, Step::open_null, cmd.program());
        }
        add_redirect(plan, n, plan.null_fd.get());
        break;
      case Stdio::Kind::piped: {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw Error(errno, Step::create_pipe, cmd.program());
        // stdin: the child reads p[0]; stdout/stderr: the child writes p[1].
        plan.child_ends[n].reset(n == 0 ? p[0] : p[1]);
        plan.parent_ends[n].reset(n == 0 ? p[1] : p[0]);
        add_redirect(plan, n, plan.child_ends[n].get());
        break;
      }
      case Stdio::Kind::fd:
        if (s.parent_fd() < 0) throw Error(EBADF, Step::redirect_fds, cmd.program(), "Stdio::fd(-1)");
        add_redirect(plan, n, s.parent_fd());
        break;
    }
  }
  for (const auto& m : cmd.fd_mappings()) {
    if (m.child_fd < 0 || m.parent_fd < 0) {
      throw Error(EBADF, Step::redirect_fds, cmd.program(), "inherit_fd with a negative descriptor");
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
  add_argv(cmd, plan);
  add_env(cmd, plan);
  add_stdio(cmd, plan);
  if (cmd.get_current_dir()) plan.cwd = cmd.get_current_dir()->c_str();
  plan.setsid = cmd.get_new_session();
  if (cmd.get_process_group()) {
    plan.setpgid = true;
    plan.pgid = *cmd.get_process_group();
  }
  plan.traceme = cmd.get_start_suspended();
  plan.hooks = &cmd.hooks();
}

}  // namespace taskport::linux_spawn
