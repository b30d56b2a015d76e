// SPDX-License-Identifier: MIT
// The /proc/<pid>/maps text parser (src/linux/proc_maps.hpp) on tricky and
// malformed text: every field, names with spaces, escapes and suffixes, the
// kinds names imply, truncations and out-of-range numbers. Task::regions()
// against the kernel's own text: regions_test.cpp.
#include "linux/proc_maps.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace {

using taskport::RegionKind;
namespace lr = taskport::backend;

constexpr const char* kLibcLine =
    "7f0e2a4b7000-7f0e2a4dd000 r-xp 00026000 fe:00 332835                     "
    "/usr/lib/x86_64-linux-gnu/libc.so.6";

TEST(ProcMapsParser, ReadsEveryFieldOfAFileMapping) {
  const auto r = lr::parse_maps_line(kLibcLine);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start, 0x7f0e2a4b7000u);
  EXPECT_EQ(r->end, 0x7f0e2a4dd000u);
  EXPECT_TRUE(r->protection.read);
  EXPECT_FALSE(r->protection.write);
  EXPECT_TRUE(r->protection.execute);
  EXPECT_FALSE(r->shared);
  EXPECT_EQ(r->offset, 0x26000u);
  EXPECT_EQ(r->device_major, 0xfeu);
  EXPECT_EQ(r->device_minor, 0u);
  EXPECT_EQ(r->inode, 332835u);
  EXPECT_EQ(r->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(r->kind, RegionKind::file);
  EXPECT_EQ(r->size(), 0x26000u);
}

TEST(ProcMapsParser, KeepsSpacesAndTheDeletedSuffixInPaths) {
  const auto r = lr::parse_maps_line(
      "7f0000001000-7f0000003000 r--s 00000000 fe:00 99                         /tmp/a dir/two  spaces "
      "(deleted)");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->shared);
  EXPECT_EQ(r->path, "/tmp/a dir/two  spaces (deleted)");
  EXPECT_EQ(r->kind, RegionKind::file);
}

TEST(ProcMapsParser, KeepsTrailingSpacesOfAPath) {
  const auto r = lr::parse_maps_line("1000-2000 r--p 00000000 fe:00 9 /tmp/ends with space ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/tmp/ends with space ");
}

TEST(ProcMapsParser, KeepsTheKernelsNewlineEscapeVerbatim) {
  const auto r =
      lr::parse_maps_line("1000-2000 r--p 00000000 fe:00 9    /tmp/odd name\\012with newline (deleted)");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/tmp/odd name\\012with newline (deleted)");
}

TEST(ProcMapsParser, LineWithoutANameIsAnonymous) {
  for (const char* line : {"7f0000005000-7f0000006000 rw-p 00000000 00:00 0 ",  // as the kernel prints it
                           "7f0000005000-7f0000006000 rw-p 00000000 00:00 0",   // trailing space lost
                           "7f0000005000-7f0000006000 rw-p 00000000 00:00 0      "}) {
    const auto r = lr::parse_maps_line(line);
    ASSERT_TRUE(r) << line;
    EXPECT_EQ(r->path, "") << line;
    EXPECT_EQ(r->kind, RegionKind::anonymous) << line;
  }
}

TEST(ProcMapsParser, ClassifiesNames) {
  const std::vector<std::pair<std::string, RegionKind>> cases = {
      {"[heap]", RegionKind::heap},
      {"[stack]", RegionKind::stack},
      {"[vdso]", RegionKind::vdso},
      {"[vvar]", RegionKind::vdso},
      {"[vvar_vclock]", RegionKind::vdso},
      {"[vsyscall]", RegionKind::vdso},
      {"[anon:taskport test]", RegionKind::other},
      {"[anon_shmem:shared]", RegionKind::other},
      {"[uprobes]", RegionKind::other},
      {"[stack:1234]", RegionKind::other},
      {"/memfd:blob (deleted)", RegionKind::file},
      {"/dev/zero (deleted)", RegionKind::file},
      {"/SYSV00000000 (deleted)", RegionKind::file},
      {"anon_inode:[perf_event]", RegionKind::file},
      {"/usr/lib/libc.so.6", RegionKind::file},
  };
  for (const auto& [name, kind] : cases) {
    EXPECT_EQ(lr::kind_of(name), kind) << name;
    const auto r = lr::parse_maps_line("1000-2000 r--p 00000000 00:00 0                     " + name);
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(r->path, name);
    EXPECT_EQ(r->kind, kind) << name;
  }
  EXPECT_EQ(lr::kind_of(""), RegionKind::anonymous);
}

TEST(ProcMapsParser, EveryTruncationBeforeTheInodeIsRejected) {
  const std::string line = kLibcLine;
  const std::size_t inode_at = line.find("332835");
  for (std::size_t n = 0; n < line.size(); ++n) {
    const auto r = lr::parse_maps_line(line.substr(0, n));
    if (n <= inode_at) {
      EXPECT_FALSE(r) << "accepted: '" << line.substr(0, n) << "'";
    } else {
      // Cut inside the inode or the name: still a mapping, with less information.
      EXPECT_TRUE(r) << "rejected: '" << line.substr(0, n) << "'";
    }
  }
}

TEST(ProcMapsParser, RejectsMalformedFields) {
  for (const char* line : {
           "", "garbage",
           "2000-1000 r--p 00000000 00:00 0",                     // end before start
           "1000-1000 r--p 00000000 00:00 0",                     // empty
           "1000-2000 rwzp 00000000 00:00 0",                     // bad permission letter
           "1000-2000 r--q 00000000 00:00 0",                     // neither shared nor private
           "1000-2000 r--p 00000000 00:00",                       // no inode
           "1000-2000 r--p 00000000 0000 0",                      // no colon
           "1000-2000  r--p 00000000 00:00 0",                    // doubled separator
           "1000 2000 r--p 00000000 00:00 0",                     // no dash
           "0x1000-2000 r--p 00000000 00:00 0",                   // prefix
           "10000000000000000-20000000000000000 r--p 0 0:0 0",    // 17 hex digits
           "1000-2000 r--p 00000000 100000000:00 0",              // major wider than 32 bits
           "1000-2000 r--p 00000000 00:00 18446744073709551616",  // inode overflows 64 bits
           "1000-2000 r--p 00000000 00:00 12a /x",                // inode not decimal
           "1000-2000 r--p 00000000 00:00 0\t/x",                 // tab, not space
       }) {
    EXPECT_FALSE(lr::parse_maps_line(line)) << "accepted: '" << line << "'";
  }
}

TEST(ProcMapsParser, AcceptsTheLargestValues) {
  const auto r = lr::parse_maps_line(
      "fffffffffffff000-ffffffffffffffff r--p ffffffffffffffff ffffffff:ffffffff 18446744073709551615 /x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->end, UINT64_MAX);
  EXPECT_EQ(r->offset, UINT64_MAX);
  EXPECT_EQ(r->device_major, UINT32_MAX);
  EXPECT_EQ(r->device_minor, UINT32_MAX);
  EXPECT_EQ(r->inode, UINT64_MAX);
}

TEST(ProcMapsParser, SkipsAndCountsMalformedLinesAndKeepsTheRest) {
  const std::string text =
      std::string(kLibcLine) +
      "\n"
      "7f0000000000-7f00\n"
      "\n"
      "7f0000003000-7f0000004000 rw-p 00000000 00:00 0                          [anon:x]\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
  const auto parsed = lr::parse_proc_maps(text);
  ASSERT_EQ(parsed.regions.size(), 3u);
  EXPECT_EQ(parsed.malformed_lines, 2u);
  EXPECT_EQ(parsed.first_malformed, 2u);
  EXPECT_EQ(parsed.regions[1].path, "[anon:x]");
  EXPECT_EQ(parsed.regions[2].kind, RegionKind::vdso);  // last line without '\n'
}

TEST(ProcMapsParser, EmptyTextHasNoRegions) {
  const auto parsed = lr::parse_proc_maps("");
  EXPECT_TRUE(parsed.regions.empty());
  EXPECT_EQ(parsed.malformed_lines, 0u);
  EXPECT_EQ(parsed.first_malformed, 0u);
}

}  // namespace
