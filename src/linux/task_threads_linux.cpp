// SPDX-License-Identifier: MIT
// Task::threads(): one /proc/<pid>/task/<tid>/stat read per thread, listed
// from the task's verified /proc directory (so a recycled pid can never
// substitute another process's threads).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/usable.hpp"
#include "linux/proc_access.hpp"
#include "linux/proc_parse.hpp"
#include "posix/read_to_end.hpp"

namespace taskport {
namespace {

struct DirCloser {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};

// Reads a whole small file relative to `dir`. Returns 0 or an errno.
int read_small_file(int dir, const char* name, std::string& out) {
  UniqueFd fd(::openat(dir, name, O_RDONLY | O_CLOEXEC));
  if (!fd) return errno;
  return posix::read_to_end(fd.get(), out);
}

// A thread that ended between the directory listing and the read of its
// stat shows up as one of these.
bool thread_vanished(int error) { return error == ENOENT || error == ESRCH; }

}  // namespace

std::vector<ThreadInfo> Task::threads() const {
  const Impl& t = common::present(impl_, Step::read_threads);
  const std::string task_dir = "/proc/" + std::to_string(t.pid) + "/task";
  const int dir_fd = backend::open_proc_file(t, "task", O_RDONLY | O_DIRECTORY, Step::read_threads);
  if (dir_fd < 0) throw backend::access_error(t, errno, Step::read_threads, task_dir);
  // fdopendir owns dir_fd from here on (closedir closes it).
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(dir_fd));
  if (!dir) {
    const int error = errno;
    ::close(dir_fd);
    throw backend::access_error(t, error, Step::read_threads, task_dir);
  }

  const long hz = backend::clock_ticks_per_second();
  std::vector<ThreadInfo> threads;
  std::string text;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) throw backend::access_error(t, errno, Step::read_threads, task_dir);
      break;
    }
    char* end = nullptr;
    const long tid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || tid <= 0) continue;  // ".", ".."

    const std::string stat_name = std::string(entry->d_name) + "/stat";
    const int error = read_small_file(::dirfd(dir.get()), stat_name.c_str(), text);
    if (thread_vanished(error) || (error == 0 && text.empty())) continue;
    if (error != 0) throw backend::access_error(t, error, Step::read_threads, task_dir + "/" + stat_name);
    auto stat = backend::parse_stat(text);
    if (!stat) {
      throw Error(EBADMSG, Step::read_threads, t.program,
                  "unexpected format of " + task_dir + "/" + stat_name);
    }
    ThreadInfo info;
    info.tid = static_cast<pid_t>(tid);
    info.name = std::move(stat->comm);
    info.state = backend::thread_state_from_code(stat->state);
    info.user_time = backend::ticks_to_duration(stat->utime, hz);
    info.system_time = backend::ticks_to_duration(stat->stime, hz);
    threads.push_back(std::move(info));
  }
  // A zombie's leader is still listed; an empty list means the task was
  // reaped while we looked.
  if (threads.empty()) throw backend::access_error(t, ESRCH, Step::read_threads, task_dir);
  return threads;
}

}  // namespace taskport
