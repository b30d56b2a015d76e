// SPDX-License-Identifier: MIT
// libtaskport_preload.dylib — the initializer that Command::spawn_with_task
// inserts into the child with DYLD_INSERT_LIBRARIES. Its constructor runs
// after exec and before main: it removes its own traces from the
// environment (its DYLD_INSERT_LIBRARIES entry — other entries stay — and
// the rendezvous variables) and, on the registered-ports route, empties
// registered slot 2, so the program's own children neither see, load nor
// inherit it; then it sends mach_task_self() to the spawner and, when the
// spawner asked for it (start suspended), waits until it lets it go.
// (dyld leaves DYLD_* in the environment of a process it honours them for —
// it prunes them only for restricted ones: dyld-1378
// dyld/DyldProcessConfig.cpp pruneEnvVars — so without this every child of
// the program would load the preload too.)
//
// Built universal (x86_64 + arm64, macos.cmake) so that an x86_64 program
// under Rosetta on Apple silicon finds its slice.
//
// Built without a C++ runtime (no exceptions, no RTTI, linked as C): it must
// load into any program, and it uses nothing but libSystem.
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macos/rendezvous_child.hpp"

namespace {

// True if the `n` bytes at `entry` name the file `self` is (same device and
// inode).
bool names_file(const char* entry, size_t n, const struct stat& self) {
  if (n == 0 || n > PATH_MAX) return false;
  char path[PATH_MAX + 1];
  ::memcpy(path, entry, n);
  path[n] = '\0';
  struct stat st;
  return ::stat(path, &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino;
}

// Removes every entry of the colon-separated DYLD_INSERT_LIBRARIES that
// names this library's file, or the variable if nothing else is left. By
// file, not by string: dladdr gives the path dyld opened as the kernel
// names it — fcntl(F_GETPATH), symlinks resolved, e.g. /private/tmp/x for
// /tmp/x — not the string in the variable (dyld-1378 dyld/DyldAPIs.cpp
// APIs::dladdr; dyld/JustInTimeLoader.cpp makeJustInTimeLoaderDisk with
// SyscallDelegate::mapFileReadOnly's getpath()).
void remove_self_from_insert_libraries(const char* self_path) {
  const char* value = ::getenv("DYLD_INSERT_LIBRARIES");
  struct stat self;
  if (value == nullptr || self_path == nullptr || ::stat(self_path, &self) != 0) return;
  const size_t length = ::strlen(value);
  char* kept = static_cast<char*>(::malloc(length + 1));
  if (kept == nullptr) return;
  size_t out = 0;
  const char* entry = value;
  while (true) {
    const char* end = ::strchr(entry, ':');
    const size_t n = end != nullptr ? static_cast<size_t>(end - entry) : ::strlen(entry);
    const bool is_self = names_file(entry, n, self);
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
