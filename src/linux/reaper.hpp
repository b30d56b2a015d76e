// SPDX-License-Identifier: MIT
// The reaper: reaps children whose Child was destroyed while they still ran,
// so that no zombie stays behind for good and no destructor ever blocks.
#pragma once

#include <sys/types.h>

#include "taskport/unique_fd.hpp"

namespace taskport::backend {

// Takes ownership of the pidfd of a still-running child and reaps the child
// when it exits, on a library thread started at the first call. If that
// thread cannot be started, the child is kept for the next call of this or
// of retry_background_reaps().
void reap_in_background(UniqueFd pidfd) noexcept;

// If children wait for a reaper thread that could not be started: reaps
// those that have exited and tries to start it again. One atomic load
// otherwise (called by every spawn).
void retry_background_reaps() noexcept;

}  // namespace taskport::backend
