// SPDX-License-Identifier: MIT
#include "linux/proc_parse.hpp"

#include <unistd.h>

#include <limits>

namespace taskport::backend {
namespace {

// Parses a decimal number at the front of `s` (after optional blanks) and
// drops it from `s`. nullopt if there is no digit or it overflows.
std::optional<std::uint64_t> take_number(std::string_view& s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  const size_t start = i;
  std::uint64_t value = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const auto digit = static_cast<std::uint64_t>(s[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (i == start) return std::nullopt;
  s.remove_prefix(i);
  return value;
}

// Parses hex digits (either case) at the front of `s` (after optional
// blanks) and drops them from `s`. nullopt if there is no digit or more than
// 16.
std::optional<std::uint64_t> take_hex(std::string_view& s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  const size_t start = i;
  std::uint64_t value = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
    if (digit < 0) break;
    if (i - start == 16) return std::nullopt;
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  if (i == start) return std::nullopt;
  s.remove_prefix(i);
  return value;
}

// Drops the next blank-separated field of `s`; false if there is none.
bool skip_field(std::string_view& s) {
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  const size_t start = i;
  while (i < s.size() && s[i] != ' ' && s[i] != '\n') ++i;
  if (i == start) return false;
  s.remove_prefix(i);
  return true;
}

// The rest of the line that starts with "key:", or nullopt.
std::optional<std::string_view> line_after_key(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ':') {
      return line.substr(key.size() + 1);
    }
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<StatLine> parse_stat(std::string_view text) {
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  StatLine out;
  out.comm = std::string(text.substr(open + 1, close - open - 1));
  std::string_view rest = text.substr(close + 1);
  // (3) state: one character after a blank.
  if (rest.size() < 2 || rest[0] != ' ') return std::nullopt;
  out.state = rest[1];
  rest.remove_prefix(2);
  // Fields (4)…(22); field n is the (n-3)th after the state.
  std::uint64_t* wanted[23] = {};
  wanted[4] = &out.ppid;
  wanted[9] = &out.flags;
  wanted[10] = &out.minflt;
  wanted[12] = &out.majflt;
  wanted[14] = &out.utime;
  wanted[15] = &out.stime;
  wanted[20] = &out.num_threads;
  wanted[22] = &out.starttime;
  for (int field = 4; field <= 22; ++field) {
    if (wanted[field] != nullptr) {
      auto v = take_number(rest);
      if (!v) return std::nullopt;
      *wanted[field] = *v;
    } else if (!skip_field(rest)) {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::uint64_t> key_value(std::string_view text, std::string_view key) {
  auto rest = line_after_key(text, key);
  if (!rest) return std::nullopt;
  return take_number(*rest);
}

std::optional<std::int64_t> key_signed_value(std::string_view text, std::string_view key) {
  auto rest = line_after_key(text, key);
  if (!rest) return std::nullopt;
  const size_t first = rest->find_first_not_of(" \t");
  const bool negative = first != std::string_view::npos && (*rest)[first] == '-';
  if (negative) rest->remove_prefix(first + 1);
  auto magnitude = take_number(*rest);
  if (!magnitude || *magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  const auto value = static_cast<std::int64_t>(*magnitude);
  return negative ? -value : value;
}

std::vector<std::uint64_t> key_values(std::string_view text, std::string_view key) {
  std::vector<std::uint64_t> values;
  auto rest = line_after_key(text, key);
  if (!rest) return values;
  while (rest->find_first_not_of(" \t") != std::string_view::npos) {
    const auto value = take_number(*rest);
    if (!value) return {};
    values.push_back(*value);
  }
  return values;
}

std::optional<std::uint64_t> key_hex_value(std::string_view text, std::string_view key) {
  auto rest = line_after_key(text, key);
  if (!rest) return std::nullopt;
  return take_hex(*rest);
}

std::optional<std::uint64_t> parse_number(std::string_view text) { return take_number(text); }

std::optional<std::uint64_t> key_kib_as_bytes(std::string_view text, std::string_view key) {
  auto rest = line_after_key(text, key);
  if (!rest) return std::nullopt;
  auto kib = take_number(*rest);
  if (!kib || *kib > std::numeric_limits<std::uint64_t>::max() / 1024) return std::nullopt;
  const size_t unit = rest->find_first_not_of(" \t");
  if (unit == std::string_view::npos || rest->substr(unit, 2) != "kB") return std::nullopt;
  return *kib * 1024;
}

ThreadState thread_state_from_code(char code) noexcept {
  switch (code) {
    case 'R': return ThreadState::running;
    case 'S': return ThreadState::sleeping;
    case 'D': return ThreadState::disk_sleep;
    case 'T': return ThreadState::stopped;
    case 't': return ThreadState::traced;
    case 'Z': return ThreadState::zombie;
    case 'X':
    case 'x': return ThreadState::dead;
    case 'I': return ThreadState::idle;
    default: return ThreadState::unknown;
  }
}

std::chrono::nanoseconds ticks_to_duration(std::uint64_t ticks, long ticks_per_second) noexcept {
  if (ticks_per_second <= 0) ticks_per_second = 100;  // USER_HZ on every Linux ABI
  const auto hz = static_cast<std::uint64_t>(ticks_per_second);
  constexpr std::uint64_t kNsPerSecond = 1'000'000'000;
  const std::uint64_t ns = ticks / hz * kNsPerSecond + ticks % hz * kNsPerSecond / hz;
  return std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(ns));
}

long clock_ticks_per_second() noexcept {
  static const long hz = ::sysconf(_SC_CLK_TCK);
  return hz;
}

}  // namespace taskport::backend
