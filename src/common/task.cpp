// SPDX-License-Identifier: MIT
// The platform-neutral part of Task (taskport/task.hpp): what both backends
// do alike on top of their own Task::Impl.
#include "taskport/task.hpp"

#include "common/backend.hpp"
#include "common/read_error.hpp"

namespace taskport {

// One request of read_many: a range that does not complete is an error
// naming what part of it could be read (task-wide failures throw there).
void Task::read(std::uint64_t address, void* buffer, std::size_t size) const {
  ReadRequest r;
  r.address = address;
  r.buffer = buffer;
  r.size = size;
  read_many(&r, 1);
  if (!r.ok()) throw common::read_error(r, backend::program_of(*impl_));
}

}  // namespace taskport
