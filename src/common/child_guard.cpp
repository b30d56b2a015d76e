// SPDX-License-Identifier: MIT
#include "common/child_guard.hpp"

#include "common/backend.hpp"

namespace taskport::common {

ChildGuard::~ChildGuard() {
  if (dismissed_) return;
  if (child_ == nullptr) {
    backend::kill_and_reap(pid_, pidfd_);
    return;
  }
  try {
    child_->kill();
  } catch (...) {
    return;  // not killable: waiting could block for good
  }
  try {
    child_->wait();
  } catch (...) {
    // Reaped by someone else meanwhile: nothing is left to clean up.
  }
}

}  // namespace taskport::common
