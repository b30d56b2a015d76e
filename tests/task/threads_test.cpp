// SPDX-License-Identifier: MIT
// Task::threads(), checked against ps -L and against what the target says
// about itself.
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>

#include "task_support.hpp"

using namespace tp_task;
using taskport::Error;
using taskport::ThreadInfo;
using taskport::ThreadState;

namespace {

// tid → name, as `ps -L` lists the threads of `pid`.
std::map<pid_t, std::string> ps_threads(pid_t pid) {
  const std::string out = run_capture({"ps", "-L", "-o", "lwp=,comm=", "-p", std::to_string(pid)});
  std::map<pid_t, std::string> threads;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    pid_t tid = 0;
    if (!(words >> tid)) continue;
    std::string name;
    std::getline(words >> std::ws, name);
    threads[tid] = name;
  }
  return threads;
}

std::map<pid_t, std::string> by_tid(const std::vector<ThreadInfo>& threads) {
  std::map<pid_t, std::string> m;
  for (const ThreadInfo& t : threads) m[t.tid] = t.name;
  return m;
}

const ThreadInfo* find_tid(const std::vector<ThreadInfo>& threads, pid_t tid) {
  auto it = std::find_if(threads.begin(), threads.end(), [&](const ThreadInfo& t) { return t.tid == tid; });
  return it == threads.end() ? nullptr : &*it;
}

}  // namespace

TEST(TaskThreads, ListsTheSameThreadsAndNamesAsPs) {
  if (!have_program("ps")) GTEST_SKIP() << "ps not installed";
  Target t({"--threads", "4"});
  const auto ours = by_tid(t.task().threads());
  EXPECT_EQ(ours.size(), 5u);
  EXPECT_EQ(ours, ps_threads(t.pid()));
  for (int i = 0; i < 4; ++i) {
    const std::string name = "tp-worker-" + std::to_string(i);
    EXPECT_EQ(std::count_if(ours.begin(), ours.end(), [&](const auto& kv) { return kv.second == name; }), 1)
        << name;
  }
}

TEST(TaskThreads, TheMainThreadHasThePid) {
  Target t;
  const auto threads = t.task().threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].tid, t.pid());
  EXPECT_EQ(threads[0].name, "tp_task_target");
}

TEST(TaskThreads, NamesWithSpacesAndParenthesesSurviveParsing) {
  if (!have_program("ps")) GTEST_SKIP() << "ps not installed";
  const std::string name = "a) b (c) d)";
  Target t({"--name", name});
  const auto threads = t.task().threads();
  const ThreadInfo* main = find_tid(threads, t.pid());
  ASSERT_NE(main, nullptr);
  EXPECT_EQ(main->name, name);
  EXPECT_EQ(ps_threads(t.pid())[t.pid()], name);
  // The rest of the line was parsed right: the state is a real one.
  EXPECT_TRUE(tp_test::eventually([&] { return t.task().threads().at(0).state == ThreadState::sleeping; }));
}

TEST(TaskThreads, BlockedThreadsAreSleeping) {
  Target t({"--threads", "2"});
  // Right after "ready" a thread may still be on its way into pause()/read().
  EXPECT_TRUE(tp_test::eventually([&] {
    const auto threads = t.task().threads();
    return threads.size() == 3 && std::all_of(threads.begin(), threads.end(), [](const ThreadInfo& th) {
             return th.state == ThreadState::sleeping;
           });
  }));
}

TEST(TaskThreads, StoppedTaskShowsStoppedThreads) {
  Target t({"--threads", "2"});
  t.task().signal(SIGSTOP);
  EXPECT_TRUE(tp_test::eventually([&] {
    const auto threads = t.task().threads();
    return std::all_of(threads.begin(), threads.end(),
                       [](const ThreadInfo& th) { return th.state == ThreadState::stopped; });
  }));
  t.task().signal(SIGCONT);
}

TEST(TaskThreads, UserTimeMatchesWhatTheThreadMeasuredItself) {
  Target t;
  EXPECT_EQ(t.command("spin 300"), "ok");
  std::istringstream rusage(t.command("rusage"));
  std::string word;
  long long utime_us = 0;
  rusage >> word >> utime_us;
  const ThreadInfo* main = nullptr;
  const auto threads = t.task().threads();
  main = find_tid(threads, t.pid());
  ASSERT_NE(main, nullptr);
  const long long ours_us = std::chrono::duration_cast<std::chrono::microseconds>(main->user_time).count();
  // /proc counts in clock ticks (10 ms at USER_HZ 100); getrusage in µs.
  EXPECT_GE(ours_us, 250000);
  EXPECT_NEAR(static_cast<double>(ours_us), static_cast<double>(utime_us), 30000.0);
  EXPECT_GE(main->system_time.count(), 0);
}

TEST(TaskThreads, AZombieIsItsLeaderInStateZombie) {
  Target t;
  t.exit_to_zombie();
  const auto threads = t.task().threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].tid, t.pid());
  EXPECT_EQ(threads[0].state, ThreadState::zombie);
}

TEST(TaskThreads, ReapedTaskThrowsEsrch) {
  Target t;
  t.exit_and_reap();
  try {
    t.task().threads();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH);
    EXPECT_EQ(e.step(), taskport::Step::read_threads);
  }
}

TEST(TaskThreads, AnotherUidMayListThreads) {
  Target t({"--threads", "1"}, [](taskport::Command& cmd) { run_child_as(cmd, 65534, 65534); });
  const std::string result = in_subprocess([&]() -> std::string {
    if (std::string e = drop_to(1000, 1000); !e.empty()) return e;
    return std::to_string(t.task().threads().size());
  });
  EXPECT_EQ(result, "2");
}

TEST(ThreadState, ToStringNamesEveryState) {
  using S = ThreadState;
  EXPECT_STREQ(taskport::to_string(S::running), "running");
  EXPECT_STREQ(taskport::to_string(S::sleeping), "sleeping");
  EXPECT_STREQ(taskport::to_string(S::disk_sleep), "disk sleep");
  EXPECT_STREQ(taskport::to_string(S::stopped), "stopped");
  EXPECT_STREQ(taskport::to_string(S::traced), "traced");
  EXPECT_STREQ(taskport::to_string(S::zombie), "zombie");
  EXPECT_STREQ(taskport::to_string(S::dead), "dead");
  EXPECT_STREQ(taskport::to_string(S::idle), "idle");
  EXPECT_STREQ(taskport::to_string(S::unknown), "unknown");
}
