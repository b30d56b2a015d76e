// SPDX-License-Identifier: MIT
// Task::regions() and Task::region_at(), observed against oracles taskport
// did not write:
//   - the kernel's own /proc/<pid>/maps text, read here and parsed with
//     sscanf (independently of src/linux/proc_maps.cpp), every field;
//   - procps `pmap -X <pid>`: addresses, permissions, offset, device, inode,
//     size and mapping name;
//   - tp_regions_helper's report of what it mapped (helpers/regions_helper.cpp).
// Also: the PROCMAP_QUERY and text paths giving the same answer, an exited
// task, and a refused reader whose error explains itself. (The maps parser
// itself: proc_maps_test.cpp.)
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <taskport/taskport.hpp>

#include "linux/procmap_query.hpp"

namespace taskport {
// Readable failure messages: "7f00…-7f00… r-xp 00001000 fe:00 1234 file '/usr/lib/…'".
void PrintTo(const Region& r, std::ostream* os) {
  char head[128];
  std::snprintf(head, sizeof head, "%" PRIx64 "-%" PRIx64 " %c%c%c%c %08" PRIx64 " %02x:%02x %" PRIu64,
                r.start, r.end, r.protection.read ? 'r' : '-', r.protection.write ? 'w' : '-',
                r.protection.execute ? 'x' : '-', r.shared ? 's' : 'p', r.offset, r.device_major,
                r.device_minor, r.inode);
  *os << head << " " << to_string(r.kind) << " '" << r.path << "'";
}
}  // namespace taskport

namespace {

using namespace std::chrono_literals;
using taskport::Child;
using taskport::Command;
using taskport::Region;
using taskport::RegionKind;
using taskport::Stdio;
using taskport::Task;
namespace lr = taskport::backend;

constexpr auto kTimeout = 10s;

std::string describe(const Region& r) {
  std::ostringstream os;
  taskport::PrintTo(r, &os);
  return os.str();
}

::testing::AssertionResult same_region(const Region& a, const Region& b) {
  if (a.start == b.start && a.end == b.end && a.protection.read == b.protection.read &&
      a.protection.write == b.protection.write && a.protection.execute == b.protection.execute &&
      a.shared == b.shared && a.offset == b.offset && a.device_major == b.device_major &&
      a.device_minor == b.device_minor && a.inode == b.inode && a.path == b.path && a.kind == b.kind) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\n  got:      " << describe(a) << "\n  expected: " << describe(b);
}

::testing::AssertionResult same_regions(const std::vector<Region>& got, const std::vector<Region>& expected) {
  const std::size_t n = std::max(got.size(), expected.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (i >= got.size())
      return ::testing::AssertionFailure() << "missing region " << i << ": " << describe(expected[i]);
    if (i >= expected.size())
      return ::testing::AssertionFailure() << "extra region " << i << ": " << describe(got[i]);
    if (auto r = same_region(got[i], expected[i]); !r) return r << "\n  (region " << i << ")";
  }
  return ::testing::AssertionSuccess();
}

// ---- Oracles -----------------------------------------------------------------------

// The kinds as region.hpp specifies them, spelled out again for the oracle.
RegionKind expected_kind(const std::string& path) {
  static const std::map<std::string, RegionKind> pseudo = {
      {"[heap]", RegionKind::heap}, {"[stack]", RegionKind::stack},      {"[vdso]", RegionKind::vdso},
      {"[vvar]", RegionKind::vdso}, {"[vvar_vclock]", RegionKind::vdso}, {"[vsyscall]", RegionKind::vdso},
  };
  if (path.empty()) return RegionKind::anonymous;
  if (auto it = pseudo.find(path); it != pseudo.end()) return it->second;
  return path[0] == '[' ? RegionKind::other : RegionKind::file;
}

std::string read_file(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
    return out;
  }
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// /proc/<pid>/maps as the kernel prints it, parsed with sscanf.
std::vector<Region> maps_oracle(pid_t pid) {
  std::vector<Region> out;
  std::istringstream text(read_file("/proc/" + std::to_string(pid) + "/maps"));
  std::string line;
  while (std::getline(text, line)) {
    Region r;
    char perms[5] = {};
    unsigned major = 0, minor = 0;
    int name_at = 0;
    if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %4c %" SCNx64 " %x:%x %" SCNu64 " %n", &r.start,
                    &r.end, perms, &r.offset, &major, &minor, &r.inode, &name_at) != 7) {
      ADD_FAILURE() << "oracle cannot parse maps line: " << line;
      continue;
    }
    r.protection = {perms[0] == 'r', perms[1] == 'w', perms[2] == 'x'};
    r.shared = perms[3] == 's';
    r.device_major = major;
    r.device_minor = minor;
    r.path = line.substr(static_cast<std::size_t>(name_at));
    r.kind = expected_kind(r.path);
    out.push_back(r);
  }
  return out;
}

// Runs a shell command line with a time limit; its stdout.
std::string capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen(("timeout 30 " + command).c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "popen " << command;
    return out;
  }
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (status != 0) ADD_FAILURE() << command << " exited with status " << status;
  return out;
}

bool have_pmap() { return std::system("command -v pmap >/dev/null 2>&1") == 0; }

struct PmapRow {
  std::uint64_t address = 0;
  std::string perm, offset, device, inode, mapping;
  std::uint64_t size_kib = 0;
};

// `pmap -X <pid>`: a header naming the columns, one row per mapping, the
// Mapping column last (it may contain spaces), then a "====" line.
std::vector<PmapRow> pmap_oracle(pid_t pid) {
  std::vector<PmapRow> rows;
  std::istringstream text(capture("pmap -X " + std::to_string(pid)));
  std::string line;
  std::vector<std::string> columns;
  while (std::getline(text, line)) {
    std::istringstream in(line);
    if (columns.empty()) {
      if (line.find("Address") == std::string::npos) continue;  // "<pid>:   <command>"
      for (std::string c; in >> c;) columns.push_back(c);
      if (columns.back() != "Mapping") ADD_FAILURE() << "unexpected pmap header: " << line;
      continue;
    }
    if (line.find("====") != std::string::npos) break;
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i + 1 < columns.size(); ++i) in >> row[columns[i]];
    std::string rest;
    std::getline(in, rest);
    rest.erase(0,
               rest.find_first_not_of(' ') == std::string::npos ? rest.size() : rest.find_first_not_of(' '));
    PmapRow r;
    r.address = std::strtoull(row["Address"].c_str(), nullptr, 16);
    r.perm = row["Perm"];
    r.offset = row["Offset"];
    r.device = row["Device"];
    r.inode = row["Inode"];
    r.size_kib = std::strtoull(row["Size"].c_str(), nullptr, 10);
    r.mapping = rest;
    rows.push_back(r);
  }
  return rows;
}

// ---- Children ----------------------------------------------------------------------

// A spawned child with its Task, killed and reaped at the end of the test
// whatever happened.
struct Spawned {
  explicit Spawned(const Command& cmd) {
    auto [c, t] = cmd.spawn_with_task();
    c.kill_on_drop(true);
    child.emplace(std::move(c));
    task.emplace(std::move(t));
  }
  ~Spawned() {
    if (!child || child->status()) return;
    child->stdin_pipe().reset();
    try {
      child->kill();
    } catch (...) {
    }
    if (!child->wait_for(kTimeout)) ADD_FAILURE() << "child " << child->pid() << " did not die after SIGKILL";
  }
  pid_t pid() const { return child->pid(); }

  std::optional<Child> child;
  std::optional<Task> task;
};

// tp_regions_helper (helpers/regions_helper.cpp) and its report.
struct Helper : Spawned {
  explicit Helper(bool odd_file = false) : Spawned(command(odd_file)) {
    std::string pending;
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    for (;;) {
      const std::size_t nl = pending.find('\n');
      if (nl != std::string::npos) {
        const std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (line == "ready") return;
        std::istringstream in(line);
        std::string name, value;
        in >> name >> value;
        if (value != "-") report[name] = std::strtoull(value.c_str(), nullptr, 16);
        if (name == "known") in >> std::hex >> page;
        continue;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{child->stdout_pipe().get(), POLLIN, 0};
      char buf[512];
      ssize_t n = -1;
      if (left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) > 0) {
        n = ::read(p.fd, buf, sizeof buf);
      }
      if (n <= 0) {
        ADD_FAILURE() << "tp_regions_helper gave no complete report; got: " << pending;
        return;
      }
      pending.append(buf, static_cast<std::size_t>(n));
    }
  }

  static Command command(bool odd_file) {
    Command cmd(TP_REGIONS_HELPER);
    if (odd_file) cmd.args({"--odd-file", ::testing::TempDir()});
    cmd.standard_input(Stdio::piped()).standard_output(Stdio::piped());
    return cmd;
  }

  std::uint64_t known() const { return report.at("known"); }

  std::map<std::string, std::uint64_t> report;
  std::uint64_t page = 0;
};

Command sleeper() {
  Command cmd("/bin/sleep");
  cmd.arg("30");
  return cmd;
}

// Waits until `pid` sits in nanosleep: only then are its mappings settled.
// spawn returns once execve is past the point of no return, which is before
// the kernel has mapped the new program (and long before ld.so has loaded
// libc), so a task read right after spawn may show a half-built address space.
void wait_until_sleeping(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
  while (std::chrono::steady_clock::now() < deadline) {
    const long nr = std::strtol(read_file(path).c_str(), nullptr, 10);
    if (nr == SYS_clock_nanosleep) return;
#ifdef SYS_nanosleep  // not on aarch64
    if (nr == SYS_nanosleep) return;
#endif
    ::usleep(1000);
  }
  ADD_FAILURE() << "sleep " << pid << " never reached nanosleep";
}

// For the scope of one object, Task methods take the text path.
struct TextPathOnly {
  TextPathOnly() { lr::force_text_path_for_testing(true); }
  ~TextPathOnly() { lr::force_text_path_for_testing(false); }
};

TEST(RegionKind, HasAName) {
  EXPECT_STREQ(taskport::to_string(RegionKind::file), "file");
  EXPECT_STREQ(taskport::to_string(RegionKind::anonymous), "anonymous");
  EXPECT_STREQ(taskport::to_string(RegionKind::heap), "heap");
  EXPECT_STREQ(taskport::to_string(RegionKind::stack), "stack");
  EXPECT_STREQ(taskport::to_string(RegionKind::vdso), "vdso");
  EXPECT_STREQ(taskport::to_string(RegionKind::other), "other");
}

// ---- Task::regions() ----------------------------------------------------------------------

TEST(TaskRegions, MatchTheKernelsMapsTextFieldByField) {
  Helper helper(/*odd_file=*/true);
  EXPECT_TRUE(same_regions(helper.task->regions(), maps_oracle(helper.pid())));
}

TEST(TaskRegions, MatchTheKernelsMapsTextForSleep) {
  Spawned sleep(sleeper());
  wait_until_sleeping(sleep.pid());
  EXPECT_TRUE(same_regions(sleep.task->regions(), maps_oracle(sleep.pid())));
}

TEST(TaskRegions, MatchPmap) {
  if (!have_pmap()) GTEST_SKIP() << "procps pmap not installed";
  Helper helper(/*odd_file=*/true);
  const auto regions = helper.task->regions();
  const auto rows = pmap_oracle(helper.pid());
  ASSERT_EQ(regions.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Region& r = regions[i];
    const PmapRow& p = rows[i];
    SCOPED_TRACE(describe(r));
    EXPECT_EQ(r.start, p.address);
    EXPECT_EQ(r.size() / 1024, p.size_kib);
    const std::string perm = {r.protection.read ? 'r' : '-', r.protection.write ? 'w' : '-',
                              r.protection.execute ? 'x' : '-', r.shared ? 's' : 'p'};
    EXPECT_EQ(perm, p.perm);
    EXPECT_EQ(r.offset, std::strtoull(p.offset.c_str(), nullptr, 16));
    char device[32];
    std::snprintf(device, sizeof device, "%02x:%02x", r.device_major, r.device_minor);
    EXPECT_EQ(device, p.device);
    EXPECT_EQ(std::to_string(r.inode), p.inode);
    // pmap shows a file by its base name and anything else as printed.
    const std::string name = r.kind == RegionKind::file ? r.path.substr(r.path.rfind('/') + 1) : r.path;
    EXPECT_EQ(name, p.mapping);
  }
}

TEST(TaskRegions, ShowTheHelpersMappingsAsItMadeThem) {
  Helper helper(/*odd_file=*/true);
  const auto regions = helper.task->regions();
  const std::uint64_t known = helper.known();
  const std::uint64_t page = helper.page;
  ASSERT_NE(page, 0u);

  struct Expected {
    std::uint64_t first_page, last_page;
    bool read, write;
  };
  const Expected layout[] = {{0, 2, false, false},
                             {2, 6, true, true},
                             {6, 10, true, false},
                             {10, 18, true, true},
                             {18, 20, false, false}};
  for (const Expected& e : layout) {
    const std::uint64_t start = known + e.first_page * page;
    auto it = std::find_if(regions.begin(), regions.end(), [&](const Region& r) { return r.start == start; });
    ASSERT_NE(it, regions.end()) << "no region at page " << e.first_page;
    EXPECT_EQ(it->end, known + e.last_page * page);
    EXPECT_EQ(it->protection.read, e.read);
    EXPECT_EQ(it->protection.write, e.write);
    EXPECT_FALSE(it->protection.execute);
    EXPECT_FALSE(it->shared);
    EXPECT_EQ(it->kind, RegionKind::anonymous);
    EXPECT_EQ(it->path, "");
    EXPECT_EQ(it->inode, 0u);
  }

  if (helper.report.count("named")) {
    const auto named = helper.task->region_at(helper.report.at("named"));
    ASSERT_TRUE(named);
    EXPECT_EQ(named->path, "[anon:taskport test]");
    EXPECT_EQ(named->kind, RegionKind::other);
    EXPECT_EQ(named->size(), 2 * page);
  }

  const auto odd = helper.task->region_at(helper.report.at("odd"));
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->start, helper.report.at("odd"));
  EXPECT_EQ(odd->size(), 2 * page);
  EXPECT_TRUE(odd->shared);
  EXPECT_TRUE(odd->protection.read);
  EXPECT_FALSE(odd->protection.write);
  EXPECT_EQ(odd->kind, RegionKind::file);
  std::string dir = ::testing::TempDir();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  EXPECT_EQ(odd->path, dir + "/odd name\\012with newline." + std::to_string(helper.pid()) + " (deleted)");
  EXPECT_NE(odd->inode, 0u);

  // Address order, no overlap, and the kinds the names imply.
  for (std::size_t i = 0; i < regions.size(); ++i) {
    EXPECT_LT(regions[i].start, regions[i].end);
    if (i > 0) {
      EXPECT_LE(regions[i - 1].end, regions[i].start);
    }
    EXPECT_EQ(regions[i].kind, expected_kind(regions[i].path)) << describe(regions[i]);
  }
  const auto has = [&](RegionKind k) {
    return std::any_of(regions.begin(), regions.end(), [&](const Region& r) { return r.kind == k; });
  };
  EXPECT_TRUE(has(RegionKind::stack));
  EXPECT_TRUE(has(RegionKind::vdso));
  EXPECT_TRUE(has(RegionKind::file));
}

// ---- Task::region_at() ----------------------------------------------------------------------

TEST(TaskRegionAt, AnAddressInsideAMappingGivesThatMappingWithItsProtection) {
  Helper helper;
  const std::uint64_t page = helper.page;
  const auto r = helper.task->region_at(helper.known() + 8 * page + 123);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start, helper.known() + 6 * page);
  EXPECT_EQ(r->end, helper.known() + 10 * page);
  EXPECT_TRUE(r->protection.read);
  EXPECT_FALSE(r->protection.write);
  EXPECT_FALSE(r->protection.execute);
  EXPECT_EQ(r->kind, RegionKind::anonymous);
}

TEST(TaskRegionAt, TheBoundsOfAMappingBelongToIt) {
  Helper helper;
  const std::uint64_t start = helper.known() + 2 * helper.page;
  const std::uint64_t end = helper.known() + 6 * helper.page;
  const auto first = helper.task->region_at(start);
  const auto last = helper.task->region_at(end - 1);
  const auto after = helper.task->region_at(end);
  ASSERT_TRUE(first && last && after);
  EXPECT_EQ(first->start, start);
  EXPECT_EQ(last->start, start);
  EXPECT_EQ(after->start, end);  // the next VMA, read-only
  EXPECT_FALSE(after->protection.write);
}

TEST(TaskRegionAt, AnUnmappedAddressGivesNothing) {
  Helper helper;
  EXPECT_FALSE(helper.task->region_at(0x1000));
  EXPECT_FALSE(helper.task->region_at(0));
  EXPECT_FALSE(helper.task->region_at(UINT64_MAX));
  TextPathOnly text;
  EXPECT_FALSE(helper.task->region_at(0x1000));
}

// ---- The two paths ----------------------------------------------------------------------

// Addresses worth asking about: both ends and the middle of every mapping,
// the gaps between them, and a few outside everything.
std::vector<std::uint64_t> probe_addresses(const std::vector<Region>& regions) {
  std::vector<std::uint64_t> out = {
      0, 0x1000, UINT64_MAX, 0xffffffffff600000, 0xffffffffff600fff, 0xffffffffff601000};
  for (const Region& r : regions) {
    out.insert(out.end(), {r.start, r.start + r.size() / 2, r.end - 1, r.end});
    if (r.start > 0) out.push_back(r.start - 1);
  }
  return out;
}

TEST(TaskRegionsPaths, ProcmapQueryAndTextGiveTheSameAnswers) {
  Helper helper(/*odd_file=*/true);
  const Task& task = *helper.task;
  const auto by_query = task.regions();
  std::vector<std::optional<Region>> at_by_query;
  const auto addresses = probe_addresses(by_query);
  for (std::uint64_t a : addresses) at_by_query.push_back(task.region_at(a));

  TextPathOnly text;
  EXPECT_TRUE(same_regions(by_query, task.regions()));
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const auto by_text = task.region_at(addresses[i]);
    SCOPED_TRACE("region_at(0x" + [&] {
      std::ostringstream os;
      os << std::hex << addresses[i];
      return os.str();
    }() + ")");
    ASSERT_EQ(at_by_query[i].has_value(), by_text.has_value());
    if (by_text) {
      EXPECT_TRUE(same_region(*at_by_query[i], *by_text));
    }
  }
}

// PROCMAP_QUERY appeared in Linux 6.11.
bool kernel_has_procmap_query() {
  utsname u{};
  int major = 0, minor = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) {
    ADD_FAILURE() << "cannot tell the kernel version";
  }
  return major > 6 || (major == 6 && minor >= 11);
}

TEST(TaskRegionsPaths, ProcmapQueryIsUsedWhenTheKernelHasIt) {
  Spawned sleep(sleeper());
  (void)sleep.task->regions();
  ASSERT_TRUE(lr::procmap_query_supported().has_value());
  EXPECT_EQ(*lr::procmap_query_supported(), kernel_has_procmap_query());
}

TEST(TaskRegionsPaths, AKernelWithoutTheIoctlIsRememberedAndSendsCallersToTheText) {
  // /proc/self/status has no ioctl at all: ENOTTY, as a pre-6.11 maps file.
  const int status = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(status, 0);
  std::vector<Region> regions;
  std::optional<Region> region;
  int error = 0;
  EXPECT_EQ(lr::query_regions(status, regions, error), lr::QueryStatus::unavailable);
  EXPECT_EQ(lr::procmap_query_supported(), std::optional<bool>(false));
  ::close(status);

  // Remembered: even a real maps file is not asked again...
  const int maps = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(maps, 0);
  EXPECT_EQ(lr::query_region_at(maps, 0x1000, region, error), lr::QueryStatus::unavailable);
  // ...until the probe is reset.
  lr::force_text_path_for_testing(false);
  if (kernel_has_procmap_query()) {
    EXPECT_EQ(lr::query_regions(maps, regions, error), lr::QueryStatus::ok);
    EXPECT_FALSE(regions.empty());
  }
  ::close(maps);
}

// ---- A task that is gone ----------------------------------------------------------------------

TEST(TaskRegions, AnExitedTaskIsReportedAsGone) {
  Spawned sleep(sleeper());
  const Task& task = *sleep.task;
  sleep.child->kill();
  pollfd p{task.exit_fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);  // exited, not reaped: a zombie

  const auto expect_gone = [&](const char* when) {
    SCOPED_TRACE(when);
    try {
      (void)task.regions();
      ADD_FAILURE() << "regions() of an exited task returned";
    } catch (const taskport::Error& e) {
      EXPECT_EQ(e.errno_value(), ESRCH) << e.what();
      EXPECT_EQ(e.step(), taskport::Step::read_regions);
    }
    try {
      (void)task.region_at(0x1000);
      ADD_FAILURE() << "region_at() of an exited task returned";
    } catch (const taskport::Error& e) {
      EXPECT_EQ(e.errno_value(), ESRCH) << e.what();
    }
  };
  expect_gone("zombie, PROCMAP_QUERY");
  {
    TextPathOnly text;
    expect_gone("zombie, text");
  }
  ASSERT_TRUE(sleep.child->wait_for(kTimeout));
  expect_gone("reaped");
}

// ---- Refused access ----------------------------------------------------------------------

// Runs `body` in a forked copy of this process after it became uid/gid 1000
// (which, from root, clears every capability). Returns what body returned,
// or what went wrong. The copy is killed if it takes longer than kTimeout.
std::string as_unprivileged_subprocess(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe2 failed";
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    // Only this thread exists here; no gtest assertions, leave by _exit.
    ::close(fds[0]);
    std::string result;
    if (::setgroups(0, nullptr) != 0 || ::setresgid(1000, 1000, 1000) != 0 ||
        ::setresuid(1000, 1000, 1000) != 0) {
      result = std::string("dropping privileges failed: ") + std::strerror(errno);
    } else if (read_file("/proc/self/status").find("CapEff:\t0000000000000000") == std::string::npos) {
      result = "capabilities survived the uid change";
    } else {
      try {
        result = body();
      } catch (const std::exception& e) {
        result = std::string("exception: ") + e.what();
      }
    }
    (void)!::write(fds[1], result.data(), result.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string result;
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fds[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      ::kill(pid, SIGKILL);
      result = "timeout";
      break;
    }
    char buf[1024];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    result.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return result;
}

TEST(TaskRegions, ARefusedReaderGetsAnErrorThatExplainsTheUidMismatch) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make a child run as another uid";
  Command cmd = sleeper();
  cmd.pre_exec([] {
    // Raw system calls: glibc's setresuid would signal the parent's threads.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) return errno;
    if (::syscall(SYS_setresgid, 65534, 65534, 65534) != 0) return errno;
    if (::syscall(SYS_setresuid, 65534, 65534, 65534) != 0) return errno;
    return 0;
  });
  Spawned nobody(cmd);
  const Task& task = *nobody.task;
  ASSERT_FALSE(task.regions().empty()) << "root with CAP_SYS_PTRACE must be allowed";

  for (const bool text_path : {false, true}) {
    SCOPED_TRACE(text_path ? "text path" : "PROCMAP_QUERY path");
    std::optional<TextPathOnly> text;
    if (text_path) text.emplace();
    const std::string result = as_unprivileged_subprocess([&]() -> std::string {
      try {
        (void)task.regions();
        return "regions() succeeded";
      } catch (const taskport::Error& e) {
        return "errno " + std::to_string(e.errno_value()) + " step " + taskport::to_string(e.step()) + ": " +
               e.what();
      }
    });
    EXPECT_TRUE(result.rfind("errno " + std::to_string(EACCES) + " ", 0) == 0 ||
                result.rfind("errno " + std::to_string(EPERM) + " ", 0) == 0)
        << result;
    EXPECT_NE(result.find("uid 65534"), std::string::npos) << result;
    EXPECT_NE(result.find("uid 1000"), std::string::npos) << result;
    EXPECT_NE(result.find("CAP_SYS_PTRACE"), std::string::npos) << result;
  }
}

}  // namespace
