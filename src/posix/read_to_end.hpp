// SPDX-License-Identifier: MIT
// Reading a whole (small) file through a descriptor: /proc files, the maps
// text. EINTR is retried.
#pragma once

#include <string>

namespace taskport::posix {

// Reads `fd` from its file position to end-of-file into `out` (replacing
// it). Returns 0, or the errno of the read that failed.
int read_to_end(int fd, std::string& out);

// The same from offset 0 with pread, leaving the file position alone: for a
// descriptor whose position is shared with other users of it.
int pread_to_end(int fd, std::string& out);

}  // namespace taskport::posix
