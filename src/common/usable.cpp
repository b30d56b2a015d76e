// SPDX-License-Identifier: MIT
#include "common/usable.hpp"

#include <errno.h>

namespace taskport::common {

Error moved_from(Step step, const char* what) {
  // Error::program() of an object that names no process: "pid -1", what its
  // pid() returns (taskport/error.hpp).
  return Error(
      EBADF, step, "pid -1",
      std::string("a moved-from ") + what + " holds no process (it was moved into another " + what + ")");
}

Error copied_by_fork(Step step, const std::string& program, const char* what) {
  return Error(ECHILD, step, program,
               std::string("this ") + what +
                   " was copied into a process forked from the one that made it, and belongs to that "
                   "process (see \"fork()\" in taskport/child.hpp)");
}

}  // namespace taskport::common
