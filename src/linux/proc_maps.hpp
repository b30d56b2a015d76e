// SPDX-License-Identifier: MIT
// The text of /proc/<pid>/maps: its line format, and the RegionKind a
// mapping's name implies. Pure functions over text — no process, no I/O —
// so they are unit-tested on hand-written input and fuzzed
// (fuzz/proc_maps_fuzz.cpp). Any input is safe: a line that is not in the
// kernel's format is skipped and counted, never guessed at.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "taskport/region.hpp"

namespace taskport::backend {

// The kind a mapping's name implies, the name being what the kernel prints
// (and what PROCMAP_QUERY returns as vma_name):
//   ""                                            → anonymous
//   "[heap]", "[stack]"                           → heap, stack
//   "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]" → vdso
//   any other "[…" ("[anon:name]", "[uprobes]")   → other
//   anything else (a path, "/memfd:x (deleted)")  → file
// A file path always starts with '/' (or is a d_dname such as
// "anon_inode:…"), so it can never be taken for a "[…]" pseudo-name.
RegionKind kind_of(std::string_view name) noexcept;

// One line of /proc/<pid>/maps without its '\n', as fs/proc/task_mmu.c
// prints it:
//   start-end perms offset major:minor inode[ padding name]
//   7f0e2a4b7000-7f0e2a4b9000 r-xp 00001000 fe:00 332383      /usr/lib/ld.so
// Numbers are hex except the decimal inode; perms is exactly [r-][w-][x-][sp].
// The name is the rest of the line after the spaces that follow the inode,
// kept byte for byte: embedded spaces, a " (deleted)" suffix, the kernel's
// "\012" escape for a newline in a file name. Returns nullopt unless the
// line has that shape with start < end and every number in range.
std::optional<Region> parse_maps_line(std::string_view line);

struct MapsText {
  std::vector<Region> regions;      // the well-formed lines, in text order
  std::size_t malformed_lines = 0;  // lines skipped as not in the format
  std::size_t first_malformed = 0;  // 1-based number of the first one; 0 if none
};

// Every line of `text`. The final line may lack its '\n'.
MapsText parse_proc_maps(std::string_view text);

}  // namespace taskport::backend
