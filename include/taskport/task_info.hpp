// SPDX-License-Identifier: MIT
// taskport — what a task uses: memory, CPU time, events.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace taskport {

// Modeled on Mach's MACH_TASK_BASIC_INFO, TASK_VM_INFO, TASK_THREAD_TIMES_INFO
// and TASK_EVENTS_INFO. A field the platform (or the caller's permissions)
// cannot provide is absent — never a made-up zero. Sizes are in bytes.
//
// Linux sources: /proc/<pid>/status (sizes, threads, context switches),
// /proc/<pid>/stat (CPU times, faults), /proc/<pid>/io (syscall counts; needs
// ptrace access to the task, else absent).
struct TaskInfo {
  // MACH_TASK_BASIC_INFO / TASK_VM_INFO
  std::optional<std::uint64_t> virtual_size;        // VmSize
  std::optional<std::uint64_t> resident_size;       // VmRSS
  std::optional<std::uint64_t> resident_size_peak;  // VmHWM
  std::optional<std::uint64_t> resident_anonymous;  // RssAnon (Mach: internal)
  std::optional<std::uint64_t> resident_file;       // RssFile (Mach: external)
  std::optional<std::uint64_t> swapped;             // VmSwap (Mach: compressed)
  // TASK_THREAD_TIMES_INFO / basic info times (whole task, all threads)
  std::optional<std::chrono::nanoseconds> user_time;
  std::optional<std::chrono::nanoseconds> system_time;
  std::optional<std::uint32_t> thread_count;
  // TASK_EVENTS_INFO
  std::optional<std::uint64_t> minor_faults;
  std::optional<std::uint64_t> major_faults;        // Mach: pageins
  std::optional<std::uint64_t> voluntary_switches;  // Mach: csw (sum)
  std::optional<std::uint64_t> involuntary_switches;
  std::optional<std::uint64_t> syscalls_read;   // Linux: syscr (Mach: syscalls_unix has no split)
  std::optional<std::uint64_t> syscalls_write;  // Linux: syscw
};

}  // namespace taskport
