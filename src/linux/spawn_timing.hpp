// SPDX-License-Identifier: MIT
// Per-step timestamps of one spawn, for the benchmark's breakdown only
// (bench/README.md, "Where the time goes"). Compiled in only with the CMake
// option TASKPORT_SPAWN_TIMING (a define of the same name, off by default);
// without it TASKPORT_STAMP expands to nothing and no code or data exists.
//
// The counter is the CPU's own (rdtsc, cntvct_el0): one instruction, no
// system call, and readable in the child between clone and execve without
// breaking its invariant (child_exec.hpp) — the child writes its stamps into
// its ChildReport like the rest of what it tells the parent. bench/run pins
// the benchmark to one CPU, so every stamp of a spawn comes from one counter.
#pragma once

#include <cstdint>

namespace taskport::backend::timing {

// The points, in the order one successful spawn passes them.
enum Point : unsigned {
  entry,          // spawn_with_task() called
  validated,      // Command validated
  planned,        // ExecPlan built (argv, environment, descriptors, options)
  cloning,        // signals blocked, about to enter clone
  child_entry,    // first instruction of the child
  child_signals,  // the child's handlers are reset
  child_exec,     // the child's setup is done and its mask restored: entering execve
  cloned,         // clone returned in the parent (the child has exec'd)
  child_made,     // Child made, Task's pidfd duplicated (or not wanted)
  done,           // Task made: spawn_with_task() about to return
  kPoints
};

inline std::uint64_t now() noexcept {
#if defined(__x86_64__)
  std::uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (std::uint64_t{hi} << 32) | lo;
#elif defined(__aarch64__)
  std::uint64_t v;
  asm volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
  return v;
#else
  return 0;
#endif
}

}  // namespace taskport::backend::timing

#if defined(TASKPORT_SPAWN_TIMING)
// The stamps of the last spawn of the process (benchmark use: one spawning
// thread). bench/spawn_breakdown.cpp reads them after each spawn.
extern "C" std::uint64_t taskport_spawn_stamps[taskport::backend::timing::kPoints];
#define TASKPORT_STAMP(point) \
  (::taskport_spawn_stamps[::taskport::backend::timing::point] = ::taskport::backend::timing::now())
#define TASKPORT_CHILD_STAMP(report, point) \
  ((report)->stamps[::taskport::backend::timing::point] = ::taskport::backend::timing::now())
#else
#define TASKPORT_STAMP(point) ((void)0)
#define TASKPORT_CHILD_STAMP(report, point) ((void)0)
#endif
