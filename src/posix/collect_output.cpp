// SPDX-License-Identifier: MIT
#include "posix/collect_output.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "posix/eintr.hpp"

namespace taskport::posix {
namespace {

constexpr size_t kChunk = 64 * 1024;

struct Stream {
  int fd;
  std::string* text;
  bool open() const noexcept { return fd >= 0; }
};

// One read of up to `limit` bytes. Returns 0 (the stream is done when
// nothing came: end-of-file), or an errno.
int read_some(Stream& s, size_t limit, bool& at_end) {
  char buf[kChunk];
  const ssize_t n = retry_on_eintr([&] { return ::read(s.fd, buf, std::min(limit, sizeof buf)); });
  if (n < 0) return errno;
  at_end = n == 0;
  s.text->append(buf, static_cast<size_t>(n));
  return 0;
}

// The child has exited: read exactly what the pipe holds now (FIONREAD).
// Everything the child wrote is there — it can no longer be blocked in a
// write — and what comes later is a grandchild's.
int drain(Stream& s) {
  int pending = 0;
  if (::ioctl(s.fd, FIONREAD, &pending) != 0) return errno;
  auto left = static_cast<size_t>(std::max(pending, 0));
  while (left > 0) {
    const size_t before = s.text->size();
    bool at_end = false;
    if (const int error = read_some(s, left, at_end); error != 0) return error;
    if (at_end) break;
    left -= s.text->size() - before;
  }
  return 0;
}

}  // namespace

int collect_output(int exit_fd, int out_fd, int err_fd, std::string& out, std::string& err) {
  Stream streams[2] = {{out_fd, &out}, {err_fd, &err}};
  while (streams[0].open() || streams[1].open()) {
    pollfd fds[3];
    nfds_t n = 0;
    for (const Stream& s : streams) fds[n++] = pollfd{s.fd, POLLIN, 0};  // fd -1: ignored by poll
    fds[n++] = pollfd{exit_fd, POLLIN, 0};
    if (retry_on_eintr([&] { return ::poll(fds, n, -1); }) < 0) return errno;
    if (fds[2].revents != 0) {
      for (Stream& s : streams) {
        if (!s.open()) continue;
        if (const int error = drain(s); error != 0) return error;
      }
      return 0;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      bool at_end = false;
      if (const int error = read_some(streams[i], kChunk, at_end); error != 0) return error;
      if (at_end) streams[i].fd = -1;
    }
  }
  return 0;
}

}  // namespace taskport::posix
