// SPDX-License-Identifier: MIT
// Where the preload library is: an explicit path, the environment, the copy
// installed beside a shared libtaskport, or the installed copy at the
// configured prefix (TASKPORT_PRELOAD_DEFAULT, set by src/CMakeLists.txt).
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "taskport/rendezvous.hpp"

#ifndef TASKPORT_PRELOAD_DEFAULT
#error "TASKPORT_PRELOAD_DEFAULT must name the installed preload library"
#endif
#if defined(__APPLE__)
#define TASKPORT_PRELOAD_NAME "libtaskport_preload.dylib"
#else
#define TASKPORT_PRELOAD_NAME "libtaskport_preload.so"
#endif

namespace taskport {
namespace {

std::mutex g_mutex;
std::string& override_path() {
  static std::string path;
  return path;
}

// Any address inside this library identifies it to dladdr; a data address,
// since ISO C++ has no conversion from function to object pointers.
const char kAnchor = 0;

// A shared libtaskport installed under another prefix than configured
// (`cmake --install --prefix`, a relocated package) finds the preload in its
// own directory: <libdir>/libtaskport.so.N beside <libdir>/taskport/.
// Statically linked, the address belongs to the executable: no match.
std::string beside_shared_library() {
  Dl_info info{};
  if (::dladdr(&kAnchor, &info) == 0 || info.dli_fname == nullptr) return {};
  const std::string self = info.dli_fname;
  const size_t slash = self.rfind('/');
  if (slash == std::string::npos || self.compare(slash + 1, 12, "libtaskport.") != 0) return {};
  std::string candidate = self.substr(0, slash) + "/taskport/" + TASKPORT_PRELOAD_NAME;
  return ::access(candidate.c_str(), R_OK) == 0 ? candidate : std::string();
}

}  // namespace

std::string preload_library() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!override_path().empty()) return override_path();
  }
  if (const char* env = std::getenv("TASKPORT_PRELOAD_LIBRARY"); env != nullptr && *env != '\0') return env;
  static const std::string beside = beside_shared_library();
  return beside.empty() ? TASKPORT_PRELOAD_DEFAULT : beside;
}

void set_preload_library(std::string path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  override_path() = std::move(path);
}

}  // namespace taskport
