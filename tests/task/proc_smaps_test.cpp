// SPDX-License-Identifier: MIT
// The /proc/<pid>/smaps text parser (src/linux/proc_smaps.hpp) on
// hand-written text: the Rss of each mapping, attribute lines it skips, and
// text that is not in the format. Against the kernel's own text:
// resident_test.cpp.
#include "linux/proc_smaps.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace {

namespace lr = taskport::backend;

constexpr const char* kTwoMappings =
    "55d0b8a3c000-55d0b8a3e000 r--p 00000000 fe:01 1234                       /usr/bin/cat\n"
    "Size:                  8 kB\n"
    "KernelPageSize:        4 kB\n"
    "MMUPageSize:           4 kB\n"
    "Rss:                   8 kB\n"
    "Pss:                   8 kB\n"
    "Private_Dirty:         0 kB\n"
    "THPeligible:    0\n"
    "ProtectionKey:         0\n"
    "VmFlags: rd mr mw me sd \n"
    "7ffd1c9e0000-7ffd1ca01000 rw-p 00000000 00:00 0                          [stack]\n"
    "Size:                132 kB\n"
    "Rss:                  12 kB\n"
    "VmFlags: rd wr mr mw me gd ac \n";

TEST(ProcSmapsParser, GivesEachMappingItsRssInBytes) {
  const auto parsed = lr::parse_proc_smaps(kTwoMappings);
  EXPECT_EQ(parsed.malformed_lines, 0u);
  ASSERT_EQ(parsed.regions.size(), 2u);
  EXPECT_EQ(parsed.regions[0].start, 0x55d0b8a3c000u);
  EXPECT_EQ(parsed.regions[0].path, "/usr/bin/cat");
  EXPECT_EQ(parsed.regions[0].inode, 1234u);
  EXPECT_EQ(parsed.regions[0].resident_bytes, std::optional<std::uint64_t>(8 * 1024));
  EXPECT_EQ(parsed.regions[1].path, "[stack]");
  EXPECT_EQ(parsed.regions[1].kind, taskport::RegionKind::stack);
  EXPECT_EQ(parsed.regions[1].resident_bytes, std::optional<std::uint64_t>(12 * 1024));
}

TEST(ProcSmapsParser, AcceptsAFinalLineWithoutNewlineAndEmptyText) {
  const auto parsed =
      lr::parse_proc_smaps("00400000-00401000 r-xp 00000000 08:01 7 /x\nRss: 4 kB\nVmFlags: rd ex");
  EXPECT_EQ(parsed.malformed_lines, 0u);
  ASSERT_EQ(parsed.regions.size(), 1u);
  EXPECT_EQ(parsed.regions[0].resident_bytes, std::optional<std::uint64_t>(4096));
  const auto empty = lr::parse_proc_smaps("");
  EXPECT_TRUE(empty.regions.empty());
  EXPECT_EQ(empty.malformed_lines, 0u);
}

TEST(ProcSmapsParser, CountsAMappingWithoutRssAsMalformedAndKeepsIt) {
  const auto parsed = lr::parse_proc_smaps(
      "00400000-00401000 r-xp 00000000 08:01 7 /x\nSize: 4 kB\n"
      "00500000-00501000 rw-p 00000000 00:00 0\nRss: 4 kB\n");
  ASSERT_EQ(parsed.regions.size(), 2u);
  EXPECT_FALSE(parsed.regions[0].resident_bytes);
  EXPECT_EQ(parsed.regions[1].resident_bytes, std::optional<std::uint64_t>(4096));
  EXPECT_EQ(parsed.malformed_lines, 1u);
  EXPECT_EQ(parsed.first_malformed, 1u);
}

TEST(ProcSmapsParser, CountsLinesThatAreNeitherMapsNorAttributes) {
  const auto parsed = lr::parse_proc_smaps(
      "Rss: 4 kB\n"  // before any mapping
      "00400000-00401000 r-xp 00000000 08:01 7 /x\n"
      "this is not smaps\n"
      "Rss: 4 MB\n"  // not kB
      "Rss: 8 kB\n");
  EXPECT_EQ(parsed.malformed_lines, 3u);
  EXPECT_EQ(parsed.first_malformed, 1u);
  ASSERT_EQ(parsed.regions.size(), 1u);
  EXPECT_EQ(parsed.regions[0].resident_bytes, std::optional<std::uint64_t>(8192));
}

TEST(ProcSmapsParser, ASecondRssLineForOneMappingIsMalformed) {
  const auto parsed =
      lr::parse_proc_smaps("00400000-00401000 r-xp 00000000 08:01 7 /x\nRss: 4 kB\nRss: 8 kB\n");
  EXPECT_EQ(parsed.malformed_lines, 1u);
  EXPECT_EQ(parsed.first_malformed, 3u);
  EXPECT_EQ(parsed.regions[0].resident_bytes, std::optional<std::uint64_t>(4096));
}

}  // namespace
