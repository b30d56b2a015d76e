// SPDX-License-Identifier: MIT
// Finding the preload library for a spawn (Command::task_via_preload on
// Linux, every spawn_with_task on macOS). The lookup order is documented
// once, at taskport::preload_library() in include/taskport/rendezvous.hpp.
#pragma once

#include <string>

namespace taskport::common {

// The preload library to inject into a child of `program`, as an absolute
// path without symbolic links (the loader resolves a relative one against the
// child's working directory). Throws Error(errno, Step::rendezvous, program)
// when there is none; the detail names every place looked at, why each did
// not do, and how to fix it.
std::string find_preload_library(const std::string& program);

}  // namespace taskport::common

// Called before main by the CMake package of a static libtaskport
// (lib/cmake/taskport/taskport_preload_location.cpp, compiled into the
// application): where that package's preload library is. `path` must stay
// valid (a string literal). Not part of the public API, and not exported by
// a shared libtaskport (whose package does not use it: a shared library
// finds the preload beside itself).
extern "C" void taskport_set_package_preload_library(const char* path) noexcept;
