// SPDX-License-Identifier: MIT
// libFuzzer target for the /proc/<pid>/maps parser (src/linux/proc_maps.cpp).
//
// Feeds arbitrary bytes to parse_proc_maps and checks what must hold for any
// input: no crash, hang or UB (the sanitizers), every accepted line is a
// sane Region, line counts add up, and an accepted Region printed back in
// the kernel's format parses to the same Region. Run with fuzz/run.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "linux/proc_maps.hpp"

namespace {

using taskport::Region;
using taskport::backend::kind_of;
using taskport::backend::parse_maps_line;
using taskport::backend::parse_proc_maps;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "proc_maps_fuzz: %s\n", what);
  std::abort();
}

// A Region as fs/proc/task_mmu.c prints it.
std::string print(const Region& r) {
  char head[160];
  std::snprintf(head, sizeof head, "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu ",
                static_cast<unsigned long long>(r.start), static_cast<unsigned long long>(r.end),
                r.protection.read ? 'r' : '-', r.protection.write ? 'w' : '-',
                r.protection.execute ? 'x' : '-', r.shared ? 's' : 'p',
                static_cast<unsigned long long>(r.offset), r.device_major, r.device_minor,
                static_cast<unsigned long long>(r.inode));
  std::string line = head;
  if (!r.path.empty()) {
    line.resize(std::max<std::size_t>(line.size(), 73), ' ');
    line += r.path;
  }
  return line;
}

bool same(const Region& a, const Region& b) {
  return a.start == b.start && a.end == b.end && a.protection.read == b.protection.read &&
         a.protection.write == b.protection.write && a.protection.execute == b.protection.execute &&
         a.shared == b.shared && a.offset == b.offset && a.device_major == b.device_major &&
         a.device_minor == b.device_minor && a.inode == b.inode && a.path == b.path && a.kind == b.kind;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_proc_maps(text);

  std::size_t lines = 0;
  for (std::string_view rest = text; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    ++lines;
  }
  if (parsed.regions.size() + parsed.malformed_lines != lines) fail("lines lost or invented");
  if ((parsed.malformed_lines == 0) != (parsed.first_malformed == 0)) fail("first_malformed inconsistent");
  if (parsed.first_malformed > lines) fail("first_malformed out of range");

  for (const Region& r : parsed.regions) {
    if (r.start >= r.end) fail("empty or inverted region accepted");
    if (r.size() == 0 || !r.contains(r.start) || r.contains(r.end)) fail("size/contains inconsistent");
    if (r.path.find('\n') != std::string::npos) fail("newline inside a path");
    if (!r.path.empty() && r.path.front() == ' ') fail("path starts with the padding");
    if (r.kind != kind_of(r.path)) fail("kind does not follow the path");
    const auto again = parse_maps_line(print(r));
    if (!again || !same(*again, r)) fail("printed region does not parse back to itself");
  }
  return 0;
}
