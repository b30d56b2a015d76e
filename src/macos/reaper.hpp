// SPDX-License-Identifier: MIT
// The reaper: reaps children whose Child was destroyed while they still ran,
// so that no zombie stays behind for good and no destructor ever blocks.
#pragma once

#include <sys/types.h>

namespace taskport::backend {

// Takes over reaping `pid` (our unreaped, still running child): a library
// thread started at the first call waits on a kqueue (EVFILT_PROC/NOTE_EXIT)
// and reaps each child when it exits.
void reap_in_background(pid_t pid) noexcept;

}  // namespace taskport::backend
