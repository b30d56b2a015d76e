// SPDX-License-Identifier: MIT
// What the CLI sees of a task at one moment: everything its handle gives,
// through the library only. The threads are listed first, with the states
// the program had; then the task is suspended while usage and regions are
// read, so that those two belong to the same instant.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <taskport/error.hpp>
#include <taskport/task.hpp>

namespace taskport_cli {

struct MemorySample {
  std::uint64_t address = 0;
  std::string what;  // e.g. "start of /usr/bin/echo"
  std::vector<unsigned char> bytes;
};

// A part of the snapshot that could not be taken, and why.
struct SectionError {
  std::string section;  // "suspend", "info", "command_line", "threads", "regions", "registers", "memory",
                        // "resume"
  std::string step;     // taskport::to_string(Step)
  int errno_value = 0;
  std::string message;  // Error::what()
};

// Runs `read`; a taskport::Error it throws is recorded in `errors` under
// `section` instead of escaping: one part that cannot be read leaves the
// others.
template <class F>
void read_part(std::vector<SectionError>& errors, const char* section, F&& read) {
  try {
    read();
  } catch (const taskport::Error& e) {
    errors.push_back({section, taskport::to_string(e.step()), e.errno_value(), e.what()});
  }
}

enum class Trigger { start, at, every, exit };
const char* to_string(Trigger t) noexcept;

struct Snapshot {
  int index = 0;  // 0 for the first
  Trigger trigger = Trigger::start;
  std::chrono::steady_clock::time_point taken;
  // The task was stopped while usage and regions were read (by the snapshot
  // itself, or still from the start with --suspended).
  bool suspended = false;
  std::optional<taskport::TaskInfo> info;
  // argv as the process holds it now (it may rewrite it); empty if that part failed.
  std::vector<std::string> command_line;
  std::vector<taskport::ThreadInfo> threads;
  std::vector<taskport::Region> regions;  // with resident_bytes where the platform gives them
#if defined(__x86_64__) || defined(__aarch64__)
  // The main thread's when the task was suspended (SnapshotParts); at
  // exit: the thread held there (the lowest tid left).
  std::optional<taskport::Registers> registers;
  pid_t registers_tid = 0;
#endif
  // The first bytes of the program's file: at the start (suspended) and at exit.
  std::optional<MemorySample> memory;
  std::vector<SectionError> errors;
};

// What a snapshot reads beyond threads, usage and regions.
struct SnapshotParts {
  // The main thread's registers whenever the snapshot suspended the task
  // (inspect); otherwise only when the task was suspended already (run
  // --suspended, which also samples memory then).
  bool registers_whenever_suspended = false;
};

// Takes a snapshot. Suspends the task for usage, regions (and registers)
// unless it is suspended already (then registers and a memory sample are
// taken too, as they are at exit: Trigger::exit, the task held at its
// exit), and resumes it before returning; never throws for a part that
// fails: the failure is recorded in `errors`, and the other parts are still
// taken (threads and usage need no ptrace access: a refused suspend leaves
// them).
Snapshot take_snapshot(taskport::Task& task, int index, Trigger trigger, SnapshotParts parts = {});

// Sums over a snapshot's regions.
struct RegionTotals {
  std::uint64_t bytes = 0;
  std::optional<std::uint64_t> resident;  // absent if any region lacks it
};
RegionTotals totals(const std::vector<taskport::Region>& regions);

// The regions with the most resident bytes, largest first, at most `n`.
std::vector<const taskport::Region*> largest_resident(const std::vector<taskport::Region>& regions,
                                                      std::size_t n);

// What changed from one snapshot to the next.
struct Changes {
  // Absent when either snapshot has no thread list (that part failed).
  std::optional<std::vector<pid_t>> born;      // tids in `now` but not in `before`
  std::optional<std::vector<pid_t>> ended;     // tids in `before` but not in `now`
  std::optional<std::int64_t> resident_delta;  // TaskInfo::resident_size, now - before
};
Changes changes_between(const Snapshot& before, const Snapshot& now);

}  // namespace taskport_cli
