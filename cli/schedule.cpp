// SPDX-License-Identifier: MIT
#include "schedule.hpp"

#include <algorithm>

namespace taskport_cli {

Schedule::Schedule(const std::vector<std::chrono::nanoseconds>& at,
                   std::optional<std::chrono::nanoseconds> every, std::optional<long> count,
                   Clock::time_point start)
    : every_(every), left_(count.value_or(-1)) {
  for (const auto& d : at) at_.push_back(start + d);
  std::sort(at_.begin(), at_.end());
  if (every_) next_every_ = start + *every_;
}

std::optional<Schedule::Clock::time_point> Schedule::next() const {
  std::optional<Clock::time_point> n;
  if (next_at_ < at_.size()) n = at_[next_at_];
  if (every_ && left_ != 0 && (!n || next_every_ < *n)) n = next_every_;
  return n;
}

std::optional<Trigger> Schedule::take_due(Clock::time_point now) {
  if (next_at_ < at_.size() && at_[next_at_] <= now) {
    while (next_at_ < at_.size() && at_[next_at_] <= now) ++next_at_;
    return Trigger::at;
  }
  if (every_ && left_ != 0 && next_every_ <= now) {
    if (left_ > 0) --left_;
    while (next_every_ <= now) next_every_ += *every_;
    return Trigger::every;
  }
  return std::nullopt;
}

}  // namespace taskport_cli
