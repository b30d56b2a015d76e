// SPDX-License-Identifier: MIT
// fork() in the application: telling the process that made something from
// a process forked from it, and library state that is rebuilt in the latter.
//
// fork() copies the memory of the process but only the thread that called
// it. In the new process the library's own threads (the Linux tracer, the
// reapers) are gone, a lock one of them held is copied held, a condition
// variable is copied with waiters that no longer exist, and every Child and
// Task copied with the memory names a process that belongs to the parent
// (its child to reap, the threads its tracer traces, on macOS a task port
// that fork does not pass on). So a forked process starts a new *fork
// generation*: a pthread_atfork child handler adds one to a counter, and
// everything bound to a generation is checked — and rebuilt, or refused —
// at its next use, lazily. The handler does nothing else because it must be
// async-signal-safe: it also runs in taskport's own forked children
// (fork_with_task, the macOS pre_exec path) between fork and exec, where
// nothing may allocate, lock or start a thread. (clone and vfork do not run
// atfork handlers: taskport's clone-based spawn execs at once, and an
// application's raw clone() without exec is not told apart.)
#pragma once

#include <atomic>
#include <cstdint>

namespace taskport::common {

// 0 in the process that loaded taskport; one more in each process forked
// from a process of generation n than in that process.
std::uint64_t fork_generation() noexcept;

// The one T of this process, made at the first get() in each fork
// generation and never destroyed (library threads may use it until the
// process exits). The T of the process this one was forked from stays
// allocated and untouched: its locks may be held and its condition
// variables have waiters that no longer exist. Constant-initialized (no
// static constructor or destructor), so a namespace-scope PerProcess is
// usable from any static initializer.
template <class T>
class PerProcess {
 public:
  constexpr PerProcess() noexcept = default;
  PerProcess(const PerProcess&) = delete;
  PerProcess& operator=(const PerProcess&) = delete;

  // Throws what making a T throws (std::bad_alloc); T's constructor must
  // not start threads (a T that loses the race to be installed is deleted).
  T& get() {
    const std::uint64_t now = fork_generation();
    Slot* s = current_.load(std::memory_order_acquire);
    while (s == nullptr || s->generation != now) {
      auto* fresh = new Slot(now);
      if (current_.compare_exchange_strong(s, fresh, std::memory_order_acq_rel, std::memory_order_acquire)) {
        return fresh->value;  // the previous generation's Slot (if any) is left as it is
      }
      delete fresh;  // another thread of this process installed one first: `s` is it
    }
    return s->value;
  }

 private:
  struct Slot {
    explicit Slot(std::uint64_t g) : generation(g) {}
    const std::uint64_t generation;
    T value;
  };
  std::atomic<Slot*> current_{nullptr};
};

}  // namespace taskport::common
