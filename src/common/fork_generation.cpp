// SPDX-License-Identifier: MIT
#include "common/fork_generation.hpp"

#include <pthread.h>

namespace taskport::common {
namespace {

std::atomic<std::uint64_t> g_generation{0};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the atfork child handler must be async-signal-safe: a lock-free atomic add");

extern "C" void taskport_fork_child() { g_generation.fetch_add(1, std::memory_order_relaxed); }

// Registered while the library is loaded (a static initializer of this
// file, which every Child and Task pulls in), before any object the
// generation guards can exist.
[[maybe_unused]] const int g_registered = ::pthread_atfork(nullptr, nullptr, taskport_fork_child);

}  // namespace

std::uint64_t fork_generation() noexcept { return g_generation.load(std::memory_order_relaxed); }

}  // namespace taskport::common
