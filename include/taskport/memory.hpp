// SPDX-License-Identifier: MIT
// taskport — reading and writing another process's memory: request types.
#pragma once

#include <cstddef>
#include <cstdint>

namespace taskport {

// One range of a batched read (Task::read_many). In: address, buffer, size.
// Out: bytes_read (a prefix of the range), error (0 when the whole range was
// read; else the errno that stopped it, e.g. EFAULT for an unmapped address).
struct ReadRequest {
  std::uint64_t address = 0;
  void* buffer = nullptr;
  std::size_t size = 0;
  std::size_t bytes_read = 0;
  int error = 0;

  bool ok() const noexcept { return error == 0 && bytes_read == size; }
};

}  // namespace taskport
