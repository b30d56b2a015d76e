// SPDX-License-Identifier: MIT
// Task::info(), checked against ps and against the target's own
// getrusage(RUSAGE_SELF); and what is absent when the kernel will not say.
#include <errno.h>

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "task_support.hpp"

using namespace tp_task;
using taskport::Error;
using taskport::TaskInfo;

namespace {

// `ps -o <field>= -p <pid>` as a number.
unsigned long long ps_field(pid_t pid, const std::string& field) {
  const std::string out = run_capture({"ps", "-o", field + "=", "-p", std::to_string(pid)});
  return std::stoull(out);
}

struct Rusage {
  long long utime_us = 0, stime_us = 0, minflt = 0, majflt = 0, nvcsw = 0, nivcsw = 0;
};

Rusage own_rusage(Target& t) {
  std::istringstream in(t.command("rusage"));
  std::string word;
  Rusage r;
  in >> word >> r.utime_us >> r.stime_us >> r.minflt >> r.majflt >> r.nvcsw >> r.nivcsw;
  EXPECT_EQ(word, "rusage");
  return r;
}

constexpr unsigned long long kPage = 4096;

}  // namespace

TEST(TaskInfo, ResidentSizeMatchesPs) {
  if (!have_program("ps")) GTEST_SKIP() << "ps not installed";
  Target t({"--resident-mb", "32"});
  const TaskInfo info = t.task().info();
  ASSERT_TRUE(info.resident_size);
  const unsigned long long ps = ps_field(t.pid(), "rss") * 1024;
  EXPECT_GE(*info.resident_size, 32ull << 20);
  EXPECT_NEAR(static_cast<double>(*info.resident_size), static_cast<double>(ps), 16.0 * kPage);
}

TEST(TaskInfo, VirtualSizeMatchesPs) {
  if (!have_program("ps")) GTEST_SKIP() << "ps not installed";
  Target t;
  const TaskInfo info = t.task().info();
  ASSERT_TRUE(info.virtual_size);
  EXPECT_EQ(*info.virtual_size, ps_field(t.pid(), "vsz") * 1024);
}

TEST(TaskInfo, ThreadCountMatchesPs) {
  if (!have_program("ps")) GTEST_SKIP() << "ps not installed";
  Target t({"--threads", "4"});
  const TaskInfo info = t.task().info();
  ASSERT_TRUE(info.thread_count);
  EXPECT_EQ(*info.thread_count, 5u);
  EXPECT_EQ(*info.thread_count, ps_field(t.pid(), "nlwp"));
}

TEST(TaskInfo, SizesAreConsistent) {
  Target t({"--resident-mb", "8"});
  const TaskInfo info = t.task().info();
  ASSERT_TRUE(info.virtual_size && info.resident_size && info.resident_size_peak && info.resident_anonymous &&
              info.resident_file && info.swapped);
  EXPECT_GE(*info.resident_size_peak, *info.resident_size);
  EXPECT_GE(*info.virtual_size, *info.resident_size);
  EXPECT_GE(*info.resident_anonymous, 8ull << 20);
  // VmRSS = RssAnon + RssFile + RssShmem.
  EXPECT_LE(*info.resident_anonymous + *info.resident_file, *info.resident_size);
}

TEST(TaskInfo, CountersMatchTheTasksOwnRusage) {
  Target t;
  EXPECT_EQ(t.command("spin 200"), "ok");
  const Rusage self = own_rusage(t);
  // The target is now blocked reading stdin: one more voluntary switch.
  const TaskInfo info = t.task().info();
  ASSERT_TRUE(info.user_time && info.system_time && info.minor_faults && info.major_faults &&
              info.voluntary_switches && info.involuntary_switches);
  const double user_us = std::chrono::duration<double, std::micro>(*info.user_time).count();
  EXPECT_NEAR(user_us, static_cast<double>(self.utime_us), 30000.0);  // ticks of 10 ms vs µs
  EXPECT_GE(user_us, 150000.0);
  EXPECT_GE(static_cast<long long>(*info.minor_faults), self.minflt);
  EXPECT_LE(static_cast<long long>(*info.minor_faults), self.minflt + 64);
  EXPECT_GE(static_cast<long long>(*info.major_faults), self.majflt);
  EXPECT_GE(static_cast<long long>(*info.voluntary_switches), self.nvcsw);
  EXPECT_LE(static_cast<long long>(*info.voluntary_switches), self.nvcsw + 8);
  EXPECT_GE(static_cast<long long>(*info.involuntary_switches), self.nivcsw);
}

TEST(TaskInfo, SyscallCountsArePresentForAReaderWithPtraceAccess) {
  Target t;
  t.command("rusage");  // at least one read(2) and one write(2)
  const TaskInfo info = t.task().info();
  ASSERT_TRUE(info.syscalls_read && info.syscalls_write);
  EXPECT_GE(*info.syscalls_read, 1u);
  EXPECT_GE(*info.syscalls_write, 1u);
}

// /proc/<pid>/io needs ptrace read access; status and stat do not. A
// reader without access gets everything but the syscall counts.
TEST(TaskInfo, SyscallCountsAreAbsentWhenTheKernelRefusesThem) {
  Target t({}, [](taskport::Command& cmd) { run_child_as(cmd, 65534, 65534); });
  const std::string result = in_subprocess([&]() -> std::string {
    if (std::string e = drop_to(1000, 1000); !e.empty()) return e;
    const TaskInfo info = t.task().info();
    std::string report;
    if (info.syscalls_read || info.syscalls_write) report += "syscall counts present; ";
    if (!info.resident_size || !info.virtual_size || !info.thread_count) report += "sizes absent; ";
    if (!info.user_time || !info.minor_faults || !info.voluntary_switches) report += "counters absent; ";
    return report.empty() ? "ok" : report;
  });
  EXPECT_EQ(result, "ok");
}

// A zombie has released its memory: no sizes. Its CPU times, faults and
// switches are still kept by the kernel (until it is reaped).
TEST(TaskInfo, AZombieHasNoMemorySizes) {
  Target t;
  t.exit_to_zombie();
  const TaskInfo info = t.task().info();
  EXPECT_FALSE(info.virtual_size);
  EXPECT_FALSE(info.resident_size);
  EXPECT_FALSE(info.resident_size_peak);
  EXPECT_FALSE(info.resident_anonymous);
  EXPECT_FALSE(info.resident_file);
  EXPECT_FALSE(info.swapped);
  EXPECT_TRUE(info.user_time);
  EXPECT_TRUE(info.minor_faults);
  EXPECT_TRUE(info.voluntary_switches);
}

TEST(TaskInfo, ReapedTaskThrowsEsrch) {
  Target t;
  t.exit_and_reap();
  try {
    t.task().info();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH);
    EXPECT_EQ(e.step(), taskport::Step::read_info);
    EXPECT_NE(std::string(e.what()).find("exited"), std::string::npos) << e.what();
  }
}
