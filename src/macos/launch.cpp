// SPDX-License-Identifier: MIT
#include "macos/launch.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <optional>
#include <vector>

#include "common/command_access.hpp"
#include "macos/dyld_policy.hpp"
#include "macos/registered_ports.hpp"
#include "macos/spawn_options.hpp"
#include "macos/wait_status.hpp"
#include "posix/command_env.hpp"
#include "posix/eintr.hpp"
#include "posix/launch_plan.hpp"
#include "taskport/error.hpp"

namespace taskport::backend {
namespace {

// ---- posix_spawn -------------------------------------------------------------

class SpawnAttributes {
 public:
  explicit SpawnAttributes(const std::string& program) {
    if (int rc = ::posix_spawnattr_init(&attr_); rc != 0)
      throw Error(rc, Step::spawn_attributes, program, "posix_spawnattr_init");
    if (int rc = ::posix_spawn_file_actions_init(&actions_); rc != 0) {
      ::posix_spawnattr_destroy(&attr_);
      throw Error(rc, Step::spawn_attributes, program, "posix_spawn_file_actions_init");
    }
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  ~SpawnAttributes() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

  // The registered-ports route: this process's own slots (held until the
  // spawn has copied them into the child) and the rendezvous port in slot 2.
  void pass_registered_port(mach_port_t port, const std::string& program) {
    own_ports_.emplace(program, Step::spawn_attributes);
    own_ports_->require_free_rendezvous_slot(program, Step::rendezvous);
    set_registered_ports(&attr_, *own_ports_, port, program);
  }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
  std::optional<OwnRegisteredPorts> own_ports_;
};

// The placements go through scratch numbers above every descriptor
// involved, so that a mapping never overwrites a source another mapping
// still needs (e.g. 3 ← 4 together with 4 ← 3); dup2 to a different number
// also clears FD_CLOEXEC on the result.
void configure(const Command& cmd, const SpawnPlan& plan, SpawnAttributes& sa) {
  const std::string& program = cmd.get_program();
  short flags = 0;
  if (detail::CommandAccess::new_session(cmd)) flags |= POSIX_SPAWN_SETSID;
  if (detail::CommandAccess::process_group(cmd)) {
    flags |= POSIX_SPAWN_SETPGROUP;
    if (int rc = ::posix_spawnattr_setpgroup(sa.attr(), *detail::CommandAccess::process_group(cmd));
        rc != 0) {
      throw Error(rc, Step::spawn_attributes, program, "posix_spawnattr_setpgroup");
    }
  }
  flags |= spawn_option_flags(cmd);
  if (int rc = ::posix_spawnattr_setflags(sa.attr(), flags); rc != 0) {
    throw Error(rc, Step::spawn_attributes, program, "posix_spawnattr_setflags");
  }
  if (MACH_PORT_VALID(plan.registered_port)) sa.pass_registered_port(plan.registered_port, program);
  const auto& r = plan.redirects;
  for (size_t i = 0; i < r.size(); ++i) {
    const int scratch = plan.scratch_fd_floor + static_cast<int>(i);
    if (int rc = ::posix_spawn_file_actions_adddup2(sa.actions(), r[i].source_fd, scratch); rc != 0) {
      throw Error(rc, Step::spawn_attributes, program, "posix_spawn_file_actions_adddup2");
    }
  }
  for (size_t i = 0; i < r.size(); ++i) {
    const int scratch = plan.scratch_fd_floor + static_cast<int>(i);
    if (int rc = ::posix_spawn_file_actions_adddup2(sa.actions(), scratch, r[i].child_fd); rc != 0) {
      throw Error(rc, Step::spawn_attributes, program, "posix_spawn_file_actions_adddup2");
    }
    if (int rc = ::posix_spawn_file_actions_addclose(sa.actions(), scratch); rc != 0) {
      throw Error(rc, Step::spawn_attributes, program, "posix_spawn_file_actions_addclose");
    }
  }
  if (cmd.get_current_dir()) {
    if (int rc = ::posix_spawn_file_actions_addchdir_np(sa.actions(), cmd.get_current_dir()->c_str());
        rc != 0) {
      throw Error(rc, Step::spawn_attributes, program, "posix_spawn_file_actions_addchdir_np");
    }
  }
  add_spawn_options(cmd, plan, sa.attr(), sa.actions());
}

// posix_spawn reports one errno for the whole launch; what the parent can
// check beforehand is checked here so that the step named is the right one.
void precheck(const Command& cmd) {
  if (const auto& dir = cmd.get_current_dir()) {
    struct stat st {};
    if (::stat(dir->c_str(), &st) != 0) throw Error(errno, Step::chdir, cmd.get_program(), *dir);
    if (!S_ISDIR(st.st_mode)) throw Error(ENOTDIR, Step::chdir, cmd.get_program(), *dir);
  }
}

Launched spawn_without_fork(const Command& cmd, SpawnPlan& plan) {
  precheck(cmd);
  SpawnAttributes sa(cmd.get_program());
  configure(cmd, plan, sa);
  bool saw_eacces = false;
  for (const auto& candidate : plan.candidates) {
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, candidate.c_str(), sa.actions(), sa.attr(), plan.argv.data(), plan.envp);
    if (rc == ENOEXEC) {
      // execvp runs a file without a #! line with the shell.
      plan.sh_argv[1] = const_cast<char*>(candidate.c_str());
      rc = ::posix_spawn(&pid, "/bin/sh", sa.actions(), sa.attr(), plan.sh_argv.data(), plan.envp);
    }
    if (rc == 0) return Launched{pid, candidate};
    if (rc == EACCES) {
      saw_eacces = true;
      continue;
    }
    if (posix::path_search_goes_on(rc) && plan.candidates.size() > 1) continue;
    if (rc == EBADARCH) {
      throw Error(rc, Step::execve, cmd.get_program(), "posix_spawn " + bad_architecture_detail(candidate));
    }
    throw Error(rc, Step::execve, cmd.get_program(), "posix_spawn " + candidate);
  }
  throw Error(saw_eacces ? EACCES : ENOENT, Step::execve, cmd.get_program(), "not found in PATH");
}

// ---- fork + exec (pre_exec hooks) ----------------------------------------------

// What the forked child tells the parent, in a MAP_SHARED page (the child's
// writes are visible to the parent; it is read once the child has exec'd or
// exited, which the close-on-exec pipe tells).
struct ForkReport {
  Step step = Step::signal_reset;  // the step the child is in (or failed in)
  int error = 0;
  bool failed = false;
  int candidate = -1;  // index of the candidate being exec'd
};

class SharedReport {
 public:
  explicit SharedReport(const std::string& program) {
    void* p = ::mmap(nullptr, sizeof(ForkReport), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANON, -1, 0);
    if (p == MAP_FAILED) throw Error(errno, Step::allocate_report, program, "mmap of the fork report");
    report_ = new (p) ForkReport();
  }
  SharedReport(const SharedReport&) = delete;
  SharedReport& operator=(const SharedReport&) = delete;
  ~SharedReport() { ::munmap(report_, sizeof(ForkReport)); }
  ForkReport* get() const noexcept { return report_; }

 private:
  ForkReport* report_ = nullptr;
};

[[noreturn]] void fail_in_child(ForkReport* report, Step step, int error) noexcept {
  report->step = step;
  report->error = error;
  report->failed = true;
  ::_exit(127);
}

// In the forked child: execve of each candidate in turn, with execvp's
// rules (a file without a #! line runs with /bin/sh; EACCES is reported only
// if nothing else runs). Never returns.
[[noreturn]] void exec_candidates(SpawnPlan& plan, ForkReport* report) noexcept {
  report->step = Step::execve;
  int error = ENOENT;
  bool saw_eacces = false;
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    report->candidate = static_cast<int>(i);
    const char* path = plan.candidates[i].c_str();
    ::execve(path, plan.argv.data(), plan.envp);
    error = errno;
    if (error == ENOEXEC) {
      plan.sh_argv[1] = const_cast<char*>(path);
      ::execve("/bin/sh", plan.sh_argv.data(), plan.envp);
      error = errno;
    }
    if (error == EACCES) saw_eacces = true;
    if (!posix::path_search_goes_on(error)) break;
  }
  fail_in_child(report, Step::execve, (error == ENOENT && saw_eacces) ? EACCES : error);
}

// The forked child: async-signal-safe calls only (the parent may have had
// other threads, whose locks stay locked here). Never returns.
[[noreturn]] void run_forked_child(const Command& cmd, SpawnPlan& plan, ForkReport* report,
                                   const sigset_t& mask, int* scratch) noexcept {
  auto fail = [report](Step step, int error) { fail_in_child(report, step, error); };
  report->step = Step::signal_reset;
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0) continue;
    if (old.sa_handler == SIG_IGN || old.sa_handler == SIG_DFL) continue;
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(sig, &dfl, nullptr);
  }
  if (detail::CommandAccess::new_session(cmd)) {
    report->step = Step::setsid;
    if (::setsid() < 0) fail(Step::setsid, errno);
  }
  if (detail::CommandAccess::process_group(cmd)) {
    report->step = Step::setpgid;
    if (::setpgid(0, *detail::CommandAccess::process_group(cmd)) != 0) fail(Step::setpgid, errno);
  }
  if (cmd.get_current_dir()) {
    report->step = Step::chdir;
    if (::chdir(cmd.get_current_dir()->c_str()) != 0) fail(Step::chdir, errno);
  }
  report->step = Step::redirect_fds;
  const auto& r = plan.redirects;
  for (size_t i = 0; i < r.size(); ++i) {
    scratch[i] = ::fcntl(r[i].source_fd, F_DUPFD, plan.scratch_fd_floor);
    if (scratch[i] < 0) fail(Step::redirect_fds, errno);
  }
  for (size_t i = 0; i < r.size(); ++i) {
    if (::dup2(scratch[i], r[i].child_fd) < 0) fail(Step::redirect_fds, errno);
    ::close(scratch[i]);
  }
  if (const int error = apply_forked_child_options(cmd, plan, report->step); error != 0)
    fail(report->step, error);
  report->step = Step::pre_exec_hook;
  for (const auto& hook : detail::CommandAccess::pre_exec_hooks(cmd)) {
    const int rc = hook();
    if (rc != 0) fail(Step::pre_exec_hook, rc);
  }
  report->step = Step::signal_mask;
  if (::sigprocmask(SIG_SETMASK, &mask, nullptr) != 0) fail(Step::signal_mask, errno);
  exec_candidates(plan, report);
}

class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  }
  ~BlockedSignals() { ::pthread_sigmask(SIG_SETMASK, &saved, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  sigset_t saved;
};

Launched fork_and_exec(const Command& cmd, SpawnPlan& plan) {
  const std::string& program = cmd.get_program();
  SharedReport shared(program);
  ForkReport* report = shared.get();
  std::vector<int> scratch(plan.redirects.size(), -1);
  int p[2];
  if (posix::cloexec_pipe(p) != 0) throw Error(errno, Step::create_pipe, program, "exec notification pipe");
  UniqueFd read_end(p[0]), write_end(p[1]);
  pid_t pid;
  {
    // The child starts with every signal blocked, so no handler of the
    // parent's runs in it before the reset; it restores `saved` before exec.
    BlockedSignals blocked;
    pid = ::fork();
    if (pid == 0) {
      read_end.release();
      run_forked_child(cmd, plan, report, blocked.saved, scratch.data());
    }
    if (pid < 0) throw Error(errno, Step::fork, program);
  }
  write_end.reset();
  // EOF once the child has exec'd (the pipe is close-on-exec) or exited.
  char byte;
  posix::retry_on_eintr([&] { return ::read(read_end.get(), &byte, 1); });
  if (report->failed) {
    reap_when_exited(pid);  // it has _exit'ed
    throw Error(report->error, report->step, program);
  }
  if (report->step != Step::execve) {
    const auto status = reap_when_exited(pid).status;
    throw Error(ECANCELED, Step::child_died, program,
                std::string("during ") + to_string(report->step) + ": " +
                    (status ? status->to_string() : std::string("unknown status")));
  }
  const int index = report->candidate;
  return Launched{pid, index >= 0 ? plan.candidates[static_cast<size_t>(index)] : program};
}

}  // namespace

Launched launch(const Command& cmd, SpawnPlan& plan) {
  if (detail::CommandAccess::pre_exec_hooks(cmd).empty()) return spawn_without_fork(cmd, plan);
  // (spawn_macos.cpp refuses hooks with the registered-ports route before
  // anything is created: a forked child inherits the parent's registered
  // ports, not a posix_spawn attribute.)
  return fork_and_exec(cmd, plan);
}

}  // namespace taskport::backend
