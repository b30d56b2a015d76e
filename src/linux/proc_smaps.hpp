// SPDX-License-Identifier: MIT
// The text of /proc/<pid>/smaps: per mapping, the maps line the kernel
// prints in /proc/<pid>/maps followed by "Key:  value" attribute lines
// (fs/proc/task_mmu.c show_smap: "Size:", "Rss:", …, "VmFlags:"). Pure
// functions over text — no process, no I/O — unit-tested on hand-written
// input. Any input is safe: a line that is neither is counted, never guessed at.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "taskport/region.hpp"

namespace taskport::backend {

struct SmapsText {
  // The mappings in text order, each with resident_bytes from its "Rss:"
  // line (kB in the text, bytes here). A mapping without a well-formed Rss
  // line is kept, its resident_bytes absent, and counted as malformed.
  std::vector<Region> regions;
  std::size_t malformed_lines = 0;  // lines neither a maps line nor "Key: …"
  std::size_t first_malformed = 0;  // 1-based number of the first one; 0 if none
};

// Every line of `text`. The final line may lack its '\n'.
SmapsText parse_proc_smaps(std::string_view text);

}  // namespace taskport::backend
