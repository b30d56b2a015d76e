// SPDX-License-Identifier: MIT
// libtaskport_preload.dylib — the initializer that Command::spawn_with_task
// inserts into the child with DYLD_INSERT_LIBRARIES. Its constructor runs
// after exec and before main: it removes its own traces from the
// environment (its DYLD_INSERT_LIBRARIES entry — other entries stay — and
// the rendezvous variables), so the program's own children neither see nor
// load it, then sends mach_task_self() to the spawner and, when the spawner
// asked for it (start suspended), waits until it lets it go.
//
// Built without a C++ runtime (no exceptions, no RTTI, linked as C): it must
// load into any program, and it uses nothing but libSystem.
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "macos/rendezvous_child.hpp"

namespace {

// Removes every entry equal to `self` from the colon-separated
// DYLD_INSERT_LIBRARIES, or the variable if nothing else is left.
void remove_self_from_insert_libraries(const char* self) {
  const char* value = ::getenv("DYLD_INSERT_LIBRARIES");
  if (value == nullptr || self == nullptr) return;
  const size_t length = ::strlen(value);
  char* kept = static_cast<char*>(::malloc(length + 1));
  if (kept == nullptr) return;
  size_t out = 0;
  const char* entry = value;
  while (true) {
    const char* end = ::strchr(entry, ':');
    const size_t n = end != nullptr ? static_cast<size_t>(end - entry) : ::strlen(entry);
    const bool is_self = n == ::strlen(self) && ::strncmp(entry, self, n) == 0;
    if (!is_self && n > 0) {
      if (out > 0) kept[out++] = ':';
      ::memcpy(kept + out, entry, n);
      out += n;
    }
    if (end == nullptr) break;
    entry = end + 1;
  }
  kept[out] = '\0';
  if (out == 0) {
    ::unsetenv("DYLD_INSERT_LIBRARIES");
  } else {
    ::setenv("DYLD_INSERT_LIBRARIES", kept, 1);
  }
  ::free(kept);
}

__attribute__((constructor)) void taskport_preload_initializer() {
  Dl_info self{};
  if (::dladdr(reinterpret_cast<const void*>(&taskport_preload_initializer), &self) != 0) {
    remove_self_from_insert_libraries(self.dli_fname);
  }
  // Nothing to report to if this fails: the spawner's bounded wait turns a
  // missing task port into an error on its side, and main runs either way.
  taskport::backend::rendezvous::ChildOutcome outcome;
  taskport::backend::rendezvous::send_from_environment(outcome);
}

}  // namespace
