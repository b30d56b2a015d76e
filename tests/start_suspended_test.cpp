// SPDX-License-Identifier: MIT
// start_suspended(): the child is held stopped after exec, before the program
// runs, nobody stays its tracer, and Task::resume() — from any thread — lets
// it run. Portable: Linux stops it before the first instruction (traced by a
// library thread: start_suspended_linux_test.cpp), macOS in the preload's
// initializer before main (task_suspend).
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::Stdio;
using taskport::Step;
using taskport::Task;

namespace {

char state_of(pid_t pid) {
  auto st = proc_stat(pid);
  return st ? st->state : '-';
}

// A suspended probe whose first act would be to create `marker`. Its
// stdout/stderr are not ours: should this process crash, a stopped orphan
// must not hold the test runner's output pipe open.
Command suspended_toucher(const std::string& marker) {
  Command cmd = probe({"--touch", marker});
  cmd.start_suspended().standard_output(Stdio::null()).standard_error(Stdio::null());
  return cmd;
}

}  // namespace

TEST(StartSuspended, TheProgramHasNotStartedAndTheChildIsStopped) {
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  child.kill_on_drop(true);

  // Linux: state 'T' (a plain stop) or 't' (a ptrace stop); macOS: the
  // kernel's task suspend count. Either way it does not run.
  const pid_t pid = child.pid();
  Task& handle = task;  // (C++17 lambdas cannot capture structured bindings)
  auto stopped = [&handle] { return is_held_stopped(handle); };
  EXPECT_TRUE(eventually(stopped)) << "state " << state_of(pid) << ", expected stopped";
  // Give a wrongly running child the chance to show itself.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(file_exists(dir / "started")) << "the program ran before resume()";
  EXPECT_TRUE(stopped()) << "state " << state_of(pid);
  EXPECT_TRUE(task.is_alive());
}

TEST(StartSuspended, TheStoppedChildHasAlreadyExecutedTheNewProgram) {
  // Stopped *after* execve: the kernel names the probe, not the parent's image.
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(executable_of(child.pid()), real_path(probe_path()));
}

TEST(StartSuspended, WaitForDoesNotMistakeTheStopForAnExit) {
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(child.wait_for(std::chrono::milliseconds(20)), std::nullopt);
  EXPECT_EQ(child.try_wait(), std::nullopt);
}

TEST(StartSuspended, ResumeFromAnotherThreadLetsTheProgramRun) {
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(task.suspend_count(), 1);

  Task& handle = task;
  std::thread resumer([&handle] { handle.resume(); });
  resumer.join();

  EXPECT_EQ(task.suspend_count(), 0);
  EXPECT_TRUE(eventually([&] { return file_exists(dir / "started"); })) << "the program never ran";
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(StartSuspended, TheResumedProgramSeesItsArgumentsAndDescriptors) {
  Command cmd = probe({"--report", "after", "resume"});
  cmd.start_suspended().standard_output(Stdio::piped());
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  task.resume();
  ProbeReport r = parse_report(read_all(child.stdout_pipe().get()));
  EXPECT_TRUE(wait_exit(child).success());
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.argv, (std::vector<std::string>{probe_path(), "--report", "after", "resume"}));
  EXPECT_EQ(r.tracer_pid, 0);
  EXPECT_EQ(r.ppid, ::getpid());
}

TEST(StartSuspended, ResumingTwiceThrowsEinval) {
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  child.kill_on_drop(true);
  task.resume();
  try {
    task.resume();
    ADD_FAILURE() << "a second resume() did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
    EXPECT_EQ(e.step(), Step::resume);
  }
  EXPECT_EQ(task.suspend_count(), 0);
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(StartSuspended, ResumingANotSuspendedTaskThrowsEinval) {
  auto [child, task] = probe({"--exit", "0"}).spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(task.suspend_count(), 0);
  try {
    task.resume();
    ADD_FAILURE() << "resume() of a task that was never suspended did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
    EXPECT_EQ(e.step(), Step::resume);
  }
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(StartSuspended, SpawnWithoutATaskRejectsItWithEinval) {
  TempDir dir;
  const std::set<pid_t> kids_before = children_of_self();
  const std::set<int> fds_before = open_fds();
  auto e = spawn_error(suspended_toucher(dir / "started"));
  ASSERT_TRUE(e.has_value()) << "spawn() accepted start_suspended";
  EXPECT_EQ(e->errno_value(), EINVAL);
  EXPECT_EQ(e->step(), Step::validate_command);
  EXPECT_FALSE(file_exists(dir / "started"));
  EXPECT_EQ(open_fds(), fds_before);
  for (pid_t kid : children_of_self())
    EXPECT_TRUE(kids_before.count(kid)) << "child " << kid << " left behind";
}

TEST(StartSuspended, ASuspendedChildCanBeKilled) {
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  child.kill_on_drop(true);
  task.signal(SIGKILL);
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);
  EXPECT_FALSE(file_exists(dir / "started"));
}

TEST(StartSuspended, ASuspendedChildCanBeKilledThroughTheChild) {
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  child.kill_on_drop(true);
  child.kill();
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);
}

TEST(StartSuspended, ResumingATaskThatDiedWhileSuspendedJustLowersTheCount) {
  // task.hpp: "A task that exited while suspended needs no resume: resume()
  // then just lowers the count."
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  child.kill_on_drop(true);
  child.kill();
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);
  EXPECT_EQ(task.suspend_count(), 1);
  EXPECT_NO_THROW(task.resume());
  EXPECT_EQ(task.suspend_count(), 0);
  EXPECT_THROW(task.resume(), Error) << "the count cannot go below zero";
}

TEST(StartSuspended, KillOnDropEndsASuspendedChild) {
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  const pid_t pid = child.pid();
  child.kill_on_drop(true);
  { Child dropped = std::move(child); }
  EXPECT_TRUE(poll_readable(task.exit_fd(), kLong));
  EXPECT_TRUE(eventually_reaped(pid));
  EXPECT_FALSE(file_exists(dir / "started"));
}

TEST(StartSuspended, ManySuspendedChildrenResumeIndependently) {
  TempDir dir;
  std::vector<std::pair<Child, Task>> kids;
  for (int i = 0; i < 8; ++i) {
    kids.push_back(suspended_toucher(dir / std::to_string(i)).spawn_with_task());
    kids.back().first.kill_on_drop(true);
  }
  for (int i = 0; i < 8; i += 2) kids[i].second.resume();  // only the even ones
  for (int i = 0; i < 8; i += 2) EXPECT_TRUE(wait_exit(kids[i].first).success());
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(file_exists(dir / std::to_string(i)), i % 2 == 0) << "child " << i;
    if (i % 2) {
      EXPECT_TRUE(is_held_stopped(kids[i].second))
          << "child " << i << " state " << state_of(kids[i].first.pid());
    }
  }
}
