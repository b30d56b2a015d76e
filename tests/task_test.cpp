// SPDX-License-Identifier: MIT
// Task: the pidfd that names exactly one process — what the kernel says it
// names, its descriptor flags, exit notification, signalling, and that it
// can never reach a process that merely reuses the pid.
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::ExitStatus;
using taskport::Stdio;
using taskport::Step;
using taskport::Task;

namespace {

// A child that runs until its stdin (our pipe) closes.
Command runs_until_stdin_closes() {
  Command cmd = probe({"--wait-stdin"});
  cmd.standard_input(Stdio::piped());
  return cmd;
}

}  // namespace

// ---- identity --------------------------------------------------------------------------

TEST(TaskHandle, NativeHandleIsAPidfdNamingTheChild) {
  auto [child, task] = long_running_probe().spawn_with_task();
  child.kill_on_drop(true);
  ASSERT_GE(task.native_handle(), 0);
  EXPECT_EQ(pidfd_pid(task.native_handle()), child.pid());
  EXPECT_EQ(task.pid(), child.pid());
  child.kill();
  wait_exit(child);
}

TEST(TaskHandle, ChildPidfdNamesTheChildToo) {
  Child child = long_running_probe().spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(pidfd_pid(child.pidfd()), child.pid());
  child.kill();
  wait_exit(child);
}

TEST(TaskHandle, TaskAndChildHoldSeparateDescriptors) {
  auto [child, task] = probe({"--exit", "0"}).spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_NE(task.native_handle(), child.pidfd());
  wait_exit(child);
}

TEST(TaskHandle, ExitFdIsThePidfd) {
  auto [child, task] = probe({"--exit", "0"}).spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(task.exit_fd(), task.native_handle());
  wait_exit(child);
}

TEST(TaskHandle, EveryDescriptorTheLibraryReturnsIsCloseOnExec) {
  Command cmd = probe({"--cat"});
  cmd.standard_input(Stdio::piped()).standard_output(Stdio::piped()).standard_error(Stdio::piped());
  const std::set<int> before = open_fds();
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);

  for (int fd : {task.native_handle(), task.exit_fd(), child.pidfd(), child.stdin_pipe().get(),
                 child.stdout_pipe().get(), child.stderr_pipe().get()})
    EXPECT_TRUE(is_cloexec(fd)) << "fd " << fd;
  // ...and so is anything else the spawn left open in this process.
  for (int fd : open_fds())
    if (!before.count(fd)) {
      EXPECT_TRUE(is_cloexec(fd)) << "new fd " << fd << " without FD_CLOEXEC";
    }

  child.stdin_pipe().reset();
  EXPECT_TRUE(wait_exit(child).success());
}

// ---- exit notification ---------------------------------------------------------------

TEST(TaskHandle, ExitFdBecomesReadableWhenTheChildExits) {
  auto [child, task] = runs_until_stdin_closes().spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_FALSE(poll_readable(task.exit_fd(), std::chrono::milliseconds(0)));
  child.stdin_pipe().reset();
  EXPECT_TRUE(poll_readable(task.exit_fd(), kLong));
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(TaskHandle, IsAliveUntilTheChildExits) {
  auto [child, task] = runs_until_stdin_closes().spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_TRUE(task.is_alive());
  child.stdin_pipe().reset();
  ASSERT_TRUE(poll_readable(task.exit_fd(), kLong));
  EXPECT_FALSE(task.is_alive()) << "a zombie counts as exited";
  EXPECT_EQ(proc_stat(child.pid())->state, 'Z') << "is_alive must not reap";
  EXPECT_TRUE(wait_exit(child).success());
  EXPECT_FALSE(task.is_alive());
}

// ---- signals ---------------------------------------------------------------------------

TEST(TaskHandle, SignalReachesTheChild) {
  auto [child, task] = long_running_probe().spawn_with_task();
  child.kill_on_drop(true);
  task.signal(SIGTERM);
  EXPECT_EQ(wait_exit(child).signal(), SIGTERM);
}

TEST(TaskHandle, SignalWorksFromAnotherThread) {
  auto [child, task] = long_running_probe().spawn_with_task();
  child.kill_on_drop(true);
  Task& handle = task;  // (C++17 lambdas cannot capture structured bindings)
  std::thread t([&handle] { handle.signal(SIGUSR1); });
  t.join();
  EXPECT_EQ(wait_exit(child).signal(), SIGUSR1);
}

TEST(TaskHandle, SignalAfterTheChildWasReapedThrowsEsrch) {
  auto [child, task] = probe({"--exit", "0"}).spawn_with_task();
  child.kill_on_drop(true);
  ASSERT_TRUE(wait_exit(child).success());
  try {
    task.signal(SIGTERM);
    ADD_FAILURE() << "Task::signal reached a reaped process";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH);
    EXPECT_EQ(e.step(), Step::send_signal);
  }
}

TEST(TaskHandle, ErrorsAboutTheTaskNameTheProgramItWasSpawnedFrom) {
  const Command cmd = probe({"--exit", "0"});
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  ASSERT_TRUE(wait_exit(child).success());
  try {
    task.signal(SIGTERM);
    ADD_FAILURE() << "Task::signal reached a reaped process";
  } catch (const Error& e) {
    EXPECT_EQ(e.program(), cmd.get_program());
  }
}

// ---- lifetime --------------------------------------------------------------------------

TEST(TaskHandle, TaskOutlivesAWaitedChild) {
  std::optional<Task> task;
  pid_t pid;
  {
    auto [child, t] = probe({"--exit", "0"}).spawn_with_task();
    child.kill_on_drop(true);
    pid = child.pid();
    task.emplace(std::move(t));
    ASSERT_TRUE(wait_exit(child).success());
  }
  EXPECT_EQ(task->pid(), pid);
  EXPECT_GE(::fcntl(task->native_handle(), F_GETFD), 0) << "the pidfd must still be open";
  EXPECT_FALSE(task->is_alive());
  EXPECT_TRUE(poll_readable(task->exit_fd(), std::chrono::milliseconds(0)));
  EXPECT_THROW(task->signal(SIGTERM), Error);
}

TEST(TaskHandle, TaskOutlivesADroppedRunningChildAndCanStillEndIt) {
  Lifeline lifeline;
  std::optional<Task> task;
  pid_t pid;
  {
    auto [child, t] = lifeline.probe().spawn_with_task();
    pid = child.pid();
    task.emplace(std::move(t));
  }  // Child dropped without kill_on_drop: the process keeps running
  EXPECT_TRUE(task->is_alive());
  EXPECT_EQ(pidfd_pid(task->native_handle()), pid);
  task->signal(SIGKILL);
  EXPECT_TRUE(poll_readable(task->exit_fd(), kLong));
  EXPECT_FALSE(task->is_alive());
  EXPECT_TRUE(eventually_reaped(pid));
}

TEST(TaskHandle, AMovedTaskKeepsNamingTheProcess) {
  auto [child, task] = long_running_probe().spawn_with_task();
  child.kill_on_drop(true);
  const int fd = task.native_handle();
  Task moved = std::move(task);
  EXPECT_EQ(moved.native_handle(), fd);
  EXPECT_EQ(moved.pid(), child.pid());
  moved.signal(SIGKILL);
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);
}

TEST(TaskHandle, DestroyingTheTaskClosesItsDescriptorOnly) {
  Child child = [] {
    auto [c, t] = long_running_probe().spawn_with_task();
    c.kill_on_drop(true);
    EXPECT_EQ(pidfd_pid(t.native_handle()), c.pid());
    return std::move(c);
  }();  // Task destroyed here
  EXPECT_EQ(pidfd_pid(child.pidfd()), child.pid());
  child.signal(SIGKILL);
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);
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
