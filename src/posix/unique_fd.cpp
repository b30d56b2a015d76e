// SPDX-License-Identifier: MIT
#include "taskport/unique_fd.hpp"

#include <unistd.h>

namespace taskport {

void UniqueFd::reset(int fd) noexcept {
  // close() is not retried on EINTR: on Linux the descriptor is closed
  // even then, and a retry could close a descriptor another thread just got.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace taskport
