// SPDX-License-Identifier: MIT
#include "common/read_error.hpp"

#include <errno.h>

#include <cstdio>

namespace taskport::common {

std::string range_text(std::uint64_t address, std::size_t size) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "0x%llx+%zu", static_cast<unsigned long long>(address), size);
  return buf;
}

Error read_error(const ReadRequest& r, const std::string& task) {
  std::string detail = range_text(r.address, r.size) + ": ";
  if (r.error == EFAULT) {
    detail += "not mapped or not readable in the task";
    if (r.bytes_read > 0) detail += " (only the first " + std::to_string(r.bytes_read) + " bytes are)";
  } else {
    detail += "read stopped after " + std::to_string(r.bytes_read) + " bytes";
  }
  return Error(r.error != 0 ? r.error : EFAULT, Step::read_memory, task, detail);
}

}  // namespace taskport::common
