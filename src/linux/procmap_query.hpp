// SPDX-License-Identifier: MIT
// The PROCMAP_QUERY ioctl on an open /proc/<pid>/maps (Linux 6.11+): one
// mapping per call, binary fields, no text to format or parse. Answers the
// same questions as the maps text, with identical Regions (names included:
// a newline in a file name is escaped to "\012" as the text does, and the
// x86-64 [vsyscall] page, which the ioctl cannot see, is added back; see
// procmap_query.cpp).
//
// Whether the kernel has it is learned from the first call and remembered
// process-wide. Every function returns `unavailable` when the caller should
// read the text instead: the kernel lacks the ioctl (remembered), or could
// not answer this one call the way the text would (a name longer than
// PATH_MAX, an LSM or seccomp filter refusing the ioctl).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "taskport/region.hpp"

namespace taskport::backend {

enum class QueryStatus {
  ok,           // answered
  unavailable,  // read the maps text instead
  failed,       // `error` holds the errno: the mappings cannot be read (ESRCH: the task has no mm)
};

// Every mapping of the process whose maps file `maps_fd` is, in address
// order (COVERING_OR_NEXT_VMA from address 0 until ENOENT).
QueryStatus query_regions(int maps_fd, std::vector<Region>& out, int& error);

// The mapping containing `address`, or nullopt (one ioctl, COVERING only).
QueryStatus query_region_at(int maps_fd, std::uint64_t address, std::optional<Region>& out, int& error);

// For tests: when true, every call answers `unavailable` (so Task methods
// take the text path); when set back to false, the kernel is probed again.
void force_text_path_for_testing(bool force) noexcept;

// What the probe found so far: nullopt before the first call.
std::optional<bool> procmap_query_supported() noexcept;

}  // namespace taskport::backend
