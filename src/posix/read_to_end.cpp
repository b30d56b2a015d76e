// SPDX-License-Identifier: MIT
#include "posix/read_to_end.hpp"

#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

#include "posix/eintr.hpp"

namespace taskport::posix {
namespace {

// `read_at(buffer, size, offset)` is read(2) or pread(2).
template <class Read>
int read_chunks(std::string& out, Read&& read_at) {
  out.clear();
  char buf[16384];
  while (true) {
    const ssize_t n =
        retry_on_eintr([&] { return read_at(buf, sizeof buf, static_cast<off_t>(out.size())); });
    if (n < 0) return errno;
    if (n == 0) return 0;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

int read_to_end(int fd, std::string& out) {
  return read_chunks(out, [fd](char* buf, std::size_t size, off_t) { return ::read(fd, buf, size); });
}

int pread_to_end(int fd, std::string& out) {
  return read_chunks(out, [fd](char* buf, std::size_t size, off_t at) { return ::pread(fd, buf, size, at); });
}

}  // namespace taskport::posix
