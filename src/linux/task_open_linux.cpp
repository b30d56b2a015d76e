// SPDX-License-Identifier: MIT
// Task::open, Task::from_pidfd and Task::start_time (Linux).
//
// The pid-reuse argument: a pid is recycled only after its process has been
// reaped, and a pidfd pins nothing but reports the reap (POLLHUP). So once
// pidfd_open has returned, everything read through /proc/<pid> *and*
// followed by a check that the pidfd has not been reaped describes the
// process the pidfd names (proc_access.hpp: proc_dir verifies exactly
// that). What no check after pidfd_open can close is the window before it:
// the pid may already have been recycled between the moment the caller
// learned it and the call. OpenOptions::expected_start_time closes that one:
// the start time read through the verified directory belongs to the pidfd's
// process, and a process that took over the pid started later.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/pid_program.hpp"
#include "common/usable.hpp"
#include "linux/proc_access.hpp"
#include "linux/proc_parse.hpp"
#include "linux/sys.hpp"
#include "linux/task_impl.hpp"
#include "posix/read_to_end.hpp"
#include "taskport/error.hpp"

namespace taskport {
namespace {

std::string proc_stat_path(pid_t pid) { return "/proc/" + std::to_string(pid) + "/stat"; }

// /proc/<pid>/stat of the task, parsed: world-readable, so no privilege is
// needed for anything open() checks.
backend::StatLine read_stat(const Task::Impl& task, Step step) {
  const std::string text = backend::read_proc_file(task, "stat", step);
  auto stat = backend::parse_stat(text);
  if (!stat) throw Error(EBADMSG, step, task.program, "unexpected format of " + proc_stat_path(task.pid));
  return *stat;
}

// What open() and from_pidfd() promise once the pidfd is held: a live user
// process, started when the caller expected.
void check_opened(Task::Impl& task, const Task::OpenOptions& options) {
  const backend::StatLine stat = read_stat(task, Step::open_task);
  // The pidfd, not the leader's state: a leader that called pthread_exit
  // shows 'Z' while its other threads run on, and the pidfd polls readable
  // only once the whole process has exited.
  if (backend::exited(task.pidfd.get())) {
    throw Error(ESRCH, Step::open_task, task.program,
                "the process has exited (a zombie its parent has not reaped yet)");
  }
  if ((stat.flags & backend::kStatFlagKernelThread) != 0) {
    throw Error(EINVAL, Step::open_task, task.program,
                "'" + stat.comm + "' is a kernel thread: it has no user memory");
  }
  if (options.expected_start_time && *options.expected_start_time != stat.starttime) {
    throw Error(ESRCH, Step::open_task, task.program,
                "the pid now names another process (it started at clock tick " +
                    std::to_string(stat.starttime) + " since boot, expected " +
                    std::to_string(*options.expected_start_time) + "): the one meant has exited");
  }
  std::lock_guard<std::mutex> lock(task.proc_mutex);
  task.start_time = stat.starttime;
}

Error pidfd_open_error(int error, pid_t pid, const std::string& program) {
  switch (error) {
    case ESRCH: return Error(ESRCH, Step::open_task, program, "no such process");
    // A thread id that is not a thread-group leader: EINVAL before Linux
    // 6.9, ENOENT since (pidfd_open learned PIDFD_THREAD).
    case ENOENT:
    case EINVAL:
      return Error(EINVAL, Step::open_task, program,
                   "pid " + std::to_string(pid) +
                       " is not a process id (a thread of another process? use its Tgid from /proc/" +
                       std::to_string(pid) + "/status)");
    case ENOSYS: return Error(ENOSYS, Step::open_task, program, "pidfd_open needs Linux 5.3 or later");
    default: return Error(error, Step::open_task, program, "pidfd_open");
  }
}

// The pid a pidfd names, from /proc/self/fdinfo/<fd> ("Pid:", Linux 5.4 and
// later for pidfds): -1 once reaped, 0 outside this pid namespace, nothing
// if `fd` is not a pidfd.
std::optional<std::int64_t> pidfd_pid(int fd) {
  const std::string path = "/proc/self/fdinfo/" + std::to_string(fd);
  UniqueFd info(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string text;
  if (!info || posix::read_to_end(info.get(), text) != 0) return std::nullopt;
  // Every fdinfo has "pos:" and "flags:"; only a pidfd's has "Pid:".
  return backend::key_signed_value(text, "Pid");
}

// Errors before the pid is known concern no other process yet: they name
// this one (Error::program(), taskport/error.hpp).
pid_t pid_of_pidfd(int fd) {
  const std::string self = common::pid_program(::getpid());
  const std::string descriptor = "descriptor " + std::to_string(fd);
  if (fd < 0 || ::fcntl(fd, F_GETFD) < 0)
    throw Error(EBADF, Step::open_task, self, descriptor + " is not open");
  const auto pid = pidfd_pid(fd);
  if (!pid) throw Error(EINVAL, Step::open_task, self, descriptor + " is not a pidfd");
  if (*pid < 0)
    throw Error(ESRCH, Step::open_task, self,
                "the process of pidfd " + std::to_string(fd) + " has exited and been reaped");
  if (*pid == 0) {
    throw Error(
        EINVAL, Step::open_task, self,
        "the process of pidfd " + std::to_string(fd) + " is not in this pid namespace: /proc cannot name it");
  }
  return static_cast<pid_t>(*pid);
}

}  // namespace

Task Task::open(pid_t pid) { return open(pid, OpenOptions{}); }

Task Task::open(pid_t pid, const OpenOptions& options) {
  std::string program = common::pid_program(pid);
  if (pid <= 0) throw Error(EINVAL, Step::open_task, program, "not a process id");
  UniqueFd pidfd(backend::pidfd_open(pid));  // close-on-exec: pidfd_open always sets it
  if (!pidfd) throw pidfd_open_error(errno, pid, program);
  auto impl = std::make_unique<Impl>(std::move(pidfd), pid, std::move(program));
  check_opened(*impl, options);
  return Task(std::move(impl));
}

Task Task::from_pidfd(UniqueFd pidfd) {
  const pid_t pid = pid_of_pidfd(pidfd.get());
  // Close-on-exec like every descriptor the library holds, whoever made it.
  if (::fcntl(pidfd.get(), F_SETFD, FD_CLOEXEC) != 0) {
    throw Error(errno, Step::open_task, common::pid_program(pid), "fcntl(F_SETFD) of the pidfd");
  }
  auto impl = std::make_unique<Impl>(std::move(pidfd), pid, common::pid_program(pid));
  check_opened(*impl, OpenOptions{});
  return Task(std::move(impl));
}

std::uint64_t Task::start_time() const {
  common::present(impl_, Step::read_info);
  {
    std::lock_guard<std::mutex> lock(impl_->proc_mutex);
    if (impl_->start_time) return *impl_->start_time;
  }
  // read_proc_file takes proc_mutex itself: read first, then remember.
  const backend::StatLine stat = read_stat(*impl_, Step::read_info);
  std::lock_guard<std::mutex> lock(impl_->proc_mutex);
  impl_->start_time = stat.starttime;
  return stat.starttime;
}

}  // namespace taskport
