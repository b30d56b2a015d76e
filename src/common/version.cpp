// SPDX-License-Identifier: MIT
// taskport::library_version(): the version this library was compiled as.
// The string comes from the generated taskport/version.hpp of the library's
// own build, so it is the version of the objects, whatever headers a program
// that links them was compiled against.
#include "taskport/version.hpp"

namespace taskport {

const char* library_version() noexcept { return TASKPORT_VERSION_STRING; }

}  // namespace taskport
