// SPDX-License-Identifier: MIT
// Task: the handle that names exactly one process — what the kernel says it
// names, the descriptors it comes with, exit notification, signalling and
// lifetime. Portable (Linux: a pidfd; macOS: a Mach task port); what the
// pidfd is and pid reuse are in task_linux_test.cpp.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
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

TEST(TaskHandle, NativeHandleNamesTheChild) {
  auto [child, task] = long_running_probe().spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(handle_pid(task), child.pid());
  EXPECT_EQ(task.pid(), child.pid());
  child.kill();
  wait_exit(child);
}

TEST(TaskHandle, TaskAndChildHoldSeparateExitDescriptors) {
  auto [child, task] = probe({"--exit", "0"}).spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_NE(task.exit_fd(), child.exit_fd());
  wait_exit(child);
}

TEST(TaskHandle, EveryDescriptorTheLibraryReturnsIsCloseOnExec) {
  Command cmd = probe({"--cat"});
  cmd.standard_input(Stdio::piped()).standard_output(Stdio::piped()).standard_error(Stdio::piped());
  const std::set<int> before = open_fds();
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);

  std::vector<int> returned = {task.exit_fd(), child.exit_fd(), child.stdin_pipe().get(),
                               child.stdout_pipe().get(), child.stderr_pipe().get()};
#if defined(__linux__)
  returned.push_back(task.native_handle());  // a pidfd (macOS: a port, no descriptor)
#endif
  for (int fd : returned) EXPECT_TRUE(is_cloexec(fd)) << "fd " << fd;
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
  EXPECT_TRUE(handle_is_held(*task)) << "the handle must still be held";
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
  EXPECT_EQ(handle_pid(*task), pid);
  task->signal(SIGKILL);
  EXPECT_TRUE(poll_readable(task->exit_fd(), kLong));
  EXPECT_FALSE(task->is_alive());
  EXPECT_TRUE(eventually_reaped(pid));
}

TEST(TaskHandle, AMovedTaskKeepsNamingTheProcess) {
  auto [child, task] = long_running_probe().spawn_with_task();
  child.kill_on_drop(true);
  const Task::native_handle_type handle = task.native_handle();
  Task moved = std::move(task);
  EXPECT_EQ(moved.native_handle(), handle);
  EXPECT_EQ(moved.pid(), child.pid());
  moved.signal(SIGKILL);
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);
}

TEST(TaskHandle, DestroyingTheTaskLetsGoOfItsHandleOnly) {
  Child child = [] {
    auto [c, t] = long_running_probe().spawn_with_task();
    c.kill_on_drop(true);
    EXPECT_EQ(handle_pid(t), c.pid());
    return std::move(c);
  }();  // Task destroyed here
  EXPECT_EQ(child.try_wait(), std::nullopt) << "the process runs on";
  EXPECT_FALSE(poll_readable(child.exit_fd(), std::chrono::milliseconds(0)));
  child.signal(SIGKILL);
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);
}
