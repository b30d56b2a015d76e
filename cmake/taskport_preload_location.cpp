// SPDX-License-Identifier: MIT
// Compiled into an application that links a static libtaskport through
// find_package(taskport) (taskportConfig.cmake adds it to taskport::taskport):
// tells the library, before main, where the preload library of the prefix
// the package was found in is. TASKPORT_PACKAGE_PRELOAD_LIBRARY is that
// path, computed when the application was configured. See
// taskport::preload_library() (taskport/rendezvous.hpp) for the order in
// which places are looked at.
#ifndef TASKPORT_PACKAGE_PRELOAD_LIBRARY
#error "taskportConfig.cmake defines TASKPORT_PACKAGE_PRELOAD_LIBRARY"
#endif

// In the static libtaskport (src/common/preload_library.cpp).
extern "C" void taskport_set_package_preload_library(const char* path) noexcept;

namespace {

// A static object's constructor: runs before main. The string literal lives
// as long as the program.
struct TaskportPackagePreloadLibrary {
  TaskportPackagePreloadLibrary() noexcept {
    taskport_set_package_preload_library(TASKPORT_PACKAGE_PRELOAD_LIBRARY);
  }
};
const TaskportPackagePreloadLibrary taskport_package_preload_library_registration;

}  // namespace
