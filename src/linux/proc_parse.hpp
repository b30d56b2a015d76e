// SPDX-License-Identifier: MIT
// Parsers for the text of /proc: <pid>/{stat,status,io},
// <pid>/task/<tid>/{stat,status}, self/fdinfo/<fd> and one-number files
// such as sys/kernel/yama/ptrace_scope. Pure functions of the text: no I/O,
// so they are unit-tested on captured and hand-made samples
// (tests/task/proc_parse_test.cpp). All /proc text taskport reads — the
// library's and the CLI's — goes through these (the maps text: proc_maps.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "taskport/thread.hpp"

namespace taskport::backend {

// The fields of a stat line (proc(5) numbering) that taskport uses.
struct StatLine {
  std::string comm;               // (2) without the parentheses, raw bytes
  char state = '?';               // (3)
  std::uint64_t ppid = 0;         // (4)
  std::uint64_t flags = 0;        // (9) PF_* (PF_KTHREAD: a kernel thread)
  std::uint64_t minflt = 0;       // (10)
  std::uint64_t majflt = 0;       // (12)
  std::uint64_t utime = 0;        // (14) clock ticks
  std::uint64_t stime = 0;        // (15) clock ticks
  std::uint64_t num_threads = 0;  // (20)
  std::uint64_t starttime = 0;    // (22) clock ticks since boot
};

// PF_KTHREAD in StatLine::flags (include/linux/sched.h): a kernel thread,
// which has no user address space.
inline constexpr std::uint64_t kStatFlagKernelThread = 0x00200000;

// Parses "pid (comm) state ppid …". comm may contain spaces, parentheses and
// even newlines, so it spans from the first '(' to the *last* ')'. nullopt
// if the text is not a stat line (truncated, empty).
std::optional<StatLine> parse_stat(std::string_view text);

// The first unsigned number after "key:" at the start of a line of a
// "Key:  value" file (status, io). nullopt if the key is absent or its value
// does not start with a number.
std::optional<std::uint64_t> key_value(std::string_view text, std::string_view key);

// Like key_value for a value that may be negative: the "Pid:" of
// /proc/self/fdinfo/<pidfd> is -1 once the process has been reaped.
std::optional<std::int64_t> key_signed_value(std::string_view text, std::string_view key);

// Every unsigned number after "key:", blank-separated, e.g. the
// "NSpid:\t4711\t1" of a pidfd's fdinfo (its pid in each pid namespace from
// the reader's down to the process's own). Empty if the key is absent, has
// no number, or a field is not a number.
std::vector<std::uint64_t> key_values(std::string_view text, std::string_view key);

// Like key_value for a hexadecimal value without "0x" (CapEff, SigBlk).
std::optional<std::uint64_t> key_hex_value(std::string_view text, std::string_view key);

// The decimal number a one-number file holds ("1\n"); nullopt if it does
// not start with one.
std::optional<std::uint64_t> parse_number(std::string_view text);

// Like key_value for a size line "Key:  1234 kB", in bytes. nullopt if the
// key is absent or the unit is not kB.
std::optional<std::uint64_t> key_kib_as_bytes(std::string_view text, std::string_view key);

// R S D T t Z X x I → ThreadState; anything else → unknown.
ThreadState thread_state_from_code(char code) noexcept;

// Clock ticks (USER_HZ, sysconf(_SC_CLK_TCK)) → nanoseconds, without
// overflowing for any realistic tick count.
std::chrono::nanoseconds ticks_to_duration(std::uint64_t ticks, long ticks_per_second) noexcept;

// sysconf(_SC_CLK_TCK), asked once.
long clock_ticks_per_second() noexcept;

}  // namespace taskport::backend
