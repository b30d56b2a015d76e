// SPDX-License-Identifier: MIT
// The second form of Error::program() (taskport/error.hpp): "pid <N>", for a
// process known only by its pid.
#pragma once

#include <sys/types.h>

#include <string>

namespace taskport::common {

inline std::string pid_program(pid_t pid) { return "pid " + std::to_string(pid); }

}  // namespace taskport::common
