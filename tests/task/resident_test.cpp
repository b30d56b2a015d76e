// SPDX-License-Identifier: MIT
// Task::regions_with_resident_size(), observed against what the helper
// touched (helpers/resident_helper.cpp) and against the kernel's own
// /proc/<pid>/smaps read here and parsed with sscanf (independently of
// src/linux/proc_smaps.cpp); and regions() staying without resident sizes.
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <taskport/taskport.hpp>

namespace {

using namespace std::chrono_literals;
using taskport::Command;
using taskport::Region;
using taskport::Stdio;

constexpr auto kTimeout = 10s;

// tp_resident_helper, its report, and its end (stdin closed, then SIGKILL
// if it is still there).
struct Helper {
  Helper() {
    Command cmd(TP_RESIDENT_HELPER);
    cmd.standard_input(Stdio::piped()).standard_output(Stdio::piped());
    auto [c, t] = cmd.spawn_with_task();
    c.kill_on_drop(true);
    child.emplace(std::move(c));
    task.emplace(std::move(t));
    const std::string text = read_report();
    if (std::sscanf(text.c_str(), "block %" SCNx64 " %" SCNx64, &block, &page) != 2) {
      ADD_FAILURE() << "tp_resident_helper reported: " << text;
    }
  }
  ~Helper() {
    child->stdin_pipe().reset();
    if (!child->wait_for(kTimeout)) child->kill();
  }

  // Everything up to "ready\n", bounded by kTimeout.
  std::string read_report() {
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (text.find("ready\n") == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{child->stdout_pipe().get(), POLLIN, 0};
      char buf[256];
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n = ::read(p.fd, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    return text;
  }

  std::optional<taskport::Child> child;
  std::optional<taskport::Task> task;
  std::uint64_t block = 0;
  std::uint64_t page = 0;
};

// start -> Rss in bytes, from /proc/<pid>/smaps parsed with sscanf.
std::vector<std::pair<std::uint64_t, std::uint64_t>> smaps_oracle(pid_t pid) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/smaps").c_str(), "re");
  if (f == nullptr) {
    ADD_FAILURE() << "open smaps of " << pid;
    return out;
  }
  char line[8192];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::uint64_t start = 0, end = 0, kib = 0;
    if (std::sscanf(line, "%" SCNx64 "-%" SCNx64 " ", &start, &end) == 2) out.emplace_back(start, 0);
    else if (std::sscanf(line, "Rss: %" SCNu64 " kB", &kib) == 1 && !out.empty())
      out.back().second = kib * 1024;
  }
  std::fclose(f);
  return out;
}

const Region* find_start(const std::vector<Region>& regions, std::uint64_t start) {
  auto it = std::find_if(regions.begin(), regions.end(), [&](const Region& r) { return r.start == start; });
  return it == regions.end() ? nullptr : &*it;
}

TEST(TaskResidentSize, CountsExactlyThePagesTheTaskTouched) {
  Helper helper;
  ASSERT_NE(helper.page, 0u);
  const auto regions = helper.task->regions_with_resident_size();
  const Region* block = find_start(regions, helper.block);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->size(), 16 * helper.page);
  ASSERT_TRUE(block->resident_bytes);
  EXPECT_EQ(*block->resident_bytes, 5 * helper.page);
  const Region* guard = find_start(regions, helper.block - helper.page);
  ASSERT_NE(guard, nullptr);
  EXPECT_EQ(guard->resident_bytes, std::optional<std::uint64_t>(0));
}

TEST(TaskResidentSize, MatchesTheKernelsSmapsForEveryMapping) {
  Helper helper;
  const auto regions = helper.task->regions_with_resident_size();
  const auto oracle = smaps_oracle(helper.child->pid());
  ASSERT_EQ(regions.size(), oracle.size());
  for (std::size_t i = 0; i < regions.size(); ++i) {
    EXPECT_EQ(regions[i].start, oracle[i].first) << "mapping " << i;
    EXPECT_EQ(regions[i].resident_bytes, std::optional<std::uint64_t>(oracle[i].second)) << "mapping " << i;
  }
}

TEST(TaskResidentSize, GivesTheSameMappingsAsRegionsWhichLeavesResidentSizesAbsent) {
  Helper helper;
  const auto plain = helper.task->regions();
  const auto sized = helper.task->regions_with_resident_size();
  ASSERT_EQ(plain.size(), sized.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    EXPECT_FALSE(plain[i].resident_bytes) << "regions() mapping " << i;
    EXPECT_TRUE(sized[i].resident_bytes) << "mapping " << i;
    EXPECT_EQ(plain[i].start, sized[i].start);
    EXPECT_EQ(plain[i].end, sized[i].end);
    EXPECT_EQ(plain[i].offset, sized[i].offset);
    EXPECT_EQ(plain[i].inode, sized[i].inode);
    EXPECT_EQ(plain[i].path, sized[i].path);
    EXPECT_EQ(plain[i].kind, sized[i].kind);
  }
  const auto at = helper.task->region_at(helper.block);
  ASSERT_TRUE(at);
  EXPECT_FALSE(at->resident_bytes);
}

TEST(TaskResidentSize, AnExitedTaskIsReportedAsGone) {
  Helper helper;
  helper.child->kill();
  pollfd p{helper.task->exit_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);  // exited, not reaped: a zombie
  try {
    (void)helper.task->regions_with_resident_size();
    ADD_FAILURE() << "regions_with_resident_size() of an exited task returned";
  } catch (const taskport::Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH) << e.what();
    EXPECT_EQ(e.step(), taskport::Step::read_regions);
  }
}

}  // namespace
