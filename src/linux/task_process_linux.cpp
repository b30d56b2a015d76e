// SPDX-License-Identifier: MIT
// What the task runs: Task::executable, command_line, current_dir and
// environment (Linux), each one read of /proc/<pid>/{exe,cmdline,cwd,environ}
// relative to the task's verified /proc/<pid> directory (proc_access.hpp),
// so a recycled pid can never substitute another process's answer.
//
// Who may read what (fs/proc/base.c): cmdline is world-readable; exe and
// cwd are links the kernel resolves only for PTRACE_MODE_READ
// (proc_fd_access_allowed), and environ is opened under the same check
// (environ_open → __mem_open with PTRACE_MODE_READ). A refusal is explained
// as for memory reads (access_error).
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/usable.hpp"
#include "linux/proc_access.hpp"
#include "linux/task_impl.hpp"
#include "posix/read_to_end.hpp"
#include "taskport/error.hpp"

namespace taskport {
namespace {

std::string proc_path(const Task::Impl& task, const char* name) {
  return "/proc/" + std::to_string(task.pid) + "/" + name;
}

// readlinkat(dir, name) into `target`; if the main thread's link is gone
// while the task lives (a main thread that has exited keeps neither exe nor
// cwd: proc_access.hpp), the link of another thread, through an O_PATH
// descriptor of it (readlinkat with an empty path reads that link).
ssize_t read_link_once(const Task::Impl& task, int dir, const char* name, std::string& target) {
  const ssize_t n = ::readlinkat(dir, name, target.data(), target.size());
  if (n >= 0 || errno != ENOENT || backend::exited(task.pidfd.get())) return n;
  const int error = errno;
  UniqueFd link(backend::open_other_thread_file(task, name, O_PATH | O_NOFOLLOW, Step::read_info));
  if (!link) {
    errno = error;
    return -1;
  }
  return ::readlinkat(link.get(), "", target.data(), target.size());
}

// readlink of /proc/<pid>/<name>. A zombie's links are gone (ENOENT), which
// access_error reports as ESRCH: the task has exited.
std::string read_link(const Task::Impl& task, const char* name) {
  const int dir = backend::proc_dir(task, Step::read_info);
  std::string target(PATH_MAX, '\0');
  while (true) {
    const ssize_t n = read_link_once(task, dir, name, target);
    if (n < 0) throw backend::access_error(task, errno, Step::read_info, "readlink " + proc_path(task, name));
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);  // cut: a longer path than PATH_MAX (possible for cwd)
  }
}

// The NUL-separated strings of /proc/<pid>/<name>; a last string without
// its NUL (a program that overwrote its argv area) counts too.
std::vector<std::string> read_strings(const Task::Impl& task, const char* name) {
  UniqueFd fd(backend::open_proc_file(task, name, O_RDONLY, Step::read_info));
  std::string text;
  int error = fd ? posix::read_to_end(fd.get(), text) : errno;
  // A zombie's cmdline and environ read as empty (its memory is gone), like
  // those of a process that has none: the pidfd tells them apart. So do a
  // live process's whose main thread has exited (whose environ even fails
  // with ESRCH): another thread's show them.
  if (((error == 0 && text.empty()) || error == ESRCH) && !backend::exited(task.pidfd.get())) {
    UniqueFd other(backend::open_other_thread_file(task, name, O_RDONLY, Step::read_info));
    if (other) {
      text.clear();
      error = posix::read_to_end(other.get(), text);
    }
  }
  if (error == 0 && text.empty() && backend::exited(task.pidfd.get())) error = ESRCH;
  if (error != 0) throw backend::access_error(task, error, Step::read_info, "read " + proc_path(task, name));
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\0', at);
    if (end == std::string::npos) end = text.size();
    out.emplace_back(text, at, end - at);
    at = end + 1;
  }
  return out;
}

}  // namespace

std::string Task::executable() const { return read_link(common::present(impl_, Step::read_info), "exe"); }

std::vector<std::string> Task::command_line() const {
  return read_strings(common::present(impl_, Step::read_info), "cmdline");
}

std::string Task::current_dir() const { return read_link(common::present(impl_, Step::read_info), "cwd"); }

std::vector<std::string> Task::environment() const {
  return read_strings(common::present(impl_, Step::read_info), "environ");
}

}  // namespace taskport
