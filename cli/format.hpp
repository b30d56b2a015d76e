// SPDX-License-Identifier: MIT
// How the CLI writes numbers and names for people.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <taskport/region.hpp>

namespace taskport_cli {

std::string hex(std::uint64_t v);                        // 0x7f00…
std::string bytes_human(std::uint64_t n);                // 16.0 KiB
std::string signed_bytes_human(std::int64_t n);          // +4.1 MiB, -8.0 KiB, +0 B
std::string seconds(std::chrono::nanoseconds d);         // 0.120 s
std::string duration_words(std::chrono::nanoseconds d);  // 100ms, 2s, 1.5s, 1m
std::string permissions(const taskport::Region& r);      // r-xp
// `s` with control bytes (which could drive the terminal) shown as '?'.
std::string printable(std::string_view s);

}  // namespace taskport_cli
