// SPDX-License-Identifier: MIT
// The /proc text parsers on captured and hand-made samples.
#include "linux/proc_parse.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

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

TEST(ParseStat, ReadsTheParentPid) {
  auto s = parse_stat("4242 (sleep) S 4100 4242 4242 0 -1 0 1 0 2 0 3 4 0 0 20 0 1 0 1 1 1 1\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ppid, 4100u);
}

// /proc/self/fdinfo/<fd> of a pidfd (Linux 6.x): "Pid:" names the process,
// -1 once it has been reaped; "NSpid:" must not be taken for it.
TEST(KeySignedValue, ReadsThePidOfAPidfdsFdinfo) {
  const char* live = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t20215\nNSpid:\t20215\n";
  EXPECT_EQ(key_signed_value(live, "Pid"), 20215);
  const char* reaped = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t-1\nNSpid:\t-1\n";
  EXPECT_EQ(key_signed_value(reaped, "Pid"), -1);
  const char* not_a_pidfd = "pos:\t0\nflags:\t02100000\nmnt_id:\t25\nino:\t1234\n";
  EXPECT_FALSE(key_signed_value(not_a_pidfd, "Pid"));
  EXPECT_FALSE(key_signed_value("Pid:\t-\n", "Pid"));
  EXPECT_FALSE(key_signed_value("Pid:\t99999999999999999999\n", "Pid"));
}

// "NSpid:" lists the pid in every pid namespace from the reader's down to
// the process's own: the rendezvous proves a /proc/<n>/mem path by it.
TEST(KeyValues, ReadsEveryPidOfTheNsPidLine) {
  const char* nested = "pos:\t0\nflags:\t02000002\nPid:\t20215\nNSpid:\t20215\t1\n";
  EXPECT_EQ(key_values(nested, "NSpid"), (std::vector<std::uint64_t>{20215, 1}));
  EXPECT_EQ(key_values("NSpid:\t7\n", "NSpid"), std::vector<std::uint64_t>{7});
  EXPECT_TRUE(key_values("NSpid:\t-1\n", "NSpid").empty());  // reaped
  EXPECT_TRUE(key_values("NSpid:\t7\tx\n", "NSpid").empty());
  EXPECT_TRUE(key_values("NSpid:\n", "NSpid").empty());
  EXPECT_TRUE(key_values("Pid:\t7\n", "NSpid").empty());
}

TEST(KeyValue, ReadsTheTracerPidOfAStatusFile) {
  const char* status =
      "Name:\tsleep\nState:\tt (tracing stop)\nTgid:\t7\nPid:\t7\nPPid:\t1\nTracerPid:\t42\n";
  EXPECT_EQ(key_value(status, "TracerPid"), 42u);
  EXPECT_EQ(key_value(status, "Pid"), 7u);  // not "TracerPid" nor "PPid"
}

TEST(KeyHexValue, ReadsCapabilityMasks) {
  const char* status = "CapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\nCapBnd:\t00000000a80425fb\n";
  EXPECT_EQ(key_hex_value(status, "CapEff"), 0x1ffffffffffu);
  EXPECT_EQ(key_hex_value(status, "CapBnd"), 0xa80425fbu);
  EXPECT_EQ(key_hex_value("SigBlk:\tFFFFFFFFFFFFFFFF\n", "SigBlk"), ~std::uint64_t{0});
  EXPECT_FALSE(key_hex_value("CapEff:\t10000000000000000\n", "CapEff"));  // 17 digits
  EXPECT_FALSE(key_hex_value("CapEff:\tzz\n", "CapEff"));
  EXPECT_FALSE(key_hex_value(status, "CapPrm"));
}

TEST(ParseNumber, ReadsAOneNumberFile) {
  EXPECT_EQ(parse_number("1\n"), 1u);
  EXPECT_EQ(parse_number("0"), 0u);
  EXPECT_FALSE(parse_number(""));
  EXPECT_FALSE(parse_number("x\n"));
}

TEST(ParseStat, ReadsFlagsAndStartTime) {
  auto user = parse_stat(
      "4242 (tp_task_target) S 1 4242 4242 0 -1 4194560 1234 7 3 0 250 17 0 0 20 0 5 0 85481 "
      "2539520 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->flags, 4194560u);
  EXPECT_EQ(user->flags & kStatFlagKernelThread, 0u);
  EXPECT_EQ(user->starttime, 85481u);
  // kthreadd as /proc/2/stat shows it.
  auto kernel = parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0\n");
  ASSERT_TRUE(kernel);
  EXPECT_NE(kernel->flags & kStatFlagKernelThread, 0u);
  EXPECT_EQ(kernel->starttime, 2u);
  // Cut after field 21: no start time.
  EXPECT_FALSE(parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0\n"));
}
