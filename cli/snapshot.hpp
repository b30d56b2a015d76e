// SPDX-License-Identifier: MIT
// What the CLI shows about a task: everything its handle gives, taken in one
// consistent moment (the task is suspended while the snapshot is taken).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <taskport/task.hpp>

#include "handle_info.hpp"
#include "json.hpp"

namespace taskport_cli {

struct MemorySample {
  std::uint64_t address = 0;
  std::string what;  // e.g. "start of /usr/bin/echo"
  std::vector<unsigned char> bytes;
};

struct Snapshot {
  HandleInfo handle;
  std::optional<taskport::TaskInfo> info;
  std::vector<taskport::ThreadInfo> threads;
  std::vector<taskport::Region> regions;
#if defined(__x86_64__) || defined(__aarch64__)
  std::optional<taskport::Registers> registers;  // main thread
#endif
  std::optional<MemorySample> memory;
  std::vector<std::string> errors;  // sections that could not be read, and why
};

// Takes a snapshot. Suspends the task around it unless it is suspended
// already (then registers are shown too); never throws for a section that
// fails — the failure is recorded in `errors`.
Snapshot take_snapshot(taskport::Task& task);

void print_snapshot(const Snapshot& s);
JsonObject snapshot_json(const Snapshot& s);

}  // namespace taskport_cli
