// SPDX-License-Identifier: MIT
// Task::read into a new vector: the same read, the buffer made here.
#include <vector>

#include "taskport/task.hpp"

namespace taskport {

std::vector<std::byte> Task::read(std::uint64_t address, std::size_t size) const {
  std::vector<std::byte> bytes(size);
  read(address, bytes.data(), size);
  return bytes;
}

}  // namespace taskport
