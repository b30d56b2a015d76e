// SPDX-License-Identifier: MIT
#include "linux/proc_access.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "linux/proc_parse.hpp"
#include "posix/eintr.hpp"
#include "posix/read_to_end.hpp"

namespace taskport::backend {
namespace {

// The pidfd's revents now, or 0 when nothing is pending or the poll fails.
int pidfd_revents(int pidfd) { return std::max(posix::poll_now(pidfd), 0); }

std::string read_file(const char* path) {
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  std::string out;
  if (!fd || posix::read_to_end(fd.get(), out) != 0) return std::string();
  return out;
}

bool have_cap_sys_ptrace(const std::string& self_status) {
  constexpr int kCapSysPtrace = 19;
  const auto eff = key_hex_value(self_status, "CapEff");
  return eff && ((*eff >> kCapSysPtrace) & 1U) != 0;
}

// Why the kernel refused: the facts that decide ptrace access (uids,
// dumpable, CAP_SYS_PTRACE, Yama) and our own seccomp state.
std::string explain_refusal(const Task::Impl& task) {
  const std::string self = read_file("/proc/self/status");
  const std::string proc = "/proc/" + std::to_string(task.pid);
  const std::string target = read_file((proc + "/status").c_str());
  std::string why;
  auto add = [&](const std::string& s) {
    if (!why.empty()) why += "; ";
    why += s;
  };

  const uid_t our_uid = ::geteuid();
  const auto target_uid = key_value(target, "Uid");  // the first of real, effective, saved, fs
  if (target_uid && *target_uid != our_uid) {
    add("the task runs as uid " + std::to_string(*target_uid) + ", this process as uid " +
        std::to_string(our_uid));
  }
  // The files of a non-dumpable task's /proc/<pid>/ (not the directory
  // itself) belong to root whatever its uid.
  struct stat st {};
  if (target_uid && *target_uid != 0 && ::stat((proc + "/mem").c_str(), &st) == 0 && st.st_uid == 0) {
    add("the task is not dumpable (it called prctl(PR_SET_DUMPABLE, 0), or changed credentials or exec'd a "
        "setuid "
        "program)");
  }
  const bool cap = have_cap_sys_ptrace(self);
  if (!cap) add("this process lacks CAP_SYS_PTRACE");
  if (const auto seccomp = key_value(self, "Seccomp"); seccomp && *seccomp != 0) {
    add("a seccomp filter is active in this process (container runtimes often refuse process_vm_readv and "
        "ptrace)");
  }
  const auto yama = parse_number(read_file("/proc/sys/kernel/yama/ptrace_scope"));
  if (yama && *yama != 0) add("Yama ptrace_scope is " + std::to_string(*yama));
  if (why.empty()) why = "the kernel's ptrace access check refused";
  // CAP_SYS_PTRACE is suggested only to a process that lacks it.
  why += cap ? " — to help: have the task hand over its own handle (taskport rendezvous)"
             : " — to help: run as the task's user with the task dumpable, grant CAP_SYS_PTRACE (containers: "
               "--cap-add=SYS_PTRACE), or have the task hand over its own handle (taskport rendezvous)";
  return why;
}

}  // namespace

bool reaped(int pidfd) { return (pidfd_revents(pidfd) & (POLLHUP | POLLERR | POLLNVAL)) != 0; }

bool exited(int pidfd) { return pidfd_revents(pidfd) != 0; }

int proc_dir(const Task::Impl& task, Step step) {
  if (const int fd = task.proc_dir_fd.load(std::memory_order_acquire); fd >= 0) return fd;
  std::lock_guard<std::mutex> lock(task.proc_mutex);
  if (task.proc_dir) return task.proc_dir.get();
  const std::string path = "/proc/" + std::to_string(task.pid);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const int error = fd ? 0 : errno;
  // Only a pid that names no process (or the pidfd) says the task is gone;
  // any other failure (EMFILE, ENOMEM) is reported as what it is.
  if (reaped(task.pidfd.get()) || error == ENOENT || error == ESRCH) {
    throw Error(ESRCH, step, task.program, "the task has exited and been reaped");
  }
  if (error != 0) throw Error(error, step, task.program, "open " + path);
  task.proc_dir = std::move(fd);
  task.proc_dir_fd.store(task.proc_dir.get(), std::memory_order_release);
  return task.proc_dir.get();
}

int open_proc_file(const Task::Impl& task, const char* name, int flags, Step step) {
  return ::openat(proc_dir(task, step), name, flags | O_CLOEXEC);
}

namespace {

struct CloseDir {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};

// True if thread `tid` (a name under /proc/<pid>/task) has not exited: a
// thread that has (a zombie its tracer has not reaped yet, or one on its
// way out) has no mm either.
bool thread_lives(int dir, const char* tid) {
  UniqueFd fd(::openat(dir, (std::string("task/") + tid + "/stat").c_str(), O_RDONLY | O_CLOEXEC));
  std::string stat;
  if (!fd || posix::read_to_end(fd.get(), stat) != 0) return false;
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z' &&
         stat[close + 2] != 'X';
}

}  // namespace

int open_other_thread_file(const Task::Impl& task, const char* name, int flags, Step step) {
  const int dir = proc_dir(task, step);
  UniqueFd threads(::openat(dir, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!threads) return -1;
  std::unique_ptr<DIR, CloseDir> listing(::fdopendir(threads.get()));
  if (!listing) return -1;
  threads.release();  // closedir closes it
  int error = ESRCH;
  while (const dirent* entry = ::readdir(listing.get())) {
    char* end = nullptr;
    const long tid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || tid == task.pid || !thread_lives(dir, entry->d_name))
      continue;
    const std::string path = std::string("task/") + entry->d_name + "/" + name;
    const int fd = ::openat(dir, path.c_str(), flags | O_CLOEXEC);
    if (fd >= 0) return fd;
    error = errno;
  }
  errno = error;
  return -1;
}

bool try_read_proc_file(const Task::Impl& task, const char* name, std::string& out, Step step) {
  UniqueFd fd(open_proc_file(task, name, O_RDONLY, step));
  const int error = fd ? posix::read_to_end(fd.get(), out) : errno;
  if (error == 0) return true;
  if (error == EACCES || error == EPERM) return false;
  throw access_error(task, error, step, std::string("/proc/") + std::to_string(task.pid) + "/" + name);
}

std::string read_proc_file(const Task::Impl& task, const char* name, Step step) {
  std::string out;
  if (!try_read_proc_file(task, name, out, step)) {
    throw access_error(task, EACCES, step, std::string("/proc/") + std::to_string(task.pid) + "/" + name);
  }
  return out;
}

Error access_error(const Task::Impl& task, int error, Step step, const std::string& what) {
  std::string detail = what;
  if (error == EPERM || error == EACCES) {
    detail += ": " + explain_refusal(task);
  } else if (error == ESRCH || error == ENOENT) {
    error = ESRCH;
    detail += ": the task has exited";
  }
  return Error(error, step, task.program, detail);
}

}  // namespace taskport::backend
