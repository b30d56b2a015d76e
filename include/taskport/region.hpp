// SPDX-License-Identifier: MIT
// taskport — one mapping of a task's address space.
#pragma once

#include <cstdint>
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

  std::uint64_t size() const noexcept { return end - start; }
  bool contains(std::uint64_t address) const noexcept { return address >= start && address < end; }
};

}  // namespace taskport
