// SPDX-License-Identifier: MIT
// close_other_fds(), uid()/gid()/groups() and rlimit(), observed from the
// other side: the probe's list of its descriptors, the child's
// /proc/<pid>/status and /proc/<pid>/limits, strace's list of system calls.
// The credential tests need root (they change users); the unprivileged
// cases run in a subprocess that dropped to uid 65534.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "command_support.hpp"

using namespace tp_command;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::Stdio;
using taskport::Step;
using taskport::Task;
using tp_task::in_subprocess;

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

namespace {

const std::string kDriver = TP_SPAWN_DRIVER;

// A parent descriptor without FD_CLOEXEC: what a child inherits unless
// close_other_fds() closes it.
struct Leaked {
  tp_test::Pipe pipe = tp_test::make_pipe(0);
  int fd() const { return pipe.read.get(); }
};

std::set<int> fds_of(const tp_test::ProbeReport& report) { return report.fd_numbers(); }

// /bin/cat waiting on a pipe: a child whose /proc/<pid>/status we read
// while it runs. Closing stdin ends it.
Child running_cat(Command cmd) {
  cmd.standard_input(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  return child;
}

std::optional<Error> spawn_error(const Command& cmd) { return tp_test::spawn_error(cmd); }

// "" if spawning `cmd` fails with `error` in `step`, else what happened.
std::string fails_with(const Command& cmd, int error, Step step) {
  try {
    Child child = cmd.spawn();
    child.kill_on_drop(true);
    return "spawned";
  } catch (const Error& e) {
    if (e.errno_value() != error || e.step() != step) return e.what();
  }
  return "";
}

}  // namespace

// ---- close_other_fds ---------------------------------------------------------------------

TEST(CloseOtherFds, ADescriptorWithoutCloexecIsAbsentInTheChild) {
  Leaked leaked;
  const auto inherited = tp_test::report_via_stdout(tp_test::probe({"--report"}));
  EXPECT_EQ(fds_of(inherited).count(leaked.fd()), 1u) << "the control: inherited without the option";
  const auto closed = tp_test::report_via_stdout(tp_test::probe({"--report"}).close_other_fds());
  ASSERT_TRUE(closed.complete);
  EXPECT_EQ(fds_of(closed), (std::set<int>{0, 1, 2}));
}

TEST(CloseOtherFds, KeepsStdioAndEveryInheritFdTarget) {
  Leaked leaked, placed;
  const auto report = tp_test::report_via_stdout(tp_test::probe({"--report"})
                                                     .inherit_fd(7, placed.pipe.write.get())
                                                     .inherit_fd(40, placed.fd())
                                                     .standard_error(Stdio::null())
                                                     .close_other_fds());
  ASSERT_TRUE(report.complete);
  EXPECT_EQ(fds_of(report), (std::set<int>{0, 1, 2, 7, 40}));
  EXPECT_EQ(report.fds.at(7).id, tp_test::fd_identity(placed.pipe.write.get()));
  EXPECT_EQ(report.fds.at(2).target, "/dev/null");
}

TEST(CloseOtherFds, ClosesOneByOneWhereCloseRangeIsRefused) {
  for (int error : {ENOSYS, EPERM}) {
    const std::string result = in_subprocess([error]() -> std::string {
      Leaked leaked;
      if (std::string problem = refuse_syscall(SYS_close_range, error); !problem.empty()) return problem;
      if (::syscall(SYS_close_range, 1000, 1000, 0) != -1 || errno != error)
        return "the filter does not work";
      const auto report = tp_test::report_via_stdout(tp_test::probe({"--report"}).close_other_fds());
      if (!report.complete) return "no report";
      if (fds_of(report) != std::set<int>{0, 1, 2})
        return "descriptors left: " + std::to_string(fds_of(report).size());
      return "";
    });
    EXPECT_EQ(result, "") << "close_range refused with " << error;
  }
}

TEST(CloseOtherFds, WorksWithTheClonePidfdFallback) {
  const std::string result = in_subprocess([]() -> std::string {
    Leaked leaked;
    if (std::string problem = refuse_clone_pidfd(ENOSYS); !problem.empty()) return problem;
    auto [child, task] =
        tp_test::probe({"--report"}).standard_output(Stdio::piped()).close_other_fds().spawn_with_task();
    const auto report = tp_test::parse_report(tp_test::read_all(child.stdout_pipe().get()));
    if (!child.wait().success()) return "the probe failed";
    if (task.pid() != child.pid()) return "the Task names another process";
    if (fds_of(report) != std::set<int>{0, 1, 2})
      return "descriptors left: " + std::to_string(fds_of(report).size());
    return "";
  });
  EXPECT_EQ(result, "");
}

TEST(CloseOtherFds, WorksWithStartSuspended) {
  Leaked leaked;
  auto [child, task] = tp_test::probe({"--report"})
                           .standard_output(Stdio::piped())
                           .close_other_fds()
                           .start_suspended()
                           .spawn_with_task();
  child.kill_on_drop(true);
  task.resume();
  const auto report = tp_test::parse_report(tp_test::read_all(child.stdout_pipe().get()));
  EXPECT_TRUE(tp_test::wait_exit(child).success());
  EXPECT_EQ(fds_of(report), (std::set<int>{0, 1, 2}));
}

TEST(CloseOtherFds, KeepsThePreloadsRendezvousDescriptorUntilItIsUsed) {
  taskport::set_preload_library(TP_PRELOAD_LIBRARY);
  Leaked leaked;
  auto [child, task] = tp_test::probe({"--report"})
                           .standard_output(Stdio::piped())
                           .close_other_fds()
                           .task_via_preload()
                           .spawn_with_task();
  child.kill_on_drop(true);
  const auto report = tp_test::parse_report(tp_test::read_all(child.stdout_pipe().get()));
  EXPECT_TRUE(tp_test::wait_exit(child).success());
  EXPECT_EQ(task.pid(), child.pid());
  // The preload closed its descriptor after sending; nothing else is left.
  EXPECT_EQ(fds_of(report), (std::set<int>{0, 1, 2}));
  taskport::set_preload_library("");
}

// ---- uid, gid, groups ------------------------------------------------------------------------

TEST(Credentials, TheChildRunsWithTheUidGidAndGroupsAsked) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  Child cat = running_cat(Command("/bin/cat").uid(65534).gid(65533).groups({1, 2, 3}));
  EXPECT_EQ(status_field(cat.pid(), "Uid"), "65534 65534 65534 65534");
  EXPECT_EQ(status_field(cat.pid(), "Gid"), "65533 65533 65533 65533");
  EXPECT_EQ(status_field(cat.pid(), "Groups"), "1 2 3");
  cat.stdin_pipe().reset();
  EXPECT_TRUE(tp_test::wait_exit(cat).success());
}

TEST(Credentials, UidAloneDropsTheSpawnersGroupsAndGidAloneKeepsThem) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::string result = in_subprocess([]() -> std::string {
    const gid_t mine[] = {5, 6};
    if (::setgroups(2, mine) != 0) return "setgroups";
    Child by_uid = running_cat(Command("/bin/cat").uid(65534));
    std::string problems;
    if (status_field(by_uid.pid(), "Groups") != "")
      problems += "uid: groups " + status_field(by_uid.pid(), "Groups");
    if (status_field(by_uid.pid(), "Gid") != "0 0 0 0")
      problems += "uid: gid " + status_field(by_uid.pid(), "Gid");
    Child by_gid = running_cat(Command("/bin/cat").gid(7));
    if (status_field(by_gid.pid(), "Groups") != "5 6")
      problems += "gid: groups " + status_field(by_gid.pid(), "Groups");
    if (status_field(by_gid.pid(), "Gid") != "7 7 7 7")
      problems += "gid: gid " + status_field(by_gid.pid(), "Gid");
    return problems;
  });
  EXPECT_EQ(result, "");
}

TEST(Credentials, AnUnprivilegedSpawnerGetsEpermWithTheStepThatFailed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (to become uid 65534 in a subprocess)";
  const std::string result = in_subprocess([]() -> std::string {
    if (std::string problem = tp_task::drop_to(65534, 65534); !problem.empty()) return problem;
    std::string problems;
    auto check = [&](const char* what, const Command& cmd, Step step) {
      if (std::string r = fails_with(cmd, EPERM, step); !r.empty())
        problems += std::string(what) + ": " + r + "; ";
    };
    check("uid", Command("/bin/true").uid(0), Step::setuid);
    check("gid", Command("/bin/true").gid(0), Step::setgid);
    check("groups", Command("/bin/true").groups({0}), Step::setgroups);
    // Its own uid is allowed; the groups it cannot drop stay (as they are).
    if (!Command("/bin/true").uid(65534).status().success()) problems += "own uid refused; ";
    if (!tp_test::children_of_self().empty()) problems += "a child was left; ";
    return problems;
  });
  EXPECT_EQ(result, "");
}

TEST(Credentials, TheSpawnersOtherThreadsKeepTheirCredentials) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  std::atomic<bool> stop{false};
  std::atomic<pid_t> other_tid{0};
  std::thread other([&] {
    other_tid = static_cast<pid_t>(::syscall(SYS_gettid));
    while (!stop) std::this_thread::sleep_for(1ms);
  });
  ASSERT_TRUE(tp_test::eventually([&] { return other_tid != 0; }));
  EXPECT_TRUE(Command("/bin/true").uid(65534).gid(65534).groups({}).status().success());
  // Both threads of this process still run as root (glibc's setresuid
  // would have changed every one of them).
  for (const pid_t tid : {::getpid(), other_tid.load()}) {
    EXPECT_EQ(status_field(tid, "Uid"), "0 0 0 0") << tid;
    EXPECT_EQ(status_field(tid, "Gid"), "0 0 0 0") << tid;
  }
  stop = true;
  other.join();
}

// ---- rlimit -------------------------------------------------------------------------------------

TEST(Rlimit, TheChildRunsWithTheLimitsAsked) {
  Child cat = running_cat(Command("/bin/cat").rlimit(RLIMIT_NOFILE, 100, 200).rlimit(RLIMIT_CORE, 0, 0));
  EXPECT_EQ(limits_line(cat.pid(), "Max open files"), "Max open files 100 200 files");
  EXPECT_EQ(limits_line(cat.pid(), "Max core file size"), "Max core file size 0 0 bytes");
  cat.stdin_pipe().reset();
  EXPECT_TRUE(tp_test::wait_exit(cat).success());
}

TEST(Rlimit, ASoftLimitAboveTheHardOneIsRefusedBeforeSpawning) {
  const auto before = tp_test::children_of_self();
  const auto e = spawn_error(Command("/bin/true").rlimit(RLIMIT_NOFILE, 200, 100));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->errno_value(), EINVAL);
  EXPECT_EQ(e->step(), Step::validate_command);
  EXPECT_EQ(tp_test::children_of_self(), before);
}

TEST(Rlimit, RaisingAHardLimitWithoutCapSysResourceIsEperm) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (to become uid 65534 in a subprocess)";
  const std::string result = in_subprocess([]() -> std::string {
    if (std::string problem = tp_task::drop_to(65534, 65534); !problem.empty()) return problem;
    rlimit now{};
    ::getrlimit(RLIMIT_NOFILE, &now);
    return fails_with(Command("/bin/true").rlimit(RLIMIT_NOFILE, now.rlim_cur, now.rlim_max + 1), EPERM,
                      Step::setrlimit);
  });
  EXPECT_EQ(result, "");
}

// ---- no cost when unset ---------------------------------------------------------------------------

TEST(ProcessOptions, APlainSpawnMakesNoSystemCallForThem) {
  if (!tp_task::have_program("strace")) GTEST_SKIP() << "strace not installed";
  tp_test::TempDir dir;
  auto traced = [&](const std::string& mode) {
    const std::string log = dir / (mode + ".strace");
    // In a sanitizer build the driver carries the sanitizer's runtime: it
    // must not set RLIMIT_CORE itself (disable_coredump) nor run
    // LeakSanitizer, which refuses to work under ptrace.
    tp_task::run_capture({"strace", "-f", "-qq", "-E", "ASAN_OPTIONS=detect_leaks=0:disable_coredump=0", "-E",
                          "TSAN_OPTIONS=disable_coredump=0", "-e", "signal=none", "-o", log, "-e",
                          "trace=close_range,prlimit64,setgroups,setresuid,setresgid,getdents64", kDriver,
                          mode, "/bin/true"});
    // What is left once the limit queries of glibc's start-up (in the driver
    // and in /bin/true: "prlimit64(0, RLIMIT_STACK, NULL, ...") are dropped.
    std::ifstream in(log);
    std::string line, text;
    while (std::getline(in, line)) {
      if (line.find("prlimit64(") != std::string::npos && line.find(", NULL, ") != std::string::npos)
        continue;
      text += line + "\n";
    }
    return text;
  };
  const std::string plain = traced("plain");
  EXPECT_EQ(plain, "") << "a plain spawn made:\n" << plain;
  const std::string with_options = traced("options");
  for (const char* call : {"close_range(", "prlimit64(", "setresuid("}) {
    EXPECT_NE(with_options.find(call), std::string::npos) << call << " missing from:\n" << with_options;
  }
}

// Between clone and execve a plain spawn's child makes one system call: it
// gives itself the parent's signal mask back. Its handlers were reset by
// the kernel (clone3's CLONE_CLEAR_SIGHAND), not by 62 rt_sigaction calls;
// the strace log shows both the clone3 flags and what the child ran.
TEST(ProcessOptions, APlainSpawnsChildMakesOnlyTheMaskCallBeforeExecve) {
  if (!tp_task::have_program("strace")) GTEST_SKIP() << "strace not installed";
  tp_test::TempDir dir;
  const std::string log = dir / "plain.strace";
  tp_task::run_capture({"strace", "-f", "-qq", "-E", "ASAN_OPTIONS=detect_leaks=0:disable_coredump=0", "-E",
                        "TSAN_OPTIONS=disable_coredump=0", "-e", "signal=none", "-o", log, kDriver, "plain",
                        "/bin/true"});
  std::ifstream in(log);
  std::vector<std::pair<std::string, std::string>> lines;  // (pid, the rest)
  std::string line, child;
  while (std::getline(in, line)) {
    const size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    // strace pads the pid column: "5664  execve(..." when pids differ in width.
    const size_t text = line.find_first_not_of(' ', space);
    if (text == std::string::npos) continue;
    lines.emplace_back(line.substr(0, space), line.substr(text));
    if (child.empty() && lines.back().second.rfind("execve(\"/bin/true\"", 0) == 0)
      child = lines.back().first;
  }
  ASSERT_FALSE(child.empty()) << "no execve of /bin/true in the log:\n" << tp_task::run_capture({"cat", log});
  std::string clone3;
  for (const auto& [pid, text] : lines) {
    if (pid != child && text.rfind("clone3(", 0) == 0) clone3 = text;
  }
  if (clone3.find("CLONE_CLEAR_SIGHAND") == std::string::npos || clone3.find("= -1") != std::string::npos)
    GTEST_SKIP() << "this kernel refuses clone3 with CLONE_CLEAR_SIGHAND (the clone fallback resets the "
                    "handlers itself): "
                 << clone3;
  std::string before_exec;
  for (const auto& [pid, text] : lines) {
    if (pid != child) continue;
    if (text.rfind("execve(", 0) == 0) break;
    before_exec += text + "\n";
  }
  EXPECT_EQ(before_exec.rfind("rt_sigprocmask(SIG_SETMASK, ", 0), 0u) << before_exec;
  EXPECT_EQ(std::count(before_exec.begin(), before_exec.end(), '\n'), 1) << before_exec;
}
