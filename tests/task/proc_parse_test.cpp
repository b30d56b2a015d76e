// SPDX-License-Identifier: MIT
// The /proc text parsers on captured and hand-made samples.
#include "linux/proc_parse.hpp"

#include <gtest/gtest.h>

using namespace taskport::backend;
using taskport::ThreadState;

TEST(ParseStat, ReadsTheFieldsTaskportUses) {
  const char* text =
      "4242 (tp_task_target) S 1 4242 4242 0 -1 4194560 1234 7 3 0 250 17 0 0 20 0 5 0 85481 "
      "2539520 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto s = parse_stat(text);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->comm, "tp_task_target");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->minflt, 1234u);
  EXPECT_EQ(s->majflt, 3u);
  EXPECT_EQ(s->utime, 250u);
  EXPECT_EQ(s->stime, 17u);
  EXPECT_EQ(s->num_threads, 5u);
}

TEST(ParseStat, CommMaySpanSpacesParenthesesAndNewlines) {
  auto s = parse_stat("7 (a) b (c)\n) d)) R 1 7 7 0 -1 0 1 0 2 0 3 4 0 0 20 0 1 0 1 1 1 1\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->comm, "a) b (c)\n) d)");
  EXPECT_EQ(s->state, 'R');
  EXPECT_EQ(s->minflt, 1u);
  EXPECT_EQ(s->majflt, 2u);
  EXPECT_EQ(s->utime, 3u);
  EXPECT_EQ(s->stime, 4u);
}

TEST(ParseStat, RejectsTruncatedOrEmptyText) {
  EXPECT_FALSE(parse_stat(""));
  EXPECT_FALSE(parse_stat("12 (x"));
  EXPECT_FALSE(parse_stat("12 (x) S 1 2 3"));
  EXPECT_FALSE(parse_stat("12 (x) S 1 2 3 4 -1 0 z 0 0 0 0 0 0 0 20 0 1 0"));
}

TEST(KeyValue, FindsKeysOnlyAtTheStartOfALine) {
  const char* status =
      "Name:\tx\nVmPeak:\t   10000 kB\nVmSize:\t    9000 kB\nThreads:\t3\n"
      "voluntary_ctxt_switches:\t17\nnonvoluntary_ctxt_switches:\t2\n";
  EXPECT_EQ(key_value(status, "Threads"), 3u);
  EXPECT_EQ(key_value(status, "voluntary_ctxt_switches"), 17u);
  EXPECT_EQ(key_value(status, "nonvoluntary_ctxt_switches"), 2u);
  EXPECT_EQ(key_kib_as_bytes(status, "VmSize"), 9000u * 1024);
  EXPECT_FALSE(key_value(status, "VmRSS"));
  EXPECT_FALSE(key_value(status, "Size"));  // not "VmSize"
  EXPECT_FALSE(key_value(status, "Name"));  // not a number
}

TEST(KeyValue, SizesMustBeInKib) {
  EXPECT_FALSE(key_kib_as_bytes("VmRSS:\t12 MB\n", "VmRSS"));
  EXPECT_FALSE(key_kib_as_bytes("VmRSS:\t12\n", "VmRSS"));
  EXPECT_EQ(key_kib_as_bytes("VmRSS:\t12 kB", "VmRSS"), 12u * 1024);
}

TEST(KeyValue, ReadsIoFiles) {
  const char* io = "rchar: 100\nwchar: 50\nsyscr: 7\nsyscw: 3\nread_bytes: 0\n";
  EXPECT_EQ(key_value(io, "syscr"), 7u);
  EXPECT_EQ(key_value(io, "syscw"), 3u);
}

TEST(ThreadStateCode, MapsEveryLetterProcUses) {
  EXPECT_EQ(thread_state_from_code('R'), ThreadState::running);
  EXPECT_EQ(thread_state_from_code('S'), ThreadState::sleeping);
  EXPECT_EQ(thread_state_from_code('D'), ThreadState::disk_sleep);
  EXPECT_EQ(thread_state_from_code('T'), ThreadState::stopped);
  EXPECT_EQ(thread_state_from_code('t'), ThreadState::traced);
  EXPECT_EQ(thread_state_from_code('Z'), ThreadState::zombie);
  EXPECT_EQ(thread_state_from_code('X'), ThreadState::dead);
  EXPECT_EQ(thread_state_from_code('I'), ThreadState::idle);
  EXPECT_EQ(thread_state_from_code('P'), ThreadState::unknown);
}

TEST(TicksToDuration, ConvertsExactlyAndWithoutOverflow) {
  EXPECT_EQ(ticks_to_duration(250, 100), std::chrono::milliseconds(2500));
  EXPECT_EQ(ticks_to_duration(1, 1000), std::chrono::milliseconds(1));
  EXPECT_EQ(ticks_to_duration(7, 3).count(), 2333333333);
  // 100 years of ticks at 100 Hz fits.
  EXPECT_EQ(ticks_to_duration(315360000000ull, 100), std::chrono::seconds(3153600000ll));
}
