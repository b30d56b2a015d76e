// SPDX-License-Identifier: MIT
// Where the preload library is. The order (documented for users at
// preload_library() in taskport/rendezvous.hpp):
//   1. set_preload_library(path)
//   2. $TASKPORT_PRELOAD_LIBRARY
//   3. beside taskport itself: the module this code is linked into —
//      a shared libtaskport in <libdir> (TASKPORT_PRELOAD_FROM_LIBDIR,
//      normally "taskport/libtaskport_preload.so"), or the executable a
//      static libtaskport is linked into, in <bindir>
//      (TASKPORT_PRELOAD_FROM_BINDIR, "../lib/taskport/…": the installed CLI)
//   4. where the CMake package of a static libtaskport said it is: the
//      package compiles lib/cmake/taskport/taskport_preload_location.cpp
//      into the application, which registers the path it computed from
//      where the package was found (taskport_set_package_preload_library)
//   5. the configured install location (TASKPORT_PRELOAD_DEFAULT).
// 1 and 2 are taken as given (a wrong explicit path is an error, not a
// reason to load something else); 3 to 5 count only if the file is there.
// All of it comes from src/CMakeLists.txt as paths relative to the install
// layout, except 5 — no path of the build tree is compiled in.
#include "common/preload_library.hpp"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#if defined(__APPLE__)
#include <crt_externs.h>
#include <mach-o/dyld.h>
#else
#include <link.h>
#endif

#include "taskport/error.hpp"
#include "taskport/rendezvous.hpp"

#if !defined(TASKPORT_PRELOAD_DEFAULT) || !defined(TASKPORT_PRELOAD_FROM_LIBDIR) || \
    !defined(TASKPORT_PRELOAD_FROM_BINDIR)
#error "src/CMakeLists.txt defines where the preload library is installed"
#endif

namespace taskport {
namespace {

std::mutex g_mutex;
// Set before main by the CMake package's registration (a string literal of
// the application: never freed). Constant-initialized, so a registration
// from another translation unit's static initializer cannot come too early.
std::atomic<const char*> g_package_path{nullptr};
std::string& override_path() {
  static std::string path;
  return path;
}

// Any address inside this module identifies it to dladdr; a data address,
// since ISO C++ has no conversion from function to object pointers.
const char kAnchor = 0;

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

std::string main_executable() {
#if defined(__APPLE__)
  uint32_t size = PATH_MAX;
  std::string path(size, '\0');
  if (::_NSGetExecutablePath(path.data(), &size) != 0) return {};
  path.resize(std::strlen(path.c_str()));
  return real_path(path);
#else
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
#endif
}

// Where the preload is if it was installed with the module this code is in
// (empty if that module cannot be told).
std::string beside_taskport() {
  Dl_info info{};
#if defined(__APPLE__)
  if (::dladdr(&kAnchor, &info) == 0) return {};
  // The main executable's header (apple-oss-distributions/Libc,
  // include/crt_externs.h: _NSGetMachExecuteHeader) is its load address,
  // which dladdr reports as dli_fbase for an address inside it.
  const bool in_executable = info.dli_fbase == static_cast<const void*>(::_NSGetMachExecuteHeader());
  const char* module = info.dli_fname;
#else
  link_map* map = nullptr;
  if (::dladdr1(&kAnchor, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) == 0 || map == nullptr)
    return {};
  // glibc names the main program's link map "" and dladdr then reports
  // argv[0], which need not be a path (glibc elf/dl-addr.c, _dl_addr): the
  // executable is /proc/self/exe.
  const bool in_executable = map->l_name == nullptr || map->l_name[0] == '\0';
  const char* module = map->l_name;
#endif
  if (in_executable) {
    const std::string exe = main_executable();
    return exe.empty() ? std::string() : directory_of(exe) + "/" + TASKPORT_PRELOAD_FROM_BINDIR;
  }
  if (module == nullptr || module[0] == '\0') return {};
  return directory_of(real_path(module)) + "/" + TASKPORT_PRELOAD_FROM_LIBDIR;
}

struct Place {
  std::string what;  // where the candidate comes from
  std::string path;  // empty: this place gives no candidate
  bool explicit_choice;
};

// Every place, in order.
std::vector<Place> places() {
  std::vector<Place> out;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    out.push_back({"set_preload_library()", override_path(), true});
  }
  const char* env = std::getenv("TASKPORT_PRELOAD_LIBRARY");
  out.push_back({"$TASKPORT_PRELOAD_LIBRARY", env != nullptr ? env : "", true});
  static const std::string beside = beside_taskport();
  out.push_back({"beside taskport", beside, false});
  const char* package = g_package_path.load();
  out.push_back({"from taskport's CMake package", package != nullptr ? package : "", false});
  out.push_back({"the configured install location", TASKPORT_PRELOAD_DEFAULT, false});
  return out;
}

bool readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

}  // namespace

std::string preload_library() {
  const std::vector<Place> all = places();
  for (const Place& p : all) {
    if (p.path.empty()) continue;
    if (p.explicit_choice || readable(p.path)) return p.path;
  }
  return all.back().path;
}

void set_preload_library(std::string path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  override_path() = std::move(path);
}

namespace common {

std::string find_preload_library(const std::string& program) {
  static const char* const kFix =
      "to fix: install taskport with its preload library (cmake --install puts it in "
      "<libdir>/taskport/; Debian: the libtaskport-preload package), set TASKPORT_PRELOAD_LIBRARY to "
      "its path, or call taskport::set_preload_library()";
  std::string looked;
  int first_errno = 0;
  for (const Place& p : places()) {
    if (!looked.empty()) looked += "; ";
    looked += p.what;
    if (p.path.empty()) {
      looked += ": not set";
      continue;
    }
    looked += " '" + p.path + "'";
    char real[PATH_MAX];
    if (readable(p.path) && ::realpath(p.path.c_str(), real) != nullptr) return real;
    const int e = errno;
    if (first_errno == 0) first_errno = e;
    looked += ": ";
    looked += std::strerror(e);
    // An explicit choice is final: report it, not what else might be there.
    if (p.explicit_choice) {
      throw Error(e, Step::rendezvous, program, "preload library not found: " + looked + "; " + kFix);
    }
  }
  throw Error(first_errno != 0 ? first_errno : ENOENT, Step::rendezvous, program,
              "preload library not found; looked at: " + looked + "; " + kFix);
}

}  // namespace common
}  // namespace taskport

extern "C" void taskport_set_package_preload_library(const char* path) noexcept {
  taskport::g_package_path.store(path);
}
