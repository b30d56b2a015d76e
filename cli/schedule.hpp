// SPDX-License-Identifier: MIT
// When the snapshots after the first are due, for `run` and `inspect`.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "snapshot.hpp"

namespace taskport_cli {

// Each --at once, and every INTERVAL (at most --count times), counted from
// `start`. A tick missed because a snapshot took longer than the interval is
// skipped, not taken late twice.
class Schedule {
 public:
  using Clock = std::chrono::steady_clock;

  Schedule(const std::vector<std::chrono::nanoseconds>& at, std::optional<std::chrono::nanoseconds> every,
           std::optional<long> count, Clock::time_point start);

  // When the next snapshot is due; nullopt when none is left.
  std::optional<Clock::time_point> next() const;

  // What the snapshot due now was asked by; nullopt if none is due yet. An
  // --at that is due is taken first and leaves a due tick of --every for the
  // next call (right after), so that neither is lost when both fall due
  // during one slow snapshot.
  std::optional<Trigger> take_due(Clock::time_point now);

 private:
  std::vector<Clock::time_point> at_;
  std::size_t next_at_ = 0;
  std::optional<std::chrono::nanoseconds> every_;
  long left_;  // periodic snapshots still to take; -1: no limit
  Clock::time_point next_every_;
};

}  // namespace taskport_cli
