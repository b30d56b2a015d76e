// SPDX-License-Identifier: MIT
#include "linux/proc_smaps.hpp"

#include <cctype>
#include <optional>

#include "linux/proc_maps.hpp"
#include "linux/proc_parse.hpp"

namespace taskport::backend {
namespace {

// "Key:" at the start of the line, the key made of letters, digits and '_'
// (show_smap's "Rss:", "Private_Dirty:", "THPeligible:", "VmFlags:"). A maps
// line starts with hex digits and a '-', so it is never taken for one.
bool is_attribute_line(std::string_view line) noexcept {
  std::size_t i = 0;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) != 0 || line[i] == '_')) ++i;
  return i > 0 && i < line.size() && line[i] == ':';
}

}  // namespace

SmapsText parse_proc_smaps(std::string_view text) {
  SmapsText out;
  std::size_t line_number = 0;
  // The line of the mapping whose "Rss:" is yet to come; 0 if none is.
  std::size_t awaiting_rss = 0;
  auto malformed = [&out](std::size_t line) {
    if (out.malformed_lines++ == 0 || line < out.first_malformed) out.first_malformed = line;
  };
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_number;
    if (auto region = parse_maps_line(line)) {
      if (awaiting_rss != 0) malformed(awaiting_rss);
      out.regions.push_back(std::move(*region));
      awaiting_rss = line_number;
    } else if (!is_attribute_line(line) || out.regions.empty()) {
      malformed(line_number);
    } else if (line.substr(0, 4) == "Rss:") {
      const std::optional<std::uint64_t> bytes = key_kib_as_bytes(line, "Rss");
      if (!bytes || awaiting_rss == 0) {
        malformed(line_number);
        continue;
      }
      out.regions.back().resident_bytes = bytes;
      awaiting_rss = 0;
    }
  }
  if (awaiting_rss != 0) malformed(awaiting_rss);
  return out;
}

}  // namespace taskport::backend
