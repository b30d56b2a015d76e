// SPDX-License-Identifier: MIT
// Task on Linux: the handle is a pidfd — what the kernel says it names —
// and it can never reach a process that merely reuses the pid. The
// portable Task tests are in task_test.cpp.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <string>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::Stdio;
using taskport::Task;

namespace {

// A child that runs until its stdin (our pipe) closes.
Command runs_until_stdin_closes() {
  Command cmd = probe({"--wait-stdin"});
  cmd.standard_input(Stdio::piped());
  return cmd;
}

}  // namespace

TEST(TaskPidfd, NativeHandleIsAPidfdNamingTheChild) {
  auto [child, task] = long_running_probe().spawn_with_task();
  child.kill_on_drop(true);
  ASSERT_GE(task.native_handle(), 0);
  EXPECT_EQ(pidfd_pid(task.native_handle()), child.pid());
  EXPECT_EQ(task.pid(), child.pid());
  child.kill();
  wait_exit(child);
}

TEST(TaskPidfd, ChildPidfdNamesTheChildToo) {
  Child child = long_running_probe().spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(pidfd_pid(child.pidfd()), child.pid());
  child.kill();
  wait_exit(child);
}

TEST(TaskPidfd, TaskAndChildHoldSeparatePidfds) {
  auto [child, task] = probe({"--exit", "0"}).spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_NE(task.native_handle(), child.pidfd());
  wait_exit(child);
}

TEST(TaskPidfd, ExitFdIsThePidfd) {
  auto [child, task] = probe({"--exit", "0"}).spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(task.exit_fd(), task.native_handle());
  wait_exit(child);
}

// ---- pid reuse ---------------------------------------------------------------------------

namespace {

// Makes the next pid the kernel hands out equal `pid` (root pid namespace,
// needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE). False if not permitted.
bool set_next_pid(pid_t pid) {
  std::ofstream f("/proc/sys/kernel/ns_last_pid");
  if (!f) return false;
  f << (pid - 1);
  f.flush();
  return static_cast<bool>(f);
}

}  // namespace

TEST(PidReuse, AReapedChildsTaskDoesNotReachANewProcessWithTheSamePid) {
  auto [old_child, old_task] = probe({"--exit", "0"}).spawn_with_task();
  old_child.kill_on_drop(true);
  const pid_t pid = old_child.pid();
  ASSERT_TRUE(wait_exit(old_child).success());

  // Give the pid to a new process: write ns_last_pid, spawn, retry if some
  // other process in the system took the pid first.
  std::optional<Child> reuser;
  std::optional<Task> reuser_task;
  for (int attempt = 0; attempt < 50 && !reuser; ++attempt) {
    if (!set_next_pid(pid)) GTEST_SKIP() << "cannot write /proc/sys/kernel/ns_last_pid here";
    auto [c, t] = runs_until_stdin_closes().spawn_with_task();
    c.kill_on_drop(true);
    if (c.pid() == pid) {
      reuser.emplace(std::move(c));
      reuser_task.emplace(std::move(t));
    } else {
      c.stdin_pipe().reset();
      wait_exit(c);
    }
  }
  if (!reuser) GTEST_SKIP() << "could not get pid " << pid << " reused";
  ASSERT_EQ(pidfd_pid(reuser_task->native_handle()), pid);

  // The old handles must not reach the new process.
  try {
    old_task.signal(SIGKILL);
    ADD_FAILURE() << "Task::signal of a reaped child did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH);
  }
  try {
    old_child.signal(SIGKILL);
    ADD_FAILURE() << "Child::signal of a reaped child did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH);
  }
  old_child.kill();  // documented no-op after reaping
  EXPECT_FALSE(old_task.is_alive());

  EXPECT_TRUE(reuser_task->is_alive()) << "the new process with the same pid was hit";
  EXPECT_EQ(reuser->try_wait(), std::nullopt);
  reuser->stdin_pipe().reset();
  EXPECT_TRUE(wait_exit(*reuser).success());
}
