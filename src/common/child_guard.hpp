// SPDX-License-Identifier: MIT
// The one way a failed spawn gets rid of the child it has already started:
// kill it, reap it, and let the first error through.
#pragma once

#include <sys/types.h>

#include "taskport/child.hpp"

namespace taskport::common {

// Kills and reaps the child of a spawn unless dismiss() is called once the
// spawn has succeeded. For the steps after the child exists (the handle
// handover, duplicating the handle, setting up its exit watch): the error
// such a step throws is the one the caller sees. The cleanup never throws,
// so it can never hide or replace that error.
class ChildGuard {
 public:
  // Through the Child (kill(), then wait(), so its status is recorded). A
  // child that cannot be killed (EPERM: it exec'd a setuid program) is left
  // to the Child's destructor, which never blocks.
  explicit ChildGuard(Child& child) noexcept : child_(&child) {}
  // A child no Child owns yet: its pid, and its pidfd on Linux (else -1).
  ChildGuard(pid_t pid, int pidfd) noexcept : pid_(pid), pidfd_(pidfd) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard();

  // The spawn succeeded: the child stays.
  void dismiss() noexcept { dismissed_ = true; }

 private:
  Child* child_ = nullptr;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool dismissed_ = false;
};

}  // namespace taskport::common
