// SPDX-License-Identifier: MIT
// What the task runs (macOS): Task::executable (proc_pidpath),
// command_line and environment (sysctl KERN_PROCARGS2), current_dir
// (proc_pidinfo PROC_PIDVNODEPATHINFO). All three take a pid; each answer
// is confirmed afterwards with pid_for_task on the port — alive, so the pid
// was not reused while it was asked.
//
// Sources (xnu):
//   proc_pidpath — libsyscall/wrappers/libproc/libproc.c: a buffer of at
//     least PROC_PIDPATHINFO_SIZE, returns the length; bsd/kern/proc_info.c
//     proc_pidinfo lists PROC_PIDPATHINFO among the flavors with no
//     same-user check.
//   PROC_PIDVNODEPATHINFO — proc_pidinfo with CHECK_SAME_USER:
//     proc_security_policy refuses another uid (EPERM) unless root.
//   KERN_PROCARGS2 — bsd/kern/kern_sysctl.c sysctl_procargsx: EINVAL for
//     another uid (unless root), for no such pid and for a process not yet
//     running. Layout: int argc, the executable path, NUL padding, argc
//     NUL-terminated arguments, then the environment strings, then the
//     apple[] strings (exec_copyout_strings' order); the environment is
//     left out unless the caller is the target, root with unrestricted
//     dtrace, or the target is not CS_RESTRICT.
#include <errno.h>
#include <libproc.h>
#include <mach/mach.h>
#include <sys/proc_info.h>
#include <sys/sysctl.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/usable.hpp"
#include "macos/task_impl.hpp"
#include "taskport/error.hpp"

namespace taskport {
namespace {

// ESRCH unless the port still names a live task with the Task's pid.
void confirm_alive(const Task::Impl& task, const char* what) {
  int pid = -1;
  if (::pid_for_task(task.port.get(), &pid) != KERN_SUCCESS || pid != task.pid) {
    throw Error(ESRCH, Step::read_info, task.program, std::string(what) + ": the task has exited");
  }
}

[[noreturn]] void refused(const Task::Impl& task, int error, const char* what) {
  confirm_alive(task, what);
  std::string detail = what;
  if (error == EPERM || error == EACCES) {
    detail += ": the task runs as another user; only root or the same user may ask";
  }
  throw Error(error, Step::read_info, task.program, detail);
}

// The KERN_PROCARGS2 buffer of the task.
std::vector<char> procargs(const Task::Impl& task) {
  int argmax = 0;
  size_t size = sizeof argmax;
  int argmax_mib[2] = {CTL_KERN, KERN_ARGMAX};
  if (::sysctl(argmax_mib, 2, &argmax, &size, nullptr, 0) != 0 || argmax <= 0) argmax = 1024 * 1024;
  std::vector<char> buf(static_cast<size_t>(argmax));
  size = buf.size();
  int mib[3] = {CTL_KERN, KERN_PROCARGS2, task.pid};
  if (::sysctl(mib, 3, buf.data(), &size, nullptr, 0) != 0) {
    // EINVAL for another uid as well as for no such pid: alive means refused.
    const int error = errno;
    refused(task, error == EINVAL ? EPERM : error, "sysctl KERN_PROCARGS2");
  }
  confirm_alive(task, "sysctl KERN_PROCARGS2");
  buf.resize(size);
  return buf;
}

struct ProcArgs {
  std::vector<std::string> argv, env;
};

// The next NUL-terminated string at `at` (moved past it), or false at the end.
bool next_string(const std::vector<char>& buf, size_t& at, std::string& out) {
  if (at >= buf.size()) return false;
  const void* nul = std::memchr(buf.data() + at, '\0', buf.size() - at);
  const size_t end = nul ? static_cast<size_t>(static_cast<const char*>(nul) - buf.data()) : buf.size();
  out.assign(buf.data() + at, end - at);
  at = end + 1;
  return true;
}

ProcArgs parse_procargs(const Task::Impl& task, const std::vector<char>& buf) {
  int argc = 0;
  if (buf.size() < sizeof argc)
    throw Error(EBADMSG, Step::read_info, task.program, "KERN_PROCARGS2: too short");
  std::memcpy(&argc, buf.data(), sizeof argc);
  size_t at = sizeof argc;
  std::string s;
  next_string(buf, at, s);                          // the executable path
  while (at < buf.size() && buf[at] == '\0') ++at;  // its padding
  ProcArgs out;
  for (int i = 0; i < argc && next_string(buf, at, s); ++i) out.argv.push_back(s);
  // No count separates the environment from apple[]: it ends at the first
  // empty string (or with the buffer, when the kernel left it out).
  while (next_string(buf, at, s) && !s.empty()) out.env.push_back(s);
  return out;
}

}  // namespace

std::string Task::executable() const {
  common::usable(impl_, Step::read_info);
  char path[PROC_PIDPATHINFO_MAXSIZE];
  errno = 0;
  const int n = ::proc_pidpath(impl_->pid, path, sizeof path);
  if (n <= 0) refused(*impl_, errno != 0 ? errno : ESRCH, "proc_pidpath");
  confirm_alive(*impl_, "proc_pidpath");
  return std::string(path, static_cast<size_t>(n));
}

std::vector<std::string> Task::command_line() const {
  common::usable(impl_, Step::read_info);
  return parse_procargs(*impl_, procargs(*impl_)).argv;
}

std::vector<std::string> Task::environment() const {
  common::usable(impl_, Step::read_info);
  return parse_procargs(*impl_, procargs(*impl_)).env;
}

std::string Task::current_dir() const {
  common::usable(impl_, Step::read_info);
  proc_vnodepathinfo info{};
  errno = 0;
  const int n = ::proc_pidinfo(impl_->pid, PROC_PIDVNODEPATHINFO, 0, &info, sizeof info);
  if (n != static_cast<int>(sizeof info))
    refused(*impl_, errno != 0 ? errno : ESRCH, "proc_pidinfo(PROC_PIDVNODEPATHINFO)");
  confirm_alive(*impl_, "proc_pidinfo(PROC_PIDVNODEPATHINFO)");
  return info.pvi_cdir.vip_path;
}

}  // namespace taskport
