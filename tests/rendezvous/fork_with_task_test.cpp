// SPDX-License-Identifier: MIT
// fork_with_task: a forked child (no exec) running a function, and its Task.
// Portable (Linux and macOS); the privilege tests are in
// fork_with_task_linux_test.cpp.
#include "taskport/fork_with_task.hpp"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <stdexcept>

#include "support.hpp"
#include "taskport/taskport.hpp"

using taskport::fork_with_task;
using taskport::Task;
using tp_test::handle_pid;
using tp_test::kLong;
using tp_test::open_fds;
using tp_test::wait_exit;

namespace {

// Descriptors open now that were not in `before`.
std::set<int> new_fds(const std::set<int>& before) {
  std::set<int> added;
  for (int fd : open_fds()) {
    if (before.count(fd) == 0) added.insert(fd);
  }
  return added;
}

// Memory the tests look at in the forked child (its copy).
volatile int g_value = 1;

// Blocks until one byte arrives (or EOF). Async-signal-safe.
void await_byte(int fd) {
  char c;
  while (::read(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

void send_byte(int fd) {
  const char c = 'x';
  while (::write(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

}  // namespace

TEST(ForkWithTask, ChildRunsTheFunctionAndExitsWithItsValue) {
  auto [child, task] = fork_with_task([] { return 7; });
  EXPECT_EQ(wait_exit(child).code(), 7);
}

TEST(ForkWithTask, ErrorsNameTheForkedChildByItsPid) {
  auto [child, task] = fork_with_task([] { return 0; });
  const std::string pid_form = "pid " + std::to_string(child.pid());
  EXPECT_EQ(child.program(), pid_form);
  ASSERT_TRUE(wait_exit(child).success());
  try {
    task.signal(SIGTERM);
    ADD_FAILURE() << "Task::signal reached a reaped process";
  } catch (const taskport::Error& e) {
    EXPECT_EQ(e.program(), pid_form);
  }
}

TEST(ForkWithTask, TaskNamesTheForkedChild) {
  tp_test::Pipe release = tp_test::make_pipe();
  auto [child, task] = fork_with_task([&] {
    ::close(release.write.get());  // so that the parent's close is EOF here
    await_byte(release.read.get());
    return 0;
  });
  child.kill_on_drop(true);
  EXPECT_EQ(task.pid(), child.pid());
  EXPECT_EQ(handle_pid(task), child.pid());
#if defined(__linux__)
  EXPECT_EQ(tp_test::pidfd_pid(child.exit_fd()), child.pid()) << "Linux: the Child's exit_fd is its pidfd";
#endif
  EXPECT_TRUE(task.is_alive());
  release.write.reset();
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(ForkWithTask, TaskReadsAndWritesTheChildsMemory) {
  tp_test::Pipe ready = tp_test::make_pipe();
  tp_test::Pipe go = tp_test::make_pipe();
  g_value = 1;
  auto [child, task] = fork_with_task([&] {
    g_value = 42;  // the child's copy only
    send_byte(ready.write.get());
    await_byte(go.read.get());
    return g_value == 99 ? 0 : 1;
  });
  child.kill_on_drop(true);
  ASSERT_TRUE(tp_test::poll_readable(ready.read.get(), kLong));
  const auto address = reinterpret_cast<std::uint64_t>(&g_value);
  EXPECT_EQ(task.read_value<int>(address), 42);
  EXPECT_EQ(g_value, 1) << "the parent's copy is untouched";
  const int v = 99;
  task.write(address, &v, sizeof v);
  send_byte(go.write.get());
  EXPECT_TRUE(wait_exit(child).success()) << "the child did not see the write";
}

TEST(ForkWithTask, TaskOfAChildThatExitsAtOnceStillNamesIt) {
  auto [child, task] = fork_with_task([] { return 0; });
  EXPECT_EQ(task.pid(), child.pid());
  EXPECT_TRUE(wait_exit(child).success());
  EXPECT_FALSE(task.is_alive());
}

TEST(ForkWithTask, ExceptionEscapingTheFunctionTerminatesTheChild) {
  auto [child, task] = fork_with_task([]() -> int { throw std::runtime_error("escapes"); });
  EXPECT_EQ(wait_exit(child).signal(), SIGABRT);
}

TEST(ForkWithTask, NoDescriptorLeaks) {
  const std::set<int> before = open_fds();
  for (int i = 0; i < 100; ++i) {
    auto [child, task] = fork_with_task([] { return 0; });
    ASSERT_TRUE(wait_exit(child).success());
  }
  // Only new descriptors are leaks: one may have closed meanwhile (the
  // library's reaper lets go of the pidfd of an earlier test's child).
  EXPECT_EQ(new_fds(before), std::set<int>{});
}
