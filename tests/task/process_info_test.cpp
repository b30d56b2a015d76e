// SPDX-License-Identifier: MIT
// What a task runs — Task::executable, command_line, current_dir,
// environment, start_time — and Task::read into a vector, against what the
// test configured and what /proc says; concurrent calls on one Task.
#include <errno.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
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

namespace {

// The NUL-separated strings of a /proc file, read by the test itself.
std::vector<std::string> proc_strings(pid_t pid, const char* name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + name, std::ios::binary);
  std::vector<std::string> out;
  std::string s;
  while (std::getline(in, s, '\0')) out.push_back(s);
  return out;
}

Target configured_target() {
  return Target({"--threads", "1"},
                [](Command& cmd) { cmd.current_dir("/tmp").env("TP_INFO_MARK", "spawned here"); });
}

// "" if `call` throws Error(`error`, `step`), else what it did.
template <class Call>
std::string throws(Call&& call, int error, Step step) {
  try {
    call();
    return "no error";
  } catch (const Error& e) {
    if (e.errno_value() != error || e.step() != step) return e.what();
  }
  return "";
}

}  // namespace

TEST(ProcessInfo, TellsTheExecutableArgumentsDirectoryAndEnvironment) {
  Target target = configured_target();
  Task& task = target.task();
  EXPECT_EQ(task.executable(), tp_test::real_path(target_path()));
  EXPECT_EQ(task.command_line(), (std::vector<std::string>{target_path(), "--threads", "1"}));
  EXPECT_EQ(task.current_dir(), tp_test::real_path("/tmp"));
  const auto env = task.environment();
  EXPECT_NE(std::find(env.begin(), env.end(), "TP_INFO_MARK=spawned here"), env.end());
  EXPECT_EQ(env, proc_strings(target.pid(), "environ"));
}

TEST(ProcessInfo, StartTimeIsTheKernelsAndIsRemembered) {
  Target target;
  const auto stat = tp_test::proc_stat(target.pid());
  ASSERT_TRUE(stat);
  EXPECT_EQ(target.task().start_time(), stat->start_time);
  target.exit_and_reap();
  EXPECT_EQ(target.task().start_time(), stat->start_time);  // read before: still known
}

TEST(ProcessInfo, AnExitedTaskAnswersEsrch) {
  Target target;
  const std::uint64_t buffer = target.address("buffer");
  target.exit_to_zombie();
  Task& task = target.task();
  EXPECT_EQ(throws([&] { task.executable(); }, ESRCH, Step::read_info), "");
  EXPECT_EQ(throws([&] { task.command_line(); }, ESRCH, Step::read_info), "");
  EXPECT_EQ(throws([&] { task.current_dir(); }, ESRCH, Step::read_info), "");
  EXPECT_EQ(throws([&] { task.environment(); }, ESRCH, Step::read_info), "");
  EXPECT_EQ(throws([&] { task.read(buffer, 8); }, ESRCH, Step::read_memory), "");
  target.child().wait();
  EXPECT_EQ(throws([&] { task.start_time(); }, ESRCH, Step::read_info), "") << "never read before the reap";
}

TEST(ProcessInfo, ReadIntoAVectorGivesExactlyTheBytes) {
  Target target;
  const std::uint64_t buffer = target.address("buffer");
  const std::vector<std::byte> bytes = target.task().read(buffer + 5, 300);
  ASSERT_EQ(bytes.size(), 300u);
  const auto own = target.own_bytes(buffer + 5, 300);
  EXPECT_TRUE(std::equal(own.begin(), own.end(), reinterpret_cast<const unsigned char*>(bytes.data())));
  EXPECT_TRUE(target.task().read(buffer, 0).empty());
  EXPECT_EQ(throws([&] { target.task().read(target.address("hole"), 16); }, EFAULT, Step::read_memory), "");
}

TEST(ProcessInfo, AnotherUsersTaskShowsItsCommandLineButNotTheRest) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (to be another user in a subprocess)";
  Target target;
  const std::string result = in_subprocess([&]() -> std::string {
    if (std::string problem = drop_to(65534, 65534); !problem.empty()) return problem;
    Task task = Task::open(target.pid());
    std::string problems;
    if (task.command_line().empty()) problems += "no command line; ";  // world-readable
    for (auto* what : {"executable", "current_dir", "environment"}) {
      try {
        if (std::string(what) == "executable") task.executable();
        if (std::string(what) == "current_dir") task.current_dir();
        if (std::string(what) == "environment") task.environment();
        problems += std::string(what) + " was not refused; ";
      } catch (const Error& e) {
        const std::string text = e.what();
        if (e.errno_value() != EACCES && e.errno_value() != EPERM) problems += text + "; ";
        if (text.find("runs as uid 0, this process as uid 65534") == std::string::npos)
          problems += text + "; ";
      }
    }
    return problems;
  });
  EXPECT_EQ(result, "");
}

TEST(ProcessInfo, ConcurrentCallsOnOneTaskAreSafe) {
  Target target({"--threads", "2"});
  Task& task = target.task();
  const std::uint64_t buffer = target.address("buffer");
  const auto expected = target.own_bytes(buffer, 64);
  const std::vector<std::string> argv = task.command_line();
  std::atomic<int> failures{0};
  std::mutex first_mutex;
  std::string first_error;
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 100; ++i) {
        try {
          std::vector<std::byte> bytes = task.read(buffer, 64);
          if (!std::equal(expected.begin(), expected.end(),
                          reinterpret_cast<const unsigned char*>(bytes.data())))
            ++failures;
          if (task.threads().size() != 3) ++failures;
          if (k % 2 == 0 && task.regions().empty()) ++failures;
          if (k % 2 == 1 && task.command_line() != argv) ++failures;
          if (!task.info().thread_count) ++failures;
          if (i % 25 == 0) {
            task.suspend();
            task.registers(target.pid());
            task.resume();
          }
        } catch (const std::exception& e) {
          ++failures;
          std::lock_guard<std::mutex> lock(first_mutex);
          if (first_error.empty()) first_error = e.what();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << first_error;
  EXPECT_EQ(task.suspend_count(), 0);
}
