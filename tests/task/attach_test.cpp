// SPDX-License-Identifier: MIT
// Task::open and Task::from_pidfd (label attach): a Task for a process
// taskport did not start. The processes are started by a shell (the target
// is a grandchild: this process is a child subreaper, so the orphan comes
// back to it to be reaped, and nothing is left behind), forked directly
// (zombies), or the kernel's own (kernel threads); the pid-reuse test runs
// in a pid namespace of its own so that forcing a pid (ns_last_pid)
// disturbs nothing else on the machine.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "task_support.hpp"

using namespace tp_task;
using taskport::Command;
using taskport::Error;
using taskport::Step;
using taskport::Task;
using taskport::UniqueFd;

namespace {

// Orphans of our children (the shell's background job) become our children.
void become_subreaper() { ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0) << std::strerror(errno); }

// A tp_task_target started by /bin/sh as a background job, in /tmp, with a
// variable set: its stdin and stdout are pipes of ours at fds 3 and 4 of the
// shell. Killed and reaped (we are its subreaper) on destruction.
class ShellTarget {
 public:
  ShellTarget() {
    commands_ = tp_test::make_pipe();
    reports_ = tp_test::make_pipe();
    Command sh("/bin/sh");
    sh.args({"-c", "cd /tmp && TP_ATTACH_MARK=from-shell \"$0\" --threads 2 <&3 >&4 3<&- 4>&- & echo $!",
             target_path()});
    sh.inherit_fd(3, commands_.read.get()).inherit_fd(4, reports_.write.get());
    const taskport::Output out = sh.output();
    EXPECT_TRUE(out.status.success()) << out.status.to_string() << " " << out.err;
    pid_ = static_cast<pid_t>(std::atol(out.out.c_str()));
    commands_.read.reset();
    reports_.write.reset();
    for (std::string line = read_line(); !line.empty() && line != "ready"; line = read_line()) {
      std::istringstream in(line);
      std::string name, value;
      in >> name >> value;
      addresses_[name] = std::strtoull(value.c_str(), nullptr, 0);
    }
  }
  ~ShellTarget() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);  // our unreaped child: the pid cannot have been reused
    // Bounded: a thread left traced would keep the zombie from being reaped.
    if (!tp_test::eventually([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; })) {
      ADD_FAILURE() << "the shell-started target " << pid_ << " could not be reaped";
    }
  }
  ShellTarget(const ShellTarget&) = delete;
  ShellTarget& operator=(const ShellTarget&) = delete;

  pid_t pid() const { return pid_; }
  std::uint64_t address(const std::string& name) { return addresses_[name]; }
  // What the target reads at [address, address+size) with its own loads.
  std::string own_hex(std::uint64_t address, std::size_t size) {
    tp_test::write_str(commands_.write.get(), "hex " + hex(address) + " " + std::to_string(size) + "\n");
    const std::string answer = read_line();
    return answer.size() > 4 ? answer.substr(4) : answer;
  }

 private:
  std::string read_line() {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + kLong;
    char c = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!tp_test::poll_readable(reports_.read.get(), 100ms)) continue;
      if (::read(reports_.read.get(), &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    ADD_FAILURE() << "the shell-started target sent no line";
    return line;
  }

  tp_test::Pipe commands_, reports_;
  pid_t pid_ = -1;
  std::map<std::string, std::uint64_t> addresses_;
};

// What Task::open throws for `pid`, or nullopt.
std::optional<Error> open_error(pid_t pid, const Task::OpenOptions& options = {}) {
  try {
    Task t = Task::open(pid, options);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

// A pid no process has now (below pid_max, checked with kill(pid, 0)).
pid_t unused_pid() {
  std::ifstream in("/proc/sys/kernel/pid_max");
  long max = 32768;
  in >> max;
  for (long pid = max - 1; pid > 300; --pid) {
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return static_cast<pid_t>(pid);
  }
  return -1;
}

// A kernel thread we can see: PF_KTHREAD (0x00200000) in field 9 of its
// stat, read here independently of taskport's parser.
pid_t visible_kernel_thread() {
  std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
  if (!proc) return -1;
  while (const dirent* e = ::readdir(proc.get())) {
    const long pid = std::atol(e->d_name);
    if (pid <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string text;
    if (!std::getline(in, text) || text.rfind(')') == std::string::npos) continue;
    std::istringstream rest(text.substr(text.rfind(')') + 1));
    std::string field;
    unsigned long flags = 0;
    for (int n = 3; n <= 9 && rest >> field; ++n) {
      if (n == 9) flags = std::strtoul(field.c_str(), nullptr, 10);
    }
    if ((flags & 0x00200000UL) != 0) return static_cast<pid_t>(pid);
  }
  return -1;
}

char state_of(pid_t pid) {
  const auto st = tp_test::proc_stat(pid);
  return st ? st->state : '-';
}

}  // namespace

// ---- a process started outside taskport --------------------------------------------

TEST(Attach, ReadsMemoryRegionsAndThreadsOfAProcessAShellStarted) {
  become_subreaper();
  ShellTarget target;
  ASSERT_GT(target.pid(), 0);
  Task task = Task::open(target.pid());
  EXPECT_EQ(task.pid(), target.pid());
  EXPECT_TRUE(task.is_alive());

  const std::uint64_t buffer = target.address("buffer");
  ASSERT_NE(buffer, 0u);
  const std::vector<std::byte> bytes = task.read(buffer, 256);
  ASSERT_EQ(bytes.size(), 256u);
  EXPECT_EQ(hex_bytes(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()),
            target.own_hex(buffer, 256));

  const auto region = task.region_at(buffer);
  ASSERT_TRUE(region);
  EXPECT_TRUE(region->protection.read && region->protection.write);
  const std::string exe = tp_test::real_path(target_path());
  const auto regions = task.regions();
  EXPECT_TRUE(
      std::any_of(regions.begin(), regions.end(), [&](const taskport::Region& r) { return r.path == exe; }));

  const auto threads = task.threads();
  ASSERT_EQ(threads.size(), 3u);
  std::vector<std::string> names;
  for (const auto& t : threads) names.push_back(t.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "tp-worker-0"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "tp-worker-1"), names.end());
  EXPECT_EQ(task.info().thread_count, 3u);
}

TEST(Attach, TellsWhatAProcessAShellStartedRuns) {
  become_subreaper();
  ShellTarget target;
  Task task = Task::open(target.pid());
  EXPECT_EQ(task.executable(), tp_test::real_path(target_path()));
  EXPECT_EQ(task.command_line(), (std::vector<std::string>{target_path(), "--threads", "2"}));
  EXPECT_EQ(task.current_dir(), tp_test::real_path("/tmp"));
  const auto env = task.environment();
  EXPECT_NE(std::find(env.begin(), env.end(), "TP_ATTACH_MARK=from-shell"), env.end());
  // The start time /proc shows (field 22), read by the test itself.
  const auto stat = tp_test::proc_stat(target.pid());
  ASSERT_TRUE(stat);
  EXPECT_EQ(task.start_time(), stat->start_time);
}

TEST(Attach, AnOpenedProcessCanBeSuspendedAndItsRegistersRead) {
  become_subreaper();
  ShellTarget target;
  Task task = Task::open(target.pid());
  task.suspend();
  EXPECT_EQ(state_of(target.pid()), 't');
  for (const auto& t : task.threads()) EXPECT_NE(task.registers(t.tid).program_counter(), 0u) << t.tid;
  task.resume();
  EXPECT_TRUE(tp_test::eventually([&] { return state_of(target.pid()) != 't'; }));
}

TEST(Attach, ExpectedStartTimeAcceptsTheSameProcessOnly) {
  become_subreaper();
  ShellTarget target;
  const std::uint64_t started = Task::open(target.pid()).start_time();
  EXPECT_EQ(Task::open(target.pid(), {started}).pid(), target.pid());
  const auto e = open_error(target.pid(), {started + 1});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->errno_value(), ESRCH);
  EXPECT_EQ(e->step(), Step::open_task);
  EXPECT_NE(std::string(e->what()).find("now names another process"), std::string::npos) << e->what();
}

// ---- open fails cleanly -------------------------------------------------------------

TEST(Attach, OpenFailsWithEsrchForAPidThatDoesNotExist) {
  const pid_t pid = unused_pid();
  ASSERT_GT(pid, 0);
  const auto before = tp_test::open_fds();
  const auto e = open_error(pid);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->errno_value(), ESRCH);
  EXPECT_EQ(e->step(), Step::open_task);
  EXPECT_EQ(e->program(), "pid " + std::to_string(pid));
  EXPECT_NE(std::string(e->what()).find("no such process"), std::string::npos) << e->what();
  EXPECT_EQ(tp_test::open_fds(), before);
}

TEST(Attach, OpenFailsWithEsrchForAZombie) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(0);
  // A zombie once the whole thread group is gone: the leader shows 'Z'
  // before a second thread has finished its exit (a sanitizer's thread in
  // the forked child, seen under TSan), and a process with a live thread is
  // no zombie. waitid reports the exit only then; WNOWAIT leaves the zombie.
  ASSERT_TRUE(tp_test::eventually([&] {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid;
  }));
  ASSERT_EQ(state_of(pid), 'Z');
  const auto before = tp_test::open_fds();
  const auto e = open_error(pid);
  ::waitpid(pid, nullptr, 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->errno_value(), ESRCH);
  EXPECT_EQ(e->step(), Step::open_task);
  EXPECT_NE(std::string(e->what()).find("has exited"), std::string::npos) << e->what();
  EXPECT_EQ(tp_test::open_fds(), before);
}

TEST(Attach, AProcessWhoseMainThreadEndedIsStillAlive) {
  // The leader shows 'Z' once it called pthread_exit, while the process
  // runs on in its other thread: that is no zombie to refuse.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::thread([] {
      for (;;) ::pause();
    }).detach();
    // The raw exit ends the calling thread only, with no unwinding through
    // the test framework's frames (pthread_exit would unwind).
    ::syscall(SYS_exit, 0);
  }
  ASSERT_TRUE(tp_test::eventually([&] { return state_of(pid) == 'Z'; }));
  try {
    Task task = Task::open(pid);
    EXPECT_TRUE(task.is_alive());
    EXPECT_GE(task.threads().size(), 2u);  // a sanitizer runtime may add its own
  } catch (const Error& e) {
    ADD_FAILURE() << e.what();
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST(Attach, OpenFailsWithEinvalForAKernelThread) {
  const pid_t pid = visible_kernel_thread();
  if (pid < 0) GTEST_SKIP() << "no kernel thread visible in this pid namespace";
  const auto before = tp_test::open_fds();
  const auto e = open_error(pid);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->errno_value(), EINVAL);
  EXPECT_EQ(e->step(), Step::open_task);
  EXPECT_NE(std::string(e->what()).find("no user memory"), std::string::npos) << e->what();
  EXPECT_EQ(tp_test::open_fds(), before);
}

TEST(Attach, OpenFailsWithEinvalForPidsThatAreNoProcessId) {
  for (pid_t pid : {0, -1}) {
    const auto e = open_error(pid);
    ASSERT_TRUE(e) << pid;
    EXPECT_EQ(e->errno_value(), EINVAL);
  }
  // A thread id that is not its process's id.
  Target target({"--threads", "1"});
  pid_t worker = -1;
  for (const auto& t : target.task().threads()) {
    if (t.tid != target.pid()) worker = t.tid;
  }
  ASSERT_GT(worker, 0);
  const auto e = open_error(worker);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->errno_value(), EINVAL);
  EXPECT_NE(std::string(e->what()).find("not a process id"), std::string::npos) << e->what();
}

// ---- another user's process -------------------------------------------------------------

TEST(Attach, AnotherUsersProcessOpensButItsMemoryIsRefusedWithTheReason) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (to be another user in a subprocess)";
  Target target;  // runs as root
  const std::uint64_t buffer = target.address("buffer");
  const std::string result = in_subprocess([&]() -> std::string {
    if (std::string problem = drop_to(65534, 65534); !problem.empty()) return problem;
    Task task = Task::open(target.pid());  // needs no privilege
    if (task.threads().empty()) return "no threads";
    if (!task.info().thread_count) return "no thread count in info()";
    try {
      task.read(buffer, 8);
      return "the read was not refused";
    } catch (const Error& e) {
      const std::string what = e.what();
      if (e.errno_value() != EPERM && e.errno_value() != EACCES)
        return "errno " + std::to_string(e.errno_value());
      if (e.step() != Step::read_memory) return std::string("step ") + taskport::to_string(e.step());
      if (what.find("runs as uid 0, this process as uid 65534") == std::string::npos)
        return "unexplained: " + what;
      if (what.find("CAP_SYS_PTRACE") == std::string::npos) return "no hint: " + what;
    }
    return "";
  });
  EXPECT_EQ(result, "");
}

// ---- pid reuse ----------------------------------------------------------------------------

namespace {

// In the init process of a new pid namespace (a fresh /proc mounted): a
// Task opened by pid for process A; A exits and is reaped; B is forced onto
// A's pid (ns_last_pid). Returns "" if the Task never reached B, else what
// went wrong.
std::string reuse_scenario() {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "mount --make-rprivate /";
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return "mount /proc";
  auto sleeper = [] {
    const pid_t pid = ::fork();
    if (pid == 0) {
      for (;;) ::pause();
    }
    return pid;
  };
  // A: whatever pid the namespace gives (a sanitizer runtime's thread may
  // have taken pid 2).
  const pid_t a = sleeper();
  if (a <= 1) return "fork";
  Task task = Task::open(a);
  const std::uint64_t a_started = task.start_time();
  ::kill(a, SIGKILL);
  ::waitpid(a, nullptr, 0);
  // Two clock ticks later, so that B's start time differs from A's.
  std::this_thread::sleep_for(30ms);
  // B on A's pid: the next pid after ns_last_pid. Retried in case a thread
  // of this process (a sanitizer's) takes it first.
  pid_t b = -1;
  for (int attempt = 0; attempt < 5 && b != a; ++attempt) {
    if (b > 0) {
      ::kill(b, SIGKILL);
      ::waitpid(b, nullptr, 0);
    }
    std::ofstream("/proc/sys/kernel/ns_last_pid") << (a - 1);
    b = sleeper();
  }
  if (b != a) {
    ::kill(b, SIGKILL);
    ::waitpid(b, nullptr, 0);
    return "ns_last_pid did not give the pid back: got " + std::to_string(b);
  }
  std::string problems;
  auto expect_esrch = [&](const char* what, const std::function<void()>& call) {
    try {
      call();
      problems += std::string(what) + " reached the new process; ";
    } catch (const Error& e) {
      if (e.errno_value() != ESRCH) problems += std::string(what) + ": " + e.what() + "; ";
    }
  };
  if (task.is_alive()) problems += "is_alive() is true; ";
  expect_esrch("signal", [&] { task.signal(SIGTERM); });
  expect_esrch("threads", [&] { task.threads(); });
  expect_esrch("info", [&] { task.info(); });
  expect_esrch("read", [&] { task.read(0x400000, 8); });
  expect_esrch("regions", [&] { task.regions(); });
  expect_esrch("command_line", [&] { task.command_line(); });
  expect_esrch("open with A's start time", [&] { Task::open(b, {a_started}); });
  if (task.start_time() != a_started) problems += "start_time() changed; ";
  if (Task::open(b).start_time() == a_started) problems += "B has A's start time; ";
  // B lived through all of it.
  if (::kill(b, 0) != 0 || ::waitpid(b, nullptr, WNOHANG) != 0) problems += "B did not survive; ";
  ::kill(b, SIGKILL);
  ::waitpid(b, nullptr, 0);
  return problems;
}

}  // namespace

TEST(Attach, ATaskOpenedByPidNeverReachesAProcessThatReusesThePid) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (a pid namespace and ns_last_pid)";
  const std::string result = in_subprocess([]() -> std::string {
    if (::unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
      return std::string("skip: unshare: ") + std::strerror(errno);
    tp_test::Pipe report = tp_test::make_pipe();
    const pid_t init = ::fork();  // pid 1 of the new namespace
    if (init < 0) return "fork";
    if (init == 0) {
      report.read.reset();
      std::string result;
      try {
        result = reuse_scenario();
      } catch (const std::exception& e) {
        result = std::string("exception: ") + e.what();
      }
      tp_test::write_str(report.write.get(), result);
      ::_exit(0);
    }
    report.write.reset();
    std::string result = tp_test::read_all(report.read.get());
    ::waitpid(init, nullptr, 0);
    return result;
  });
  if (result.rfind("skip: ", 0) == 0) GTEST_SKIP() << result;
  EXPECT_EQ(result, "");
}

// ---- from_pidfd -----------------------------------------------------------------------------

TEST(Attach, FromPidfdAdoptsThePidfd) {
  Target target;
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, target.pid(), 0));
  ASSERT_GE(fd, 0) << std::strerror(errno);
  Task task = Task::from_pidfd(UniqueFd(fd));
  EXPECT_EQ(task.native_handle(), fd);
  EXPECT_EQ(task.pid(), target.pid());
  EXPECT_EQ(task.read(target.address("buffer"), 16).size(), 16u);
  EXPECT_TRUE(tp_test::is_cloexec(fd));
}

TEST(Attach, FromPidfdRefusesWhatIsNotAPidfd) {
  tp_test::Pipe pipe = tp_test::make_pipe();
  const int pipe_fd = pipe.read.get();
  try {
    Task::from_pidfd(std::move(pipe.read));
    ADD_FAILURE() << "a pipe was taken for a pidfd";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
    EXPECT_EQ(e.step(), Step::open_task);
  }
  EXPECT_EQ(::fcntl(pipe_fd, F_GETFD), -1) << "from_pidfd adopts the descriptor, on failure too";
  try {
    Task::from_pidfd(UniqueFd(-1));
    ADD_FAILURE() << "-1 was taken for a pidfd";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EBADF);
  }
}

TEST(Attach, FromPidfdOfAReapedProcessIsEsrch) {
  Command cmd("/bin/true");
  taskport::Child child = cmd.spawn();
  const int fd = ::fcntl(child.pidfd(), F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(fd, 0);
  child.wait();
  try {
    Task::from_pidfd(UniqueFd(fd));
    ADD_FAILURE() << "a reaped process was opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH) << e.what();
  }
}
