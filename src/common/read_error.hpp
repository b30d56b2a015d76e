// SPDX-License-Identifier: MIT
// The errors of Task::read, the same on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "taskport/error.hpp"
#include "taskport/memory.hpp"

namespace taskport::common {

// "0x7f00…+8": how errors name a range of task memory.
std::string range_text(std::uint64_t address, std::size_t size);

// The Error for a ReadRequest that did not complete (Step::read_memory),
// naming the task `task` and what part of the range could be read.
Error read_error(const ReadRequest& r, const std::string& task);

}  // namespace taskport::common
