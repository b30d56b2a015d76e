// SPDX-License-Identifier: MIT
#include "relay.hpp"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>

namespace taskport_cli {

bool write_all(int fd, std::string_view bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void LineRelay::write_out(std::string_view bytes) {
  if (bytes.empty()) return;
  (void)write_all(to_, bytes);  // a reader that went away loses the output, as it would without taskport
  mid_line_ = bytes.back() != '\n';
}

void LineRelay::on_readable() {
  if (!from_) return;
  char buf[16384];
  const ssize_t n = ::read(from_.get(), buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {  // EOF (or an error no retry mends): the last line as it is
    write_out(held_);
    held_.clear();
    from_.reset();
    return;
  }
  held_.append(buf, static_cast<std::size_t>(n));
  const std::size_t last_newline = held_.rfind('\n');
  if (last_newline != std::string::npos) {
    write_out(std::string_view(held_).substr(0, last_newline + 1));
    held_.erase(0, last_newline + 1);
  }
  while (held_.size() >= kMaxHeld) {
    write_out(std::string_view(held_).substr(0, kMaxHeld));
    held_.erase(0, kMaxHeld);
  }
}

void LineRelay::pass_on_pending() {
  // Bounded: a child writing without pause must not hold up the report.
  for (int reads = 0; from_ && reads < 64; ++reads) {
    pollfd p{from_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    on_readable();
  }
}

void LineRelay::finish(int budget_ms) {
  // What the child wrote before it exited is in the pipe already: read while
  // the pipe has data, never waiting for more.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
  while (from_ && std::chrono::steady_clock::now() < deadline) {
    pollfd p{from_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    on_readable();
  }
  write_out(held_);
  held_.clear();
  from_.reset();
}

}  // namespace taskport_cli
