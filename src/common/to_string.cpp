// SPDX-License-Identifier: MIT
// The names of the platform-neutral enums of taskport/thread.hpp and
// taskport/region.hpp.
#include "taskport/region.hpp"
#include "taskport/thread.hpp"

namespace taskport {

const char* to_string(ThreadState state) noexcept {
  switch (state) {
    case ThreadState::running: return "running";
    case ThreadState::sleeping: return "sleeping";
    case ThreadState::disk_sleep: return "disk sleep";
    case ThreadState::stopped: return "stopped";
    case ThreadState::traced: return "traced";
    case ThreadState::zombie: return "zombie";
    case ThreadState::dead: return "dead";
    case ThreadState::idle: return "idle";
    case ThreadState::unknown: return "unknown";
  }
  return "unknown";
}

const char* to_string(RegionKind kind) noexcept {
  switch (kind) {
    case RegionKind::file: return "file";
    case RegionKind::anonymous: return "anonymous";
    case RegionKind::heap: return "heap";
    case RegionKind::stack: return "stack";
    case RegionKind::vdso: return "vdso";
    case RegionKind::other: return "other";
  }
  return "unknown";
}

}  // namespace taskport
