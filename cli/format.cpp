// SPDX-License-Identifier: MIT
#include "format.hpp"

#include <cinttypes>
#include <cstdio>

namespace taskport_cli {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string bytes_human(std::uint64_t n) {
  char buf[32];
  const auto d = static_cast<double>(n);
  if (n >= (1ULL << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", d / (1ULL << 30));
  else if (n >= (1ULL << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", d / (1ULL << 20));
  else if (n >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", d / 1024);
  else std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
  return buf;
}

std::string signed_bytes_human(std::int64_t n) {
  const std::uint64_t magnitude = n < 0 ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
  return (n < 0 ? "-" : "+") + bytes_human(magnitude);
}

std::string seconds(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(d.count()) / 1e9);
  return buf;
}

std::string duration_words(std::chrono::nanoseconds d) {
  const long long ns = d.count();
  char buf[32];
  if (ns % 60000000000LL == 0 && ns != 0) std::snprintf(buf, sizeof buf, "%lldm", ns / 60000000000LL);
  else if (ns % 1000000000LL == 0) std::snprintf(buf, sizeof buf, "%llds", ns / 1000000000LL);
  else if (ns % 1000000LL == 0) std::snprintf(buf, sizeof buf, "%lldms", ns / 1000000LL);
  else std::snprintf(buf, sizeof buf, "%.6gs", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string permissions(const taskport::Region& r) {
  std::string p;
  p += r.protection.read ? 'r' : '-';
  p += r.protection.write ? 'w' : '-';
  p += r.protection.execute ? 'x' : '-';
  p += r.shared ? 's' : 'p';
  return p;
}

std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace taskport_cli
