// SPDX-License-Identifier: MIT
// Task::registers_all(), checked from the other side: tp_marker_threads puts
// a marker made of each thread's own id in a callee-saved register and keeps
// every thread in a code region it reports; the thread set is the one
// /proc/<pid>/task lists.
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <taskport/taskport.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using taskport::Command;
using taskport::Error;
using taskport::Stdio;
using taskport::Step;
using taskport::ThreadRegisters;

namespace {

constexpr std::uint64_t kMarkerBase = 0x5450'4d41'0000'0000ULL;  // as helpers/marker_threads.cpp

std::uint64_t marker_register(const taskport::Registers& r) {
#if defined(__x86_64__)
  return r.r12;
#else
  return r.x[19];
#endif
}

// tid -> state letter of every thread /proc/<pid>/task lists.
std::map<pid_t, char> listed_threads(pid_t pid) {
  std::map<pid_t, char> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(dir + "/" + e->d_name + "/stat");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string s = ss.str();
    const auto close = s.rfind(')');
    out[std::atoi(e->d_name)] = close == std::string::npos || close + 2 >= s.size() ? '?' : s[close + 2];
  }
  ::closedir(d);
  return out;
}

struct MarkerTarget {
  taskport::Child child;
  taskport::Task task;
  std::uint64_t begin = 0, end = 0;
  std::set<pid_t> tids;  // as the helper reported them
};

// Starts tp_marker_threads and reads its report line (bounded).
MarkerTarget start(int threads, const char* mode, bool leader_exits = false) {
  Command cmd(TP_MARKER_THREADS);
  cmd.arg(std::to_string(threads)).arg(mode).standard_output(Stdio::piped());
  if (leader_exits) cmd.arg("leader-exits");
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  MarkerTarget t{std::move(child), std::move(task), 0, 0, {}};
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + tp_test::kLong;
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    if (!tp_test::poll_readable(t.child.stdout_pipe().get(), 100ms)) continue;
    char buf[4096];
    const ssize_t n = ::read(t.child.stdout_pipe().get(), buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  std::istringstream in(line);
  std::string word, b, e;
  in >> word >> b >> e >> word;
  EXPECT_EQ(word, "threads") << "no report from the helper: '" << line << "'";
  t.begin = std::strtoull(b.c_str(), nullptr, 16);
  t.end = std::strtoull(e.c_str(), nullptr, 16);
  for (pid_t tid; in >> tid;) t.tids.insert(tid);
  return t;
}

// Until every thread the helper reported is inside the region: a thread is
// reported just before it enters it. (Spinning threads are always there; a
// blocked one shows state S.)
bool all_in_region(MarkerTarget& t) {
  t.task.suspend();
  bool all = true;
  for (const ThreadRegisters& r : t.task.registers_all()) {
    const std::uint64_t pc = r.registers.program_counter();
    all = all && pc >= t.begin && pc < t.end && marker_register(r.registers) == (kMarkerBase | r.tid);
  }
  t.task.resume();
  return all;
}

void expect_markers(const MarkerTarget& t, const std::vector<ThreadRegisters>& all) {
  for (const ThreadRegisters& r : all) {
    EXPECT_EQ(marker_register(r.registers), kMarkerBase | static_cast<std::uint64_t>(r.tid)) << r.tid;
    EXPECT_GE(r.registers.program_counter(), t.begin) << r.tid;
    EXPECT_LT(r.registers.program_counter(), t.end) << r.tid;
    EXPECT_NE(r.registers.stack_pointer(), 0u) << r.tid;
  }
}

std::set<pid_t> tids_of(const std::vector<ThreadRegisters>& all) {
  std::set<pid_t> out;
  for (const auto& r : all) out.insert(r.tid);
  return out;
}

std::set<pid_t> keys(const std::map<pid_t, char>& m) {
  std::set<pid_t> out;
  for (const auto& [tid, state] : m) out.insert(tid);
  return out;
}

}  // namespace

TEST(RegistersAll, GivesEveryThreadProcListsWithTheMarkerItSet) {
  MarkerTarget t = start(8, "block");
  ASSERT_EQ(t.tids.size(), 9u);
  ASSERT_TRUE(tp_test::eventually([&] { return all_in_region(t); }));
  t.task.suspend();
  const std::vector<ThreadRegisters> all = t.task.registers_all();
  const auto listed = listed_threads(t.child.pid());
  t.task.resume();
  EXPECT_EQ(tids_of(all), keys(listed));
  EXPECT_EQ(tids_of(all), t.tids);
  EXPECT_EQ(all.size(), t.tids.size());                                                // each thread once
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].tid, all[i].tid);  // ordered by tid
  expect_markers(t, all);
}

TEST(RegistersAll, SeesRunningThreadsStoppedWhereTheySpin) {
  MarkerTarget t = start(3, "spin");
  ASSERT_EQ(t.tids.size(), 4u);
  ASSERT_TRUE(tp_test::eventually([&] { return all_in_region(t); }));
  for (int round = 0; round < 5; ++round) {
    t.task.suspend();
    const auto all = t.task.registers_all();
    EXPECT_EQ(tids_of(all), keys(listed_threads(t.child.pid())));
    expect_markers(t, all);
    t.task.resume();
  }
}

TEST(RegistersAll, EqualsRegistersOfEachThread) {
  MarkerTarget t = start(4, "block");
  ASSERT_TRUE(tp_test::eventually([&] { return all_in_region(t); }));
  t.task.suspend();
  const auto all = t.task.registers_all();
  ASSERT_EQ(all.size(), 5u);
  for (const ThreadRegisters& r : all) {
    const taskport::Registers one = t.task.registers(r.tid);
    EXPECT_EQ(std::memcmp(&one, &r.registers, sizeof one), 0) << "thread " << r.tid;
  }
  t.task.resume();
}

TEST(RegistersAll, LeavesOutAMainThreadThatHasExited) {
  MarkerTarget t = start(3, "block", /*leader_exits=*/true);
  const pid_t pid = t.child.pid();
  ASSERT_TRUE(tp_test::eventually([&] { return listed_threads(pid)[pid] == 'Z'; }));
  ASSERT_TRUE(tp_test::eventually([&] { return all_in_region(t); }));
  t.task.suspend();
  const auto all = t.task.registers_all();
  const auto listed = listed_threads(pid);
  t.task.resume();
  // /proc still lists the zombie main thread; it has no registers left.
  EXPECT_EQ(listed.size(), 4u);
  EXPECT_EQ(listed.at(pid), 'Z');
  std::set<pid_t> live = t.tids;
  live.erase(pid);
  EXPECT_EQ(tids_of(all), live);
  expect_markers(t, all);
}

TEST(RegistersAll, RequiresASuspendedTask) {
  MarkerTarget t = start(1, "block");
  try {
    t.task.registers_all();
    FAIL() << "registers_all() of a running task must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EBUSY);
    EXPECT_EQ(e.step(), Step::read_registers);
  }
  std::error_code ec;
  EXPECT_FALSE(t.task.registers_all(ec));
  EXPECT_EQ(ec.value(), EBUSY);
  EXPECT_EQ(taskport::last_error().step(), Step::read_registers);
  // And after the last resume again.
  t.task.suspend();
  EXPECT_TRUE(t.task.registers_all(ec)) << ec.message();
  EXPECT_FALSE(ec);
  t.task.resume();
  EXPECT_FALSE(t.task.registers_all(ec));
  EXPECT_EQ(ec.value(), EBUSY);
}

TEST(RegistersAll, OfATaskKilledWhileSuspendedIsEsrch) {
  MarkerTarget t = start(2, "block");
  t.task.suspend();
  ASSERT_EQ(::kill(t.child.pid(), SIGKILL), 0);
  // Every thread ends (a traced one too) and is reaped by the tracer or is
  // our child's zombie: none has registers.
  ASSERT_TRUE(tp_test::eventually([&] {
    std::error_code ec;
    return !t.task.registers_all(ec) && ec.value() == ESRCH;
  }));
  t.task.resume();
  EXPECT_TRUE(t.child.wait_for(tp_test::kLong).has_value());
}

// A sampling cycle on 40 threads, repeated: bounded, and every cycle sees all.
TEST(RegistersAll, FortyThreadsSampledTwentyTimesWithinBounds) {
  MarkerTarget t = start(39, "block");
  ASSERT_EQ(t.tids.size(), 40u);
  ASSERT_TRUE(tp_test::eventually([&] { return all_in_region(t); }));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    t.task.suspend();
    const auto all = t.task.registers_all();
    t.task.resume();
    ASSERT_EQ(tids_of(all), t.tids) << "sample " << i;
  }
  // ~2 ms a sample here; the bound is for a machine under heavy load.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
}
