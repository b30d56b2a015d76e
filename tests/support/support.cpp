// SPDX-License-Identifier: MIT
#include "support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <libproc.h>
#include <mach/mach.h>
#include <sys/proc_info.h>
#include <sys/sysctl.h>
#endif

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tp_test {

using taskport::Child;
using taskport::Command;
using taskport::ExitStatus;
using taskport::Stdio;
using taskport::UniqueFd;

const std::string& probe_path() {
  static const std::string path = TASKPORT_PROBE;
  return path;
}

#if defined(__APPLE__)
namespace {
// spawn_with_task() on macOS gets the Task from the program itself, through
// the preload library (README "macOS: the exec finding"): every test binary
// uses the one of this build tree, set before any test runs.
const bool preload_set = [] {
  taskport::set_preload_library(TASKPORT_PRELOAD);
  return true;
}();
}  // namespace
#endif

Command probe(std::initializer_list<std::string> args) {
  Command cmd(probe_path());
  cmd.args(args);
  return cmd;
}

Command long_running_probe() {
  Command cmd = probe({"--wait-stdin"});
  cmd.standard_input(Stdio::piped());
  return cmd;
}

// ---- report ----------------------------------------------------------------

namespace {

std::string decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> ProbeReport::env_values(const std::string& key) const {
  std::vector<std::string> values;
  for (const auto& e : env)
    if (e.compare(0, key.size() + 1, key + "=") == 0) values.push_back(e.substr(key.size() + 1));
  return values;
}

std::optional<std::string> ProbeReport::env_value(const std::string& key) const {
  auto v = env_values(key);
  if (v.empty()) return std::nullopt;
  return v.back();
}

std::set<int> ProbeReport::fd_numbers() const {
  std::set<int> s;
  for (const auto& [n, _] : fds) s.insert(n);
  return s;
}

ProbeReport parse_report(const std::string& text) {
  ProbeReport r;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string key;
    l >> key;
    if (key == "pid") l >> r.pid;
    else if (key == "ppid") l >> r.ppid;
    else if (key == "pgid") l >> r.pgid;
    else if (key == "sid") l >> r.sid;
    else if (key == "tracerpid") l >> r.tracer_pid;
    else if (key == "exe" || key == "cwd") {
      std::string v;
      l >> v;
      (key == "exe" ? r.exe : r.cwd) = decode(v);
    } else if (key == "argv") {
      size_t i;
      std::string v;
      l >> i;
      l >> v;  // empty for an empty argument
      if (r.argv.size() <= i) r.argv.resize(i + 1);
      r.argv[i] = decode(v);
    } else if (key == "env") {
      std::string v;
      l >> v;
      r.env.push_back(decode(v));
    } else if (key == "fd") {
      int n;
      FdSeen f;
      std::string target;
      l >> n >> f.id >> target;
      f.target = decode(target);
      r.fds[n] = f;
    } else if (key == "sigblk" || key == "sigign" || key == "sigcgt") {
      std::string v;
      l >> v;
      uint64_t x = std::stoull(v, nullptr, 16);
      (key == "sigblk" ? r.sigblk : key == "sigign" ? r.sigign : r.sigcgt) = x;
    } else if (key == "end") {
      r.complete = true;
    }
  }
  return r;
}

namespace {

ProbeReport finish_report(Child& child, int read_fd) {
  std::string text = read_all(read_fd);
  ExitStatus st = wait_exit(child);
  EXPECT_TRUE(st.success()) << "probe ended with " << st.to_string() << "\noutput:\n" << text;
  ProbeReport r = parse_report(text);
  EXPECT_TRUE(r.complete) << "incomplete probe report:\n" << text;
  EXPECT_EQ(r.pid, child.pid()) << "the report must come from the spawned child itself";
  return r;
}

}  // namespace

ProbeReport report_via_stdout(Command cmd) {
  cmd.standard_output(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  UniqueFd out = std::move(child.stdout_pipe());
  return finish_report(child, out.get());
}

ProbeReport report_via_fd(Command cmd, int child_fd) {
  Pipe p = make_pipe();
  cmd.inherit_fd(child_fd, p.write.get());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  p.write.reset();
  return finish_report(child, p.read.get());
}

// ---- waiting ---------------------------------------------------------------

ExitStatus wait_exit(Child& child, std::chrono::milliseconds timeout) {
  if (auto st = child.wait_for(timeout)) return *st;
  ADD_FAILURE() << "child " << child.pid() << " (" << child.program() << ") did not exit within "
                << timeout.count() << " ms; killing it";
  child.kill();
  if (auto st = child.wait_for(timeout)) return *st;
  ADD_FAILURE() << "child " << child.pid() << " did not die after SIGKILL";
  return ExitStatus::signaled(SIGKILL, false);
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(pause);
    if (pause < 5ms) pause *= 2;
  }
}

bool poll_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int n = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    return n > 0 && (p.revents & (POLLIN | POLLHUP));
  }
}

std::string read_all(int fd, std::chrono::milliseconds timeout) {
  std::string data;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "no EOF on fd " << fd << " within " << timeout.count() << " ms; got so far: " << data;
      return data;
    }
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) {
      ADD_FAILURE() << "read(" << fd << "): " << std::strerror(errno);
      return data;
    }
    if (got == 0) return data;
    data.append(buf, static_cast<size_t>(got));
  }
}

Watchdog::Watchdog(taskport::Task& task, std::chrono::milliseconds timeout)
    : thread_([this, &task, timeout] {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_for(lock, timeout, [this] { return done_; })) {
          fired_ = true;
          try {
            task.signal(SIGKILL);
          } catch (...) {
          }
        }
      }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (fired_) ADD_FAILURE() << "watchdog fired: a blocking call did not return in time";
}

// ---- descriptors -----------------------------------------------------------

Pipe make_pipe(int flags) {
  int fds[2];
#if defined(__linux__)
  if (::pipe2(fds, flags) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return {};
  }
#else
  // No pipe2 on macOS; the test process has no thread that spawns
  // meanwhile unless the test itself starts one (which then uses 0 flags).
  if (::pipe(fds) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return {};
  }
  if (flags & O_CLOEXEC) {
    ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  }
#endif
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Lifeline::Lifeline() : pipe_(make_pipe()) {}

Command Lifeline::probe() const {
  Command cmd = tp_test::probe({"--wait-stdin"});
  cmd.standard_input(Stdio::fd(pipe_.read.get()));
  return cmd;
}

void write_str(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ADD_FAILURE() << "write(" << fd << "): " << std::strerror(errno);
      return;
    }
    done += static_cast<size_t>(n);
  }
}

#if defined(__APPLE__)
std::set<int> open_fds() {
  std::set<int> fds;
  const int bytes = ::proc_pidinfo(::getpid(), PROC_PIDLISTFDS, 0, nullptr, 0);
  if (bytes <= 0) {
    ADD_FAILURE() << "proc_pidinfo(PROC_PIDLISTFDS): " << std::strerror(errno);
    return fds;
  }
  // Room for descriptors opened meanwhile by other threads.
  std::vector<proc_fdinfo> info(static_cast<size_t>(bytes) / sizeof(proc_fdinfo) + 64);
  const int got = ::proc_pidinfo(::getpid(), PROC_PIDLISTFDS, 0, info.data(),
                                 static_cast<int>(info.size() * sizeof(proc_fdinfo)));
  for (int i = 0; i < got / static_cast<int>(sizeof(proc_fdinfo)); ++i)
    fds.insert(info[static_cast<size_t>(i)].proc_fd);
  return fds;
}
#else
std::set<int> open_fds() {
  std::set<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) {
    ADD_FAILURE() << "opendir(/proc/self/fd): " << std::strerror(errno);
    return fds;
  }
  const int self = ::dirfd(dir);
  while (dirent* d = ::readdir(dir)) {
    if (d->d_name[0] == '.') continue;
    int fd = std::atoi(d->d_name);
    if (fd != self) fds.insert(fd);
  }
  ::closedir(dir);
  return fds;
}
#endif

bool is_cloexec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && (flags & FD_CLOEXEC);
}

std::set<int> inheritable_fds() {
  std::set<int> s;
  for (int fd : open_fds()) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) s.insert(fd);
  }
  return s;
}

static std::string identity_of(const struct stat& st) {
  return std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
         std::to_string(static_cast<unsigned long long>(st.st_ino));
}

std::string fd_identity(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return "closed";
  return identity_of(st);
}

std::string path_identity(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "missing";
  return identity_of(st);
}

#if defined(__linux__)
std::optional<pid_t> pidfd_pid(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Pid:", 0) == 0) return static_cast<pid_t>(std::stol(line.substr(4)));
  }
  return std::nullopt;
}

std::optional<pid_t> handle_pid(const taskport::Task& task) { return pidfd_pid(task.native_handle()); }

bool handle_is_held(const taskport::Task& task) { return ::fcntl(task.native_handle(), F_GETFD) >= 0; }

bool is_held_stopped(const taskport::Task& task) {
  const auto st = proc_stat(task.pid());
  return st && (st->state == 'T' || st->state == 't');
}
#else
std::optional<pid_t> handle_pid(const taskport::Task& task) {
  int pid = -1;
  if (::pid_for_task(task.native_handle(), &pid) != KERN_SUCCESS) return std::nullopt;
  return static_cast<pid_t>(pid);
}

bool handle_is_held(const taskport::Task& task) {
  mach_port_type_t type = 0;
  if (::mach_port_type(mach_task_self(), task.native_handle(), &type) != KERN_SUCCESS) return false;
  return (type & (MACH_PORT_TYPE_SEND | MACH_PORT_TYPE_DEAD_NAME)) != 0;
}

bool is_held_stopped(const taskport::Task& task) {
  mach_task_basic_info_data_t info{};
  mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
  if (::task_info(task.native_handle(), MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info), &count) !=
      KERN_SUCCESS)
    return false;
  return info.suspend_count > 0;
}
#endif

// ---- processes -------------------------------------------------------------

#if defined(__APPLE__)
namespace {

std::optional<kinfo_proc> kinfo_of(pid_t pid) {
  kinfo_proc kp{};
  size_t size = sizeof kp;
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid};
  if (::sysctl(mib, 4, &kp, &size, nullptr, 0) != 0 || size != sizeof kp) return std::nullopt;
  return kp;
}

char state_letter(char p_stat) {
  switch (p_stat) {
    case SIDL: return 'I';
    case SRUN: return 'R';
    case SSLEEP: return 'S';
    case SSTOP: return 'T';
    case SZOMB: return 'Z';
    default: return '?';
  }
}

}  // namespace

std::optional<ProcStat> proc_stat(pid_t pid) {
  const auto kp = kinfo_of(pid);
  if (!kp) return std::nullopt;
  ProcStat s;
  s.state = state_letter(kp->kp_proc.p_stat);
  s.ppid = kp->kp_eproc.e_ppid;
  const timeval start = kp->kp_proc.p_starttime;
  s.start_time = static_cast<unsigned long long>(start.tv_sec) * 1000000ull +
                 static_cast<unsigned long long>(start.tv_usec);
  return s;
}

std::string executable_of(pid_t pid) {
  char path[PROC_PIDPATHINFO_MAXSIZE];
  if (::proc_pidpath(pid, path, sizeof path) <= 0) return std::string();
  return real_path(path);
}

// Every process, zombies included (sysctl KERN_PROC_ALL lists zombies too,
// as ps shows them).
std::set<pid_t> children_of_self() {
  std::set<pid_t> kids;
  int mib[3] = {CTL_KERN, KERN_PROC, KERN_PROC_ALL};
  for (int attempt = 0; attempt < 5; ++attempt) {
    size_t size = 0;
    if (::sysctl(mib, 3, nullptr, &size, nullptr, 0) != 0) break;
    std::vector<kinfo_proc> all(size / sizeof(kinfo_proc) + 32);
    size = all.size() * sizeof(kinfo_proc);
    if (::sysctl(mib, 3, all.data(), &size, nullptr, 0) != 0) {
      if (errno == ENOMEM) continue;  // more processes meanwhile
      break;
    }
    const pid_t self = ::getpid();
    for (size_t i = 0; i < size / sizeof(kinfo_proc); ++i)
      if (all[i].kp_eproc.e_ppid == self) kids.insert(all[i].kp_proc.p_pid);
    return kids;
  }
  ADD_FAILURE() << "sysctl(KERN_PROC_ALL): " << std::strerror(errno);
  return kids;
}
#else
std::optional<ProcStat> proc_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
  //  majflt cmajflt utime stime cutime cstime priority nice num_threads
  //  itrealvalue starttime ..." — comm may contain anything, so split after
  // the last ')'.
  size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 1));
  ProcStat s;
  std::string skip;
  rest >> s.state >> s.ppid;
  for (int field = 5; field < 22; ++field) rest >> skip;
  rest >> s.start_time;
  return s;
}

std::string executable_of(pid_t pid) {
  char path[4096];
  const ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), path, sizeof path - 1);
  if (n < 0) return std::string();
  path[n] = '\0';
  return real_path(path);
}

pid_t tracer_pid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("TracerPid:", 0) == 0) return static_cast<pid_t>(std::stol(line.substr(10)));
  return -1;
}

std::set<pid_t> children_of_self() {
  std::set<pid_t> kids;
  const pid_t self = ::getpid();
  DIR* dir = ::opendir("/proc");
  if (!dir) return kids;
  while (dirent* d = ::readdir(dir)) {
    if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
    pid_t pid = std::atoi(d->d_name);
    if (auto st = proc_stat(pid); st && st->ppid == self) kids.insert(pid);
  }
  ::closedir(dir);
  return kids;
}

#endif

bool is_reaped(pid_t pid) {
  siginfo_t info{};
  int r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT);
  return r == -1 && errno == ECHILD;
}

bool eventually_reaped(pid_t pid, std::chrono::milliseconds timeout) {
  return eventually([pid] { return is_reaped(pid); }, timeout);
}

// ---- signals -----------------------------------------------------------------

std::uint64_t every_signal() {
  std::uint64_t all = 0;
#if defined(__linux__)
  const int last = 64;
#else
  const int last = NSIG - 1;
#endif
  for (int sig = 1; sig <= last; ++sig) all |= signal_bit(sig);
  return all;
}

std::uint64_t never_blocked_signals() {
  std::uint64_t never = signal_bit(SIGKILL) | signal_bit(SIGSTOP);
#if defined(__linux__)
  never |= signal_bit(32) | signal_bit(33);
#endif
  return never;
}

std::uint64_t this_thread_blocked_signals() {
#if defined(__linux__)
  std::ifstream in("/proc/thread-self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("SigBlk:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  ADD_FAILURE() << "no SigBlk in /proc/thread-self/status";
  return 0;
#else
  sigset_t set;
  sigemptyset(&set);
  if (::pthread_sigmask(SIG_BLOCK, nullptr, &set) != 0) ADD_FAILURE() << "pthread_sigmask failed";
  std::uint64_t mask = 0;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sigismember(&set, sig) == 1) mask |= signal_bit(sig);
  return mask;
#endif
}

std::optional<std::string> why_no_core_dump() {
#if defined(__linux__)
  std::string pattern;
  std::getline(std::ifstream("/proc/sys/kernel/core_pattern"), pattern);
  if (pattern.empty() || pattern[0] == '|')
    return "core_pattern '" + pattern + "' may not produce a core here";
  return std::nullopt;
#else
  int enabled = 0;
  size_t size = sizeof enabled;
  if (::sysctlbyname("kern.coredump", &enabled, &size, nullptr, 0) != 0 || enabled == 0)
    return std::string("kern.coredump is off");
  if (::access("/cores", W_OK) != 0) return std::string("/cores is not writable by this user");
  return std::nullopt;
#endif
}

// ---- files -----------------------------------------------------------------

TempDir::TempDir(const std::string& base) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      (!base.empty() ? base : std::string(tmp && *tmp ? tmp : "/tmp")) + "/taskport-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    return;
  }
  path_ = buf.data();
}

static void remove_tree(const std::string& path) {
  if (DIR* dir = ::opendir(path.c_str())) {
    while (dirent* d = ::readdir(dir)) {
      std::string name = d->d_name;
      if (name == "." || name == "..") continue;
      std::string child = path + "/" + name;
      struct stat st;
      if (::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(child);
      else ::unlink(child.c_str());
    }
    ::closedir(dir);
  }
  ::rmdir(path.c_str());
}

TempDir::~TempDir() {
  if (!path_.empty()) remove_tree(path_);
}

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    ADD_FAILURE() << "open(" << path << "): " << std::strerror(errno);
    return;
  }
  write_str(fd, text);
  ::fchmod(fd, mode);
  ::close(fd);
}

std::string real_path(const std::string& path) {
  char* r = ::realpath(path.c_str(), nullptr);
  if (!r) return path;
  std::string s = r;
  std::free(r);
  return s;
}

// ---- errors ----------------------------------------------------------------

std::optional<taskport::Error> spawn_error(const Command& cmd) {
  try {
    Child child = cmd.spawn();
    child.kill_on_drop(true);
    wait_exit(child);
    return std::nullopt;
  } catch (const taskport::Error& e) {
    return e;
  }
}

}  // namespace tp_test
