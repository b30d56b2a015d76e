// SPDX-License-Identifier: MIT
#include "linux/proc_maps.hpp"

#include <cstdint>
#include <string>

namespace taskport::backend {
namespace {

// A forward-only reader over one line. Every method checks the bounds before
// it looks at a byte and leaves the position unspecified on failure (the
// whole line is then rejected).
class Cursor {
 public:
  explicit Cursor(std::string_view s) noexcept : s_(s) {}

  bool at_end() const noexcept { return i_ == s_.size(); }
  std::string_view rest() const noexcept { return s_.substr(i_); }

  bool literal(char c) noexcept {
    if (at_end() || s_[i_] != c) return false;
    ++i_;
    return true;
  }

  // 1..max_digits hex digits (either case) into `out`. max_digits bounds the
  // value, so it cannot overflow: 16 digits fill 64 bits, 8 fill 32.
  bool hex(std::uint64_t& out, std::size_t max_digits) noexcept {
    out = 0;
    std::size_t n = 0;
    for (; !at_end(); ++i_, ++n) {
      const int d = hex_digit(s_[i_]);
      if (d < 0) break;
      if (n == max_digits) return false;
      out = (out << 4) | static_cast<std::uint64_t>(d);
    }
    return n > 0;
  }

  // 1..20 decimal digits that fit in 64 bits.
  bool decimal(std::uint64_t& out) noexcept {
    constexpr std::uint64_t kMax = UINT64_MAX;
    out = 0;
    std::size_t n = 0;
    for (; !at_end() && s_[i_] >= '0' && s_[i_] <= '9'; ++i_, ++n) {
      const auto d = static_cast<std::uint64_t>(s_[i_] - '0');
      if (out > (kMax - d) / 10) return false;
      out = out * 10 + d;
    }
    return n > 0;
  }

  // One of two characters; `first` tells which.
  bool either(char yes, char no, bool& first) noexcept {
    if (at_end()) return false;
    const char c = s_[i_];
    if (c != yes && c != no) return false;
    first = c == yes;
    ++i_;
    return true;
  }

  void skip_spaces() noexcept {
    while (!at_end() && s_[i_] == ' ') ++i_;
  }

 private:
  static int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

RegionKind kind_of(std::string_view name) noexcept {
  if (name.empty()) return RegionKind::anonymous;
  if (name == "[heap]") return RegionKind::heap;
  if (name == "[stack]") return RegionKind::stack;
  if (name == "[vdso]" || name == "[vvar]" || name == "[vvar_vclock]" || name == "[vsyscall]") {
    return RegionKind::vdso;
  }
  if (name.front() == '[') return RegionKind::other;
  return RegionKind::file;
}

std::optional<Region> parse_maps_line(std::string_view line) {
  Cursor c(line);
  Region r;
  std::uint64_t major = 0;
  std::uint64_t minor = 0;
  bool ok = c.hex(r.start, 16) && c.literal('-') && c.hex(r.end, 16) && c.literal(' ') &&
            c.either('r', '-', r.protection.read) && c.either('w', '-', r.protection.write) &&
            c.either('x', '-', r.protection.execute) && c.either('s', 'p', r.shared) && c.literal(' ') &&
            c.hex(r.offset, 16) && c.literal(' ') && c.hex(major, 8) && c.literal(':') && c.hex(minor, 8) &&
            c.literal(' ') && c.decimal(r.inode);
  if (!ok || r.start >= r.end) return std::nullopt;
  // The kernel ends every line's fixed part with one space, then pads to a
  // column before a name; a line without a name keeps that trailing space.
  // A line cut right after the inode is accepted as nameless too.
  if (!c.at_end()) {
    if (!c.literal(' ')) return std::nullopt;
    c.skip_spaces();
    r.path = std::string(c.rest());
  }
  r.device_major = static_cast<std::uint32_t>(major);
  r.device_minor = static_cast<std::uint32_t>(minor);
  r.kind = kind_of(r.path);
  return r;
}

MapsText parse_proc_maps(std::string_view text) {
  MapsText out;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_number;
    if (auto region = parse_maps_line(line)) {
      out.regions.push_back(std::move(*region));
    } else {
      if (out.malformed_lines++ == 0) out.first_malformed = line_number;
    }
  }
  return out;
}

}  // namespace taskport::backend
