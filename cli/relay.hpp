// SPDX-License-Identifier: MIT
// Whole-line output. taskport's text report and the child's output share
// the terminal, so in text mode the child's stdout and stderr come through
// pipes and are written out here line by line, and the report is written
// only between lines: neither ever lands in the middle of a line of the
// other (docs: taskport(1), OUTPUT).
#pragma once

#include <string>
#include <string_view>

#include <taskport/unique_fd.hpp>

namespace taskport_cli {

// Writes all of `bytes` to `fd` (retrying short writes and EINTR); false if
// the descriptor refuses (EPIPE once the reader is gone, EBADF).
bool write_all(int fd, std::string_view bytes) noexcept;

// One stream of the child (the read end of its pipe) relayed to one of
// taskport's descriptors in whole lines.
class LineRelay {
 public:
  LineRelay() = default;
  LineRelay(taskport::UniqueFd from, int to) : from_(std::move(from)), to_(to) {}

  // The pipe to poll; -1 once it reached EOF.
  int fd() const noexcept { return from_.get(); }
  // Reads what the pipe holds now (one read: call when poll says so) and
  // writes out every complete line. A line longer than kMaxHeld is written
  // out in pieces of that size.
  void on_readable();
  // Relays the complete lines the pipe holds now, without waiting for more:
  // called before a report, so that the report follows what the child wrote
  // before it.
  void pass_on_pending();
  // The child is gone: relays what its pipe still holds (for at most
  // `budget_ms`: a grandchild may keep it open and writing), then the last
  // unfinished line as it is, and closes the pipe.
  void finish(int budget_ms);
  // The last byte written to `to` did not end a line (an unfinished last
  // line, or a piece of a long one).
  bool mid_line() const noexcept { return mid_line_; }
  // Someone else wrote to `to` and ended a line there.
  void line_ended_elsewhere() noexcept { mid_line_ = false; }

  static constexpr std::size_t kMaxHeld = 64 * 1024;

 private:
  void write_out(std::string_view bytes);

  taskport::UniqueFd from_;
  int to_ = -1;
  std::string held_;  // the unfinished line read so far
  bool mid_line_ = false;
};

}  // namespace taskport_cli
