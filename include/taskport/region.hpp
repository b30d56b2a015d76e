// SPDX-License-Identifier: MIT
// taskport — one mapping of a task's address space.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "taskport/export.hpp"

namespace taskport {

enum class RegionKind {
  file,       // backed by a file (executable, library, mapped data)
  anonymous,  // private or shared memory with no file
  heap,       // the brk heap ("[heap]")
  stack,      // the main thread's stack ("[stack]")
  vdso,       // the kernel's vDSO and its data pages ("[vdso]", "[vvar]", "[vsyscall]")
  other,      // any other pseudo-path ("[anon:name]", "[uprobes]", …)
};

TASKPORT_API const char* to_string(RegionKind kind) noexcept;

struct Protection {
  bool read = false;
  bool write = false;
  bool execute = false;
};

struct Region {
  std::uint64_t start = 0;  // first address
  std::uint64_t end = 0;    // one past the last address
  Protection protection;
  bool shared = false;       // MAP_SHARED (else private, copy-on-write)
  std::uint64_t offset = 0;  // offset into the file
  std::uint32_t device_major = 0;
  std::uint32_t device_minor = 0;
  std::uint64_t inode = 0;
  std::string path;  // file path or pseudo-path ("[heap]"); empty if none
  RegionKind kind = RegionKind::anonymous;
  // Bytes of the mapping resident in memory. Filled only by
  // Task::regions_with_resident_size() (counting them costs a walk of the
  // mapping's pages); absent from regions() and region_at().
  //   Linux: "Rss:" of /proc/<pid>/smaps. Pages shared with other processes
  //          (libraries, the page cache) count in full in each.
  //   macOS: pages_resident of mach_vm_region_recurse × the page size the
  //          kernel counts in for this task (4 KiB on x86_64; on arm64 the
  //          smaller of this process's and the task's page size). Submaps
  //          (the dyld shared cache) count the pages resident in the shared
  //          object, as vmmap(1) shows them.
  std::optional<std::uint64_t> resident_bytes;

  std::uint64_t size() const noexcept { return end - start; }
  bool contains(std::uint64_t address) const noexcept { return address >= start && address < end; }
};

}  // namespace taskport
