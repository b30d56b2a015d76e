// SPDX-License-Identifier: MIT
// A function-local singleton that is never destroyed: for objects a detached
// library thread may use until the process exits (no destructor may run
// under it at exit).
#pragma once

#include <new>

namespace taskport::common {

// The one T, constructed on first call (thread-safe), never destroyed.
template <class T>
T& never_destroyed() {
  alignas(T) static unsigned char storage[sizeof(T)];
  static T* instance = new (storage) T();
  return *instance;
}

}  // namespace taskport::common
