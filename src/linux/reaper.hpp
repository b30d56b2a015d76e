// SPDX-License-Identifier: MIT
// The reaper: reaps children whose Child was destroyed while they still ran,
// so that no zombie stays behind for good and no destructor ever blocks.
#pragma once

#include <sys/types.h>

#include "taskport/unique_fd.hpp"

namespace taskport::backend {

// Takes ownership of the pidfd of a still-running child and reaps the child
// when it exits, on a library thread started at the first call.
void reap_in_background(UniqueFd pidfd) noexcept;

}  // namespace taskport::backend
