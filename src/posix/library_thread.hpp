// SPDX-License-Identifier: MIT
// Starting one of the library's own threads (the Linux tracer, the reapers).
#pragma once

#include <functional>
#include <thread>

namespace taskport::posix {

// Starts a detached thread that runs `body`, with every signal blocked in
// it: process-directed signals must go to the application's threads, and no
// handler of the application may ever run on a library thread (a new
// thread inherits the mask of the thread that creates it, so the mask is
// blocked around the creation and restored on every path). Sets `*id` to
// the new thread's id, if `id` is given (the thread may be running `body`
// by then: a body that needs its id waits for a lock the caller holds).
// Returns 0, or the errno of the refusal — EAGAIN at RLIMIT_NPROC or the
// kernel's thread limit, ENOMEM — so that the caller can throw
// taskport::Error with its own step, and try again at its next call.
int start_detached_thread(std::function<void()> body, std::thread::id* id = nullptr) noexcept;

}  // namespace taskport::posix
