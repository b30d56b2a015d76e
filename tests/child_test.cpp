// SPDX-License-Identifier: MIT
// Child: how it ended (exit code, signal, core dump), the three ways to wait,
// signalling, and what its destructor does with a child that still runs.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::ExitStatus;
using taskport::Stdio;
using taskport::Step;

// ---- exit status ---------------------------------------------------------------------

TEST(ExitStatusOfChild, ExitZeroIsSuccess) {
  Child child = probe({"--exit", "0"}).spawn();
  child.kill_on_drop(true);
  ExitStatus st = wait_exit(child);
  EXPECT_TRUE(st.success());
  EXPECT_EQ(st.code(), 0);
}

TEST(ExitStatusOfChild, TheExitCodeIsReported) {
  for (int code : {1, 3, 127, 255}) {
    Child child = probe({"--exit", std::to_string(code)}).spawn();
    child.kill_on_drop(true);
    ExitStatus st = wait_exit(child);
    EXPECT_EQ(st.code(), code);
    EXPECT_EQ(st.signal(), std::nullopt);
    EXPECT_FALSE(st.success());
  }
}

TEST(ExitStatusOfChild, TheKillingSignalIsReported) {
  Child child = probe({"--kill-self", std::to_string(SIGTERM)}).spawn();
  child.kill_on_drop(true);
  ExitStatus st = wait_exit(child);
  EXPECT_EQ(st.signal(), SIGTERM);
  EXPECT_EQ(st.code(), std::nullopt);
  EXPECT_FALSE(st.core_dumped()) << "SIGTERM never dumps core";
  EXPECT_EQ(st.to_string(), "killed by SIGTERM");
}

TEST(ExitStatusOfChild, ACoreDumpIsReported) {
  if (auto why = why_no_core_dump()) GTEST_SKIP() << *why;
  TempDir dir;  // Linux: the core lands here (core_pattern is a relative path); macOS: in /cores
  Command cmd = probe({"--kill-self", std::to_string(SIGQUIT)});
  cmd.current_dir(dir.path());
  cmd.pre_exec([] { return hook_set_core_limit(256ul << 20) ? 0 : 1; });
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  ExitStatus st = wait_exit(child);
  EXPECT_EQ(st.signal(), SIGQUIT);
  EXPECT_TRUE(st.core_dumped());
}

TEST(ExitStatusOfChild, NoCoreIsReportedWhenNoneIsAllowed) {
  Command cmd = probe({"--kill-self", std::to_string(SIGQUIT)});
  cmd.pre_exec([] { return hook_set_core_limit(0) ? 0 : 1; });
#if defined(__linux__)
  std::string pattern;
  std::getline(std::ifstream("/proc/sys/kernel/core_pattern"), pattern);
  if (!pattern.empty() && pattern[0] == '|') GTEST_SKIP() << "a pipe core_pattern ignores RLIMIT_CORE";
#endif
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  ExitStatus st = wait_exit(child);
  EXPECT_EQ(st.signal(), SIGQUIT);
  EXPECT_FALSE(st.core_dumped());
}

// ---- waiting -------------------------------------------------------------------------

TEST(Waiting, WaitForReturnsNothingWhileTheChildRuns) {
  Child child = long_running_probe().spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(child.wait_for(std::chrono::milliseconds(20)), std::nullopt);
  EXPECT_EQ(child.status(), std::nullopt);
  child.kill();
  ExitStatus st = wait_exit(child);
  EXPECT_EQ(st.signal(), SIGKILL);
}

TEST(Waiting, WaitForWithZeroTimeoutIsAPoll) {
  Child child = long_running_probe().spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(child.wait_for(std::chrono::nanoseconds(0)), std::nullopt);
  child.kill();
  ASSERT_TRUE(eventually([&] { return child.wait_for(std::chrono::nanoseconds(0)).has_value(); }));
  EXPECT_EQ(child.status()->signal(), SIGKILL);
}

TEST(Waiting, TryWaitReturnsNothingWhileTheChildRunsAndTheStatusOnceItExits) {
  Command cmd = probe({"--wait-stdin", "--exit", "5"});
  cmd.standard_input(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(child.try_wait(), std::nullopt);
  child.stdin_pipe().reset();
  std::optional<ExitStatus> st;
  ASSERT_TRUE(eventually([&] { return (st = child.try_wait()).has_value(); }));
  EXPECT_EQ(st->code(), 5);
}

TEST(Waiting, EveryWaitReturnsTheSameStatusOnceReaped) {
  Child child = probe({"--exit", "9"}).spawn();
  child.kill_on_drop(true);
  ExitStatus first = wait_exit(child);
  EXPECT_EQ(first.code(), 9);
  EXPECT_EQ(child.try_wait(), first);
  EXPECT_EQ(child.wait_for(std::chrono::milliseconds(0)), first);
  EXPECT_EQ(child.wait(), first);
  EXPECT_EQ(child.status(), first);
}

TEST(Waiting, WaitingReapsTheChild) {
  Child child = probe({"--exit", "0"}).spawn();
  child.kill_on_drop(true);
  ASSERT_TRUE(wait_exit(child).success());
  EXPECT_TRUE(is_reaped(child.pid())) << "no zombie may remain after a wait";
}

TEST(Waiting, WaitClosesStdinSoAChildReadingItCanFinish) {
  Command cmd = probe({"--wait-stdin", "--exit", "7"});
  cmd.standard_input(Stdio::piped());
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  Watchdog dog(task);
  EXPECT_EQ(child.wait().code(), 7);
  EXPECT_FALSE(child.stdin_pipe().valid());
}

TEST(Waiting, WaitForLeavesStdinOpen) {
  Command cmd = probe({"--wait-stdin", "--exit", "7"});
  cmd.standard_input(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(child.wait_for(std::chrono::milliseconds(20)), std::nullopt);
  EXPECT_TRUE(child.stdin_pipe().valid());
  child.stdin_pipe().reset();
  EXPECT_EQ(wait_exit(child).code(), 7);
}

TEST(Waiting, WaitForFollowsTheChildNotItsPipes) {
  // The child forks and exits; the grandchild keeps stdout open until its
  // stdin (our pipe) closes. The child's exit must be seen regardless.
  Command cmd = probe({"--fork", "--wait-stdin"});
  cmd.standard_input(Stdio::piped()).standard_output(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  ExitStatus st = wait_exit(child);
  EXPECT_TRUE(st.success());

  pollfd p{child.stdout_pipe().get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "the grandchild should still hold stdout open";
  child.stdin_pipe().reset();  // lets the grandchild finish
  EXPECT_EQ(read_all(child.stdout_pipe().get()), "");
}

TEST(Waiting, ExitFdBecomesReadableOnceTheChildExits) {
  Command cmd = probe({"--wait-stdin"});
  cmd.standard_input(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  ASSERT_GE(child.exit_fd(), 0);
#if defined(__linux__)
  EXPECT_EQ(child.exit_fd(), child.pidfd()) << "on Linux the exit notification is the pidfd";
#endif
  EXPECT_TRUE(is_cloexec(child.exit_fd()));
  EXPECT_FALSE(poll_readable(child.exit_fd(), std::chrono::milliseconds(0)));
  child.stdin_pipe().reset();
  EXPECT_TRUE(poll_readable(child.exit_fd(), kLong));
  EXPECT_TRUE(wait_exit(child).success());
}

// ---- signals -------------------------------------------------------------------------

TEST(ChildSignal, ASignalReachesTheChild) {
  Child child = long_running_probe().spawn();
  child.kill_on_drop(true);
  child.signal(SIGTERM);
  EXPECT_EQ(wait_exit(child).signal(), SIGTERM);
}

TEST(ChildSignal, SignalZeroChecksThatTheChildExists) {
  Child child = long_running_probe().spawn();
  child.kill_on_drop(true);
  EXPECT_NO_THROW(child.signal(0));
  child.kill();
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);
}

TEST(ChildSignal, SignallingAReapedChildThrowsEsrch) {
  Child child = probe({"--exit", "0"}).spawn();
  child.kill_on_drop(true);
  ASSERT_TRUE(wait_exit(child).success());
  try {
    child.signal(SIGTERM);
    ADD_FAILURE() << "signal() after reaping did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH);
    EXPECT_EQ(e.step(), Step::send_signal);
  }
}

TEST(ChildSignal, KillAfterReapingIsANoOp) {
  Child child = probe({"--exit", "0"}).spawn();
  child.kill_on_drop(true);
  ASSERT_TRUE(wait_exit(child).success());
  EXPECT_NO_THROW(child.kill());
  EXPECT_EQ(child.status(), ExitStatus::exited(0));
}

TEST(ChildSignal, SignallingAnExitedButUnreapedChildDoesNotThrow) {
  // A zombie is still this process; the status is still ours to collect.
  auto [child, task] = probe({"--exit", "4"}).spawn_with_task();
  child.kill_on_drop(true);
  ASSERT_TRUE(poll_readable(task.exit_fd(), kLong));
  EXPECT_NO_THROW(child.signal(SIGTERM));
  EXPECT_EQ(wait_exit(child).code(), 4);
}

// ---- moving ----------------------------------------------------------------------------

TEST(ChildMove, AMovedChildKeepsItsProcess) {
  Command cmd = probe({"--exit", "6"});
  Child original = cmd.spawn();
  original.kill_on_drop(true);
  const pid_t pid = original.pid();
  std::vector<Child> children;
  children.push_back(std::move(original));
  EXPECT_EQ(children[0].pid(), pid);
  EXPECT_EQ(wait_exit(children[0]).code(), 6);
}

// ---- destructor ------------------------------------------------------------------------

TEST(ChildDestructor, DroppingAnExitedChildReapsItAtOnce) {
  auto [child, task] = probe({"--exit", "0"}).spawn_with_task();
  const pid_t pid = child.pid();
  ASSERT_TRUE(poll_readable(task.exit_fd(), kLong));
  ASSERT_EQ(proc_stat(pid)->state, 'Z');
  { Child dropped = std::move(child); }
  EXPECT_TRUE(is_reaped(pid));
}

TEST(ChildDestructor, DroppingARunningChildLeavesItRunningAndItIsReapedWhenItExits) {
  // stdin is our own pipe (not the Child's), so the drop does not end it.
  Pipe in = make_pipe();
  Command cmd = probe({"--wait-stdin"});
  cmd.standard_input(Stdio::fd(in.read.get()));
  auto [child, task] = cmd.spawn_with_task();
  const pid_t pid = child.pid();
  { Child dropped = std::move(child); }

  EXPECT_TRUE(task.is_alive()) << "the destructor must not kill without kill_on_drop";
  EXPECT_FALSE(is_reaped(pid));
  in.write.reset();  // now it exits by itself
  EXPECT_TRUE(poll_readable(task.exit_fd(), kLong));
  EXPECT_TRUE(eventually_reaped(pid))
      << "the library must reap it (state " << (proc_stat(pid) ? proc_stat(pid)->state : '-') << ")";
}

TEST(ChildDestructor, DroppingClosesThePipesSoAChildReadingStdinEnds) {
  Command cmd = probe({"--wait-stdin"});
  cmd.standard_input(Stdio::piped());
  auto [child, task] = cmd.spawn_with_task();
  const pid_t pid = child.pid();
  { Child dropped = std::move(child); }
  EXPECT_TRUE(poll_readable(task.exit_fd(), kLong)) << "the child never saw EOF on stdin";
  EXPECT_TRUE(eventually_reaped(pid));
}

TEST(ChildDestructor, KillOnDropKillsARunningChild) {
  Lifeline lifeline;  // only the kill can end the child while this lives
  auto [child, task] = lifeline.probe().spawn_with_task();
  const pid_t pid = child.pid();
  child.kill_on_drop(true);
  { Child dropped = std::move(child); }
  EXPECT_TRUE(poll_readable(task.exit_fd(), kLong)) << "kill_on_drop did not end the child";
  EXPECT_TRUE(eventually_reaped(pid));
}

TEST(ChildDestructor, KillOnDropCanBeTurnedOffAgain) {
  Pipe in = make_pipe();
  Command cmd = probe({"--wait-stdin"});
  cmd.standard_input(Stdio::fd(in.read.get()));
  auto [child, task] = cmd.spawn_with_task();
  const pid_t pid = child.pid();
  child.kill_on_drop(true);
  child.kill_on_drop(false);
  { Child dropped = std::move(child); }
  EXPECT_TRUE(task.is_alive());
  in.write.reset();
  EXPECT_TRUE(eventually_reaped(pid));
}

TEST(ChildDestructor, DroppingManyRunningChildrenLeavesNoZombie) {
  Pipe in = make_pipe();
  std::vector<pid_t> pids;
  std::vector<taskport::Task> tasks;
  for (int i = 0; i < 20; ++i) {
    Command cmd = probe({"--wait-stdin"});
    cmd.standard_input(Stdio::fd(in.read.get()));
    auto [child, task] = cmd.spawn_with_task();
    pids.push_back(child.pid());
    tasks.push_back(std::move(task));
  }  // every Child dropped while running
  in.write.reset();
  for (pid_t pid : pids) EXPECT_TRUE(eventually_reaped(pid)) << "pid " << pid;
}
