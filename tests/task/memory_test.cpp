// SPDX-License-Identifier: MIT
// Task::read, read_value, read_many and write, checked against what the
// target reads with its own loads, against gdb, and under the conditions a
// reader meets in practice: unmapped and unreadable pages, a task that has
// exited, seccomp refusing process_vm_readv, another uid, a non-dumpable
// target.
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "task_support.hpp"

using namespace tp_task;
using taskport::Error;
using taskport::ReadRequest;
using taskport::Step;
using Bytes = std::vector<unsigned char>;

namespace {

constexpr uid_t kReaderUid = 1000;
constexpr uid_t kNobody = 65534;

// Runs `f`, which must throw taskport::Error; returns it (or records a
// failure and returns an Error with errno 0).
template <class F>
Error error_from(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no taskport::Error was thrown";
  return Error(0, Step::read_memory, "");
}

Bytes read_bytes(const taskport::Task& task, std::uint64_t address, size_t size) {
  Bytes out(size);
  task.read(address, out.data(), size);
  return out;
}

}  // namespace

// ---- read ------------------------------------------------------------------------------

TEST(TaskRead, ReturnsTheBytesTheTaskSeesItself) {
  Target t;
  const std::uint64_t buffer = t.address("buffer");
  EXPECT_EQ(read_bytes(t.task(), buffer, t.buffer_size()), t.own_bytes(buffer, t.buffer_size()));
}

TEST(TaskRead, ReadValueReadsOneObject) {
  Target t;
  const std::uint64_t at = t.address("buffer") + 40;
  const Bytes own = t.own_bytes(at, 8);
  std::uint64_t expected;
  std::memcpy(&expected, own.data(), 8);
  EXPECT_EQ(t.task().read_value<std::uint64_t>(at), expected);
}

TEST(TaskRead, AgreesWithGdb) {
  if (!have_program("gdb")) GTEST_SKIP() << "gdb not installed";
  Target t;
  const std::uint64_t at = t.address("buffer") + 1000;
  const Bytes ours = read_bytes(t.task(), at, 16);
  // gdb attaches with ptrace, prints, detaches; the target runs on.
  const std::string out =
      run_capture({"gdb", "-nx", "-batch", "-p", std::to_string(t.pid()), "-ex", "x/16xb " + hex(at)});
  Bytes gdb;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    // Only the dump lines: "0x<address>:<TAB>0x.. 0x.. …" (gdb also prints
    // the frame it stopped in, which may start with an address too).
    const size_t colon = line.find(':');
    if (colon == std::string::npos || line.compare(0, 2, "0x") != 0 ||
        line.find_first_not_of("0123456789abcdef", 2) != colon) {
      continue;
    }
    std::istringstream words(line.substr(colon + 1));
    std::string word;
    while (words >> word) gdb.push_back(static_cast<unsigned char>(std::stoul(word, nullptr, 16)));
  }
  EXPECT_EQ(gdb, ours) << "gdb said:\n" << out;
  EXPECT_TRUE(t.task().is_alive());
}

TEST(TaskRead, ZeroBytesIsANoOp) {
  Target t;
  EXPECT_NO_THROW(t.task().read(t.address("hole"), nullptr, 0));
}

TEST(TaskRead, UnmappedAddressThrowsEfaultNamingTheRange) {
  Target t;
  const std::uint64_t hole = t.address("hole");
  unsigned char buf[8];
  const Error e = error_from([&] { t.task().read(hole, buf, 8); });
  EXPECT_EQ(e.errno_value(), EFAULT);
  EXPECT_EQ(e.step(), Step::read_memory);
  EXPECT_NE(std::string(e.what()).find(hex(hole) + "+8"), std::string::npos) << e.what();
}

TEST(TaskRead, PageWithoutReadPermissionThrowsEfault) {
  Target t;
  unsigned char buf[8];
  EXPECT_EQ(error_from([&] { t.task().read(t.address("noaccess"), buf, 8); }).errno_value(), EFAULT);
}

TEST(TaskRead, RangeRunningIntoAnUnmappedPageSaysHowMuchIsReadable) {
  Target t;
  unsigned char buf[16];
  const Error e = error_from([&] { t.task().read(t.address("hole") - 4, buf, 16); });
  EXPECT_EQ(e.errno_value(), EFAULT);
  EXPECT_NE(std::string(e.what()).find("first 4 bytes"), std::string::npos) << e.what();
}

TEST(TaskRead, AddressBeyondUserSpaceThrowsEfault) {
  Target t;
  unsigned char buf[8];
  EXPECT_EQ(error_from([&] { t.task().read(0xffffffffffffff00ULL, buf, 8); }).errno_value(), EFAULT);
  EXPECT_EQ(error_from([&] { t.task().read(0xfffffffffffffffcULL, buf, 8); }).errno_value(), EFAULT);
}

TEST(TaskRead, ExitedTaskThrowsEsrchSayingSo) {
  Target t;
  const std::uint64_t buffer = t.address("buffer");
  t.exit_to_zombie();
  unsigned char buf[8];
  const Error e = error_from([&] { t.task().read(buffer, buf, 8); });
  EXPECT_EQ(e.errno_value(), ESRCH);
  EXPECT_NE(std::string(e.what()).find("exited"), std::string::npos) << e.what();
}

TEST(TaskRead, ReapedTaskThrowsEsrch) {
  Target t;
  const std::uint64_t buffer = t.address("buffer");
  t.exit_and_reap();
  unsigned char buf[8];
  const Error e = error_from([&] { t.task().read(buffer, buf, 8); });
  EXPECT_EQ(e.errno_value(), ESRCH);
  EXPECT_NE(std::string(e.what()).find("exited"), std::string::npos) << e.what();
}

// ---- read_many -------------------------------------------------------------------------

TEST(TaskReadMany, ReadsTenThousandScatteredRangesAndFlagsTheBadOnes) {
  Target t;
  const std::uint64_t buffer = t.address("buffer");
  const std::uint64_t hole = t.address("hole");
  const std::uint64_t noaccess = t.address("noaccess");
  const Bytes truth = t.own_bytes(buffer, t.buffer_size());
  const Bytes before_hole = t.own_bytes(hole - 4, 4);

  constexpr size_t kCount = 10000;
  std::mt19937_64 rng(12345);
  std::vector<ReadRequest> requests(kCount);
  std::vector<unsigned char> out(kCount * 8, 0xAA);
  enum Kind { good, unmapped, unreadable, straddling };
  std::vector<Kind> kinds(kCount, good);
  for (size_t i = 0; i < kCount; ++i) {
    ReadRequest& r = requests[i];
    r.buffer = &out[i * 8];
    r.size = 8;
    const unsigned pick = static_cast<unsigned>(rng() % 100);
    if (pick < 3) {
      kinds[i] = unmapped;
      r.address = hole + rng() % 4088;
    } else if (pick < 5) {
      kinds[i] = unreadable;
      r.address = noaccess + rng() % 4088;
    } else if (pick < 6) {
      kinds[i] = straddling;
      r.address = hole - 4;
    } else {
      r.address = buffer + rng() % (t.buffer_size() - 8);
    }
  }

  const size_t complete = t.task().read_many(requests);

  size_t expected_complete = 0;
  for (size_t i = 0; i < kCount; ++i) {
    const ReadRequest& r = requests[i];
    SCOPED_TRACE("request " + std::to_string(i) + " at " + hex(r.address));
    switch (kinds[i]) {
      case good:
        ++expected_complete;
        ASSERT_TRUE(r.ok()) << "error " << r.error << " bytes " << r.bytes_read;
        ASSERT_EQ(0, std::memcmp(r.buffer, &truth[r.address - buffer], 8));
        break;
      case unmapped:
      case unreadable:
        ASSERT_EQ(r.error, EFAULT);
        ASSERT_EQ(r.bytes_read, 0u);
        break;
      case straddling:
        ASSERT_EQ(r.error, EFAULT);
        ASSERT_EQ(r.bytes_read, 4u);
        ASSERT_EQ(0, std::memcmp(r.buffer, before_hole.data(), 4));
        break;
    }
  }
  EXPECT_EQ(complete, expected_complete);
}

TEST(TaskReadMany, AFailingRangeDoesNotDisturbItsNeighbours) {
  Target t;
  const std::uint64_t buffer = t.address("buffer");
  const std::uint64_t hole = t.address("hole");
  const Bytes truth = t.own_bytes(buffer, 64);
  unsigned char out[5][16] = {};
  std::vector<ReadRequest> r(5);
  const std::uint64_t addresses[5] = {buffer, hole, buffer + 16, hole - 8, buffer + 32};
  for (size_t i = 0; i < 5; ++i) {
    r[i].address = addresses[i];
    r[i].buffer = out[i];
    r[i].size = 16;
  }
  EXPECT_EQ(t.task().read_many(r), 3u);
  EXPECT_TRUE(r[0].ok());
  EXPECT_EQ(r[1].error, EFAULT);
  EXPECT_EQ(r[1].bytes_read, 0u);
  EXPECT_TRUE(r[2].ok());
  EXPECT_EQ(r[3].error, EFAULT);
  EXPECT_EQ(r[3].bytes_read, 8u);
  EXPECT_TRUE(r[4].ok());
  EXPECT_EQ(0, std::memcmp(out[0], &truth[0], 16));
  EXPECT_EQ(0, std::memcmp(out[2], &truth[16], 16));
  EXPECT_EQ(0, std::memcmp(out[4], &truth[32], 16));
}

TEST(TaskReadMany, EmptyRequestsAreCompleteAndCostNothing) {
  Target t;
  std::vector<ReadRequest> r(3);
  r[1].address = t.address("hole");  // size 0: never touched
  EXPECT_EQ(t.task().read_many(r), 3u);
  for (const ReadRequest& q : r) EXPECT_TRUE(q.ok());
  EXPECT_EQ(t.task().read_many(nullptr, 0), 0u);
}

TEST(TaskReadMany, ResultsAreResetOnEveryCall) {
  Target t;
  unsigned char out[8];
  std::vector<ReadRequest> r(1);
  r[0].address = t.address("buffer");
  r[0].buffer = out;
  r[0].size = 8;
  r[0].error = EIO;  // stale values from an earlier use
  r[0].bytes_read = 99;
  EXPECT_EQ(t.task().read_many(r), 1u);
  EXPECT_TRUE(r[0].ok());
}

TEST(TaskReadMany, ExitedTaskThrowsEsrch) {
  Target t;
  const std::uint64_t buffer = t.address("buffer");
  t.exit_to_zombie();
  unsigned char out[8];
  std::vector<ReadRequest> r(1);
  r[0].address = buffer;
  r[0].buffer = out;
  r[0].size = 8;
  EXPECT_EQ(error_from([&] { t.task().read_many(r); }).errno_value(), ESRCH);
}

// What one read of [address, address+size) in the target's "large" region
// (or elsewhere) must give: the bytes readable from the start (the region up
// to its unmapped page, or its end) and EFAULT if that is short of size.
struct LargeModel {
  std::uint64_t start, hole, end;  // the region, its unmapped page, its end
  std::uint64_t noaccess;
  size_t readable(const ReadRequest& r) const {
    if (r.address < start || r.address >= end) return 0;  // noaccess, impossible
    if (r.address >= hole && r.address < hole + 4096) return 0;
    const std::uint64_t stop = r.address < hole ? hole : end;
    return static_cast<size_t>(std::min<std::uint64_t>(r.size, stop - r.address));
  }
};

// Requests of every shape the fast path treats differently, in random
// order: many small ones sharing pages (spans), page-crossing and wider than
// a page (iovecs of their own), duplicates and overlaps, ranges running into
// the unmapped page or inside it, PROT_NONE, empty, and ranges no mapping
// can hold.
std::vector<ReadRequest> random_requests(const LargeModel& m, size_t count, std::mt19937_64& rng,
                                         std::vector<unsigned char>& arena) {
  std::vector<ReadRequest> requests(count);
  std::vector<size_t> offsets(count);
  const std::uint64_t length = m.end - m.start;
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    ReadRequest& r = requests[i];
    const unsigned pick = static_cast<unsigned>(rng() % 100);
    if (pick < 50) {
      static constexpr size_t kSmall[] = {1, 2, 4, 8, 8, 8, 16, 24};
      r.size = (pick < 40) ? kSmall[rng() % 8] : 1 + rng() % 64;
      r.address = m.start + rng() % (length - r.size);
    } else if (pick < 60) {
      r.size = 1 + rng() % (3 * 4096 + 100);
      r.address = m.start + rng() % (length - r.size);
    } else if (pick < 68 && i > 0) {
      const ReadRequest& earlier = requests[rng() % i];
      r.address = earlier.address + (rng() % 2) * (earlier.size / 2);
      r.size = std::max<size_t>(1, earlier.size - (earlier.size / 2));
    } else if (pick < 73) {
      r.address = m.hole - 1 - rng() % 200;
      r.size = static_cast<size_t>(m.hole - r.address) + 1 + rng() % 300;
    } else if (pick < 77) {
      r.size = 1 + rng() % 64;
      r.address = m.hole + rng() % (4096 - r.size);
    } else if (pick < 80) {
      r.size = 8;
      r.address = m.noaccess + rng() % 4088;
    } else if (pick < 83) {
      r.size = 0;
      r.address = (rng() % 2) ? m.hole : m.start + rng() % length;
    } else if (pick < 85) {
      r.size = 16;
      r.address = ~std::uint64_t{0} - rng() % 10;
    } else {
      const std::uint64_t page = m.start + (1 + rng() % (length / 4096 - 1)) * 4096;
      r.size = 2 + rng() % 30;
      r.address = page - 1 - rng() % (r.size - 1);
      if (r.address + r.size > m.end) r.address = m.end - r.size;
    }
    offsets[i] = total;
    total += r.size;
  }
  arena.assign(total + 1, 0xAA);
  for (size_t i = 0; i < count; ++i) requests[i].buffer = arena.data() + offsets[i];
  return requests;
}

// read_many gives every request what a read of it alone would give, whatever
// the mix: checked against the target's own bytes for counts around the
// batch size (1024), past the radix sort's widest digit (65536) and past
// the per-thread plan's kept size, calls whose spans fill the 128 KiB
// scratch many times over, and the same plan reused from call to call.
TEST(TaskReadMany, GivesEachRequestWhatASeparateReadWouldForRandomMixes) {
  Target t;
  LargeModel m;
  m.start = t.address("large");
  m.end = m.start + t.size("large");
  m.hole = t.address("large_hole");
  m.noaccess = t.address("noaccess");
  ASSERT_GT(m.hole, m.start);
  ASSERT_LT(m.hole + 4096, m.end);
  Bytes truth = t.own_bytes(m.start, static_cast<size_t>(m.hole - m.start));
  const Bytes after = t.own_bytes(m.hole + 4096, static_cast<size_t>(m.end - m.hole - 4096));
  truth.resize(truth.size() + 4096, 0);
  truth.insert(truth.end(), after.begin(), after.end());
  ASSERT_EQ(truth.size(), m.end - m.start);

  std::mt19937_64 rng(20261201);
  for (const size_t count : {1, 2, 7, 300, 1024, 1025, 4000, 40000, 70000, 3000}) {
    SCOPED_TRACE("count " + std::to_string(count));
    std::vector<unsigned char> arena;
    std::vector<ReadRequest> requests = random_requests(m, count, rng, arena);
    for (int round = 0; round < 2; ++round) {  // the second call reuses the results and the plan
      const size_t complete = t.task().read_many(requests);
      size_t expected_complete = 0;
      for (size_t i = 0; i < count; ++i) {
        const ReadRequest& r = requests[i];
        const size_t want = m.readable(r);
        SCOPED_TRACE("request " + std::to_string(i) + " " + hex(r.address) + "+" + std::to_string(r.size));
        ASSERT_EQ(r.bytes_read, want);
        ASSERT_EQ(r.error, want == r.size ? 0 : EFAULT);
        if (want == r.size) ++expected_complete;
        if (want > 0) {
          ASSERT_EQ(0, std::memcmp(r.buffer, &truth[r.address - m.start], want));
        }
      }
      EXPECT_EQ(complete, expected_complete);
      EXPECT_EQ(arena.back(), 0xAA) << "a write past the last buffer";
    }
  }
}

// One read_many of 10,000 ranges (100 of them unmapped) must batch: at most
// 1024 iovecs per process_vm_readv (the kernel's limit), ranges that share a
// page read as one iovec, plus at most two calls per failing range (the
// batch that stops at it, the call that fails on it). Counted by strace on a
// small driver program.
TEST(TaskReadMany, BatchesAtMost1024RangesPerSystemCall) {
  if (!have_program("strace")) GTEST_SKIP() << "strace not installed";
  tp_test::TempDir dir;
  const std::string log = dir / "strace.log";
  const std::string out = run_capture({"strace", "-f", "-qq", "-e", "trace=process_vm_readv", "-o", log,
                                       read_many_driver_path(), target_path(), "10000"});
  EXPECT_NE(out.find("complete 9900 failed 100"), std::string::npos) << out;
  std::ifstream in(log);
  std::string line;
  size_t calls = 0, first_call_iovecs = 0;
  // process_vm_readv(pid, [local...], liovcnt, [remote...], riovcnt, 0) = n
  const std::regex counts(R"(\],\s*(\d+),\s*\[.*\],\s*(\d+),\s*0\))");
  while (std::getline(in, line)) {
    if (line.find("process_vm_readv(") == std::string::npos) continue;
    ++calls;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, counts)) << line;
    EXPECT_LE(std::stoul(m[1]), 1024u) << line;
    EXPECT_LE(std::stoul(m[2]), 1024u) << line;
    if (calls == 1) first_call_iovecs = std::stoul(m[2]);
  }
  // The driver's ranges lie in 16 pages of the buffer and the hole's page;
  // the first call sends one span per page, plus the ~20 ranges that cross
  // a page boundary, each alone (49 measured), where one iovec per range
  // would be 1024.
  EXPECT_LE(first_call_iovecs, 64u);
  EXPECT_GE(calls, 1u);
  EXPECT_LE(calls, (10000u + 1023u) / 1024u + 2 * 100u + 1u);
}

// ---- a main thread that has exited --------------------------------------------------

// Waits (bounded) until the target's main thread is a zombie: it has ended
// while another thread runs on.
bool main_thread_is_a_zombie(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + tp_test::kLong;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// A thread of `pid` other than its main one (0 if none).
pid_t other_thread(pid_t pid) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    const pid_t tid = static_cast<pid_t>(std::stol(entry.path().filename().string()));
    if (tid != pid) return tid;
  }
  return 0;
}

// Once the main thread has ended, the pid's own routes to the memory show
// nothing (process_vm_readv of the pid: ESRCH; /proc/<pid>/mem reads
// nothing; /proc/<pid>/maps, smaps, cmdline and environ are empty, exe and
// cwd are gone), though the process and its memory live on: reads, writes,
// the regions and what the process is go through another of its threads,
// checked against what the target's live thread reads itself and what its
// /proc/<pid>/task/<tid> shows.
TEST(TaskMainThreadExited, ReadsWritesAndRegionsGoThroughAnotherThread) {
  Target t({"--main-exits"});
  ASSERT_TRUE(main_thread_is_a_zombie(t.pid()));
  const std::uint64_t buffer = t.address("buffer");
  std::uint64_t raw = 0;
  iovec local{&raw, 8}, remote{reinterpret_cast<void*>(static_cast<std::uintptr_t>(buffer)), 8};
  ASSERT_EQ(::process_vm_readv(t.pid(), &local, 1, &remote, 1, 0), -1) << "the pid still reads";
  ASSERT_EQ(errno, ESRCH);

  EXPECT_EQ(read_bytes(t.task(), buffer, 64), t.own_bytes(buffer, 64));
  std::vector<ReadRequest> r(2);
  unsigned char out[2][16] = {};
  r[0] = {buffer + 16, out[0], 16};
  r[1] = {t.address("hole"), out[1], 16};
  EXPECT_EQ(t.task().read_many(r), 1u);
  EXPECT_TRUE(r[0].ok());
  EXPECT_EQ(Bytes(out[0], out[0] + 16), t.own_bytes(buffer + 16, 16));
  EXPECT_EQ(r[1].error, EFAULT);

  const Bytes data = {0x5a, 0xa5, 0x0f};
  t.task().write(buffer + 200, data.data(), data.size());
  EXPECT_EQ(t.own_bytes(buffer + 200, data.size()), data);

  const auto contains_buffer = [&](const std::vector<taskport::Region>& regions) {
    return std::any_of(regions.begin(), regions.end(),
                       [&](const taskport::Region& g) { return g.contains(buffer); });
  };
  EXPECT_TRUE(contains_buffer(t.task().regions()));
  const auto at = t.task().region_at(buffer);
  ASSERT_TRUE(at.has_value());
  EXPECT_TRUE(at->contains(buffer));
  EXPECT_TRUE(contains_buffer(t.task().regions_with_resident_size()));

  // What the process is: its program, arguments, directory and environment.
  EXPECT_EQ(t.task().executable(), std::filesystem::canonical("/proc/" + std::to_string(t.pid()) + "/task/" +
                                                              std::to_string(other_thread(t.pid())) + "/exe")
                                       .string());
  const std::vector<std::string> argv = t.task().command_line();
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv.back(), "--main-exits");
  EXPECT_EQ(t.task().current_dir(), std::filesystem::current_path().string());
  EXPECT_FALSE(t.task().environment().empty());
}

// The same for a Task opened by pid after the main thread ended, starting
// with a write.
TEST(TaskMainThreadExited, ATaskOpenedByPidReadsThroughAnotherThread) {
  Target t({"--main-exits"});
  ASSERT_TRUE(main_thread_is_a_zombie(t.pid()));
  const std::uint64_t buffer = t.address("buffer");
  taskport::Task opened = taskport::Task::open(t.pid());
  // A write first: its /proc/<pid>/mem writes nothing, then so does the
  // same file opened again, then another thread's takes it.
  const Bytes data = {0x11, 0x22, 0x33, 0x44};
  opened.write(buffer + 300, data.data(), data.size());
  EXPECT_EQ(t.own_bytes(buffer + 300, data.size()), data);
  EXPECT_EQ(read_bytes(opened, buffer, 32), t.own_bytes(buffer, 32));
  ASSERT_TRUE(opened.region_at(buffer).has_value());
}

// ---- write -----------------------------------------------------------------------------

TEST(TaskWrite, TheTaskSeesTheNewBytes) {
  Target t;
  const std::uint64_t at = t.address("buffer") + 100;
  const Bytes data = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03};
  t.task().write(at, data.data(), data.size());
  EXPECT_EQ(t.own_bytes(at, data.size()), data);
  EXPECT_EQ(read_bytes(t.task(), at, data.size()), data);
}

TEST(TaskWrite, WritesIntoAReadOnlyPage) {
  Target t;
  const std::uint64_t at = t.address("readonly") + 8;
  const Bytes data = {1, 2, 3, 4};
  t.task().write(at, data.data(), data.size());
  EXPECT_EQ(t.own_bytes(at, data.size()), data);
}

TEST(TaskWrite, WritesIntoProgramTextLikeABreakpoint) {
  Target t;
  const std::uint64_t at = t.address("code");
#if defined(__x86_64__)
  const Bytes trap = {0xcc};  // int3
#else
  const Bytes trap = {0x00, 0x00, 0x20, 0xd4};  // brk #0
#endif
  const Bytes original = read_bytes(t.task(), at, trap.size());
  t.task().write(at, trap.data(), trap.size());
  EXPECT_EQ(t.own_bytes(at, trap.size()), trap);
  t.task().write(at, original.data(), original.size());
  EXPECT_EQ(t.own_bytes(at, trap.size()), original);
}

TEST(TaskWrite, UnmappedAddressThrowsEfaultNamingTheRange) {
  Target t;
  const std::uint64_t hole = t.address("hole");
  const unsigned char data[4] = {};
  const Error e = error_from([&] { t.task().write(hole, data, 4); });
  EXPECT_EQ(e.errno_value(), EFAULT);
  EXPECT_EQ(e.step(), Step::write_memory);
  EXPECT_NE(std::string(e.what()).find(hex(hole) + "+4"), std::string::npos) << e.what();
}

TEST(TaskWrite, ExitedTaskThrowsEsrch) {
  Target t;
  const std::uint64_t buffer = t.address("buffer");
  const unsigned char data[4] = {};
  t.task().write(buffer, data, 4);  // the mem fd is open before the exit
  t.exit_to_zombie();
  EXPECT_EQ(error_from([&] { t.task().write(buffer, data, 4); }).errno_value(), ESRCH);
}

// The mem fd names an address space; after the task execs, a new one.
TEST(TaskWrite, KeepsWorkingAfterTheTaskExecs) {
  Target t;
  const unsigned char first[2] = {0x11, 0x22};
  t.task().write(t.address("buffer"), first, 2);  // opens the mem fd
  t.reexec();
  const std::uint64_t buffer = t.address("buffer");
  const Bytes data = {0x33, 0x44, 0x55};
  t.task().write(buffer + 7, data.data(), data.size());
  EXPECT_EQ(t.own_bytes(buffer + 7, data.size()), data);
}

TEST(TaskMemory, ManyThreadsMayReadAndWriteAtOnce) {
  Target t;
  const std::uint64_t buffer = t.address("buffer");
  const Bytes truth = t.own_bytes(buffer, 4096);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 200; ++round) {
        if (k == 0) {  // writes a region the readers do not look at
          const unsigned char b = static_cast<unsigned char>(round);
          t.task().write(buffer + 8192 + static_cast<unsigned>(round), &b, 1);
          continue;
        }
        unsigned char out[16][16];
        std::vector<ReadRequest> r(16);
        for (size_t i = 0; i < 16; ++i) r[i] = ReadRequest{buffer + i * 200, out[i], 16, 0, 0};
        if (t.task().read_many(r) != 16) ++bad;
        for (size_t i = 0; i < 16; ++i) {
          if (std::memcmp(out[i], &truth[i * 200], 16) != 0) ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// ---- the /proc/<pid>/mem fallback -------------------------------------------------------

// Container runtimes' seccomp profiles refuse process_vm_readv with EPERM;
// kernels without CROSS_MEMORY_ATTACH answer ENOSYS. Reads must go on
// through /proc/<pid>/mem, with the same results.
class TaskReadFallback : public ::testing::TestWithParam<int> {};

TEST_P(TaskReadFallback, ReadsGoThroughProcPidMem) {
  Target t;
  const std::uint64_t buffer = t.address("buffer");
  const std::uint64_t hole = t.address("hole");
  const Bytes truth = t.own_bytes(buffer, 256);
  const int refusal = GetParam();
  const std::string result = in_subprocess([&]() -> std::string {
    if (std::string e = refuse_process_vm_readv(refusal); !e.empty()) return e;
    // The filter is in force: a direct call is refused.
    char probe[1];
    iovec local{probe, 1}, remote{reinterpret_cast<void*>(buffer), 1};
    if (::process_vm_readv(t.pid(), &local, 1, &remote, 1, 0) != -1 || errno != refusal) {
      return "the seccomp filter did not refuse process_vm_readv";
    }
    std::string report;
    Bytes got(256);
    t.task().read(buffer, got.data(), got.size());
    if (got != truth) report += "read: wrong bytes; ";
    unsigned char out[3][8];
    std::vector<ReadRequest> r(3);
    const std::uint64_t addresses[3] = {buffer + 8, hole, hole - 4};
    for (size_t i = 0; i < 3; ++i) r[i] = ReadRequest{addresses[i], out[i], 8, 0, 0};
    const size_t complete = t.task().read_many(r);
    if (complete != 1 || !r[0].ok() || std::memcmp(out[0], &truth[8], 8) != 0)
      report += "read_many: range 0; ";
    if (r[1].error != EFAULT || r[1].bytes_read != 0) report += "read_many: unmapped range; ";
    if (r[2].error != EFAULT || r[2].bytes_read != 4) report += "read_many: straddling range; ";
    try {
      t.task().read(hole, out[0], 8);
      report += "read of the hole did not throw; ";
    } catch (const Error& e) {
      if (e.errno_value() != EFAULT || std::string(e.what()).find(hex(hole) + "+8") == std::string::npos) {
        report += std::string("read of the hole: ") + e.what() + "; ";
      }
    }
    return report.empty() ? "ok" : report;
  });
  EXPECT_EQ(result, "ok");
}

// After an exec the fallback's mem fd names the old address space; reads
// must reach the new one.
TEST(TaskReadFallbackExec, ReadsReachTheNewProgramAfterExec) {
  Target t;
  const std::string result = in_subprocess([&]() -> std::string {
    if (std::string e = refuse_process_vm_readv(EPERM); !e.empty()) return e;
    unsigned char b[8];
    t.task().read(t.address("buffer"), b, 8);  // switches to the mem fd
    t.reexec();                                // (this copy of t talks to the target)
    const std::uint64_t buffer = t.address("buffer");
    Bytes got(64);
    t.task().read(buffer, got.data(), got.size());
    return got == t.own_bytes(buffer, 64) ? "ok" : "wrong bytes after exec";
  });
  EXPECT_EQ(result, "ok");
}

INSTANTIATE_TEST_SUITE_P(Refusal, TaskReadFallback, ::testing::Values(EPERM, ENOSYS),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == EPERM ? "EPERM" : "ENOSYS");
                         });

// ---- permissions -----------------------------------------------------------------------

// What a reader with `uid` (no capabilities) gets from Task::read.
std::string read_as(uid_t uid, Target& t) {
  return in_subprocess([&]() -> std::string {
    if (std::string e = drop_to(uid, uid); !e.empty()) return e;
    unsigned char buf[8];
    try {
      t.task().read(t.address("buffer"), buf, 8);
      return "read succeeded";
    } catch (const Error& e) {
      return std::to_string(e.errno_value()) + " " + e.what();
    }
  });
}

TEST(TaskReadPermission, OtherUidIsRefusedWithAnExplanation) {
  Target t({}, [](taskport::Command& cmd) { run_child_as(cmd, kNobody, kNobody); });
  const std::string result = read_as(kReaderUid, t);
  const bool permission_errno =
      result.rfind(std::to_string(EPERM) + " ", 0) == 0 || result.rfind(std::to_string(EACCES) + " ", 0) == 0;
  EXPECT_TRUE(permission_errno) << result;
  EXPECT_NE(result.find("uid 65534"), std::string::npos) << result;
  EXPECT_NE(result.find("uid 1000"), std::string::npos) << result;
  EXPECT_NE(result.find("CAP_SYS_PTRACE"), std::string::npos) << result;
  EXPECT_NE(result.find("to help"), std::string::npos) << result;
  EXPECT_TRUE(t.task().is_alive());
}

TEST(TaskReadPermission, SameUidReaderReadsADumpableTask) {
  Target t({}, [](taskport::Command& cmd) { run_child_as(cmd, kReaderUid, kReaderUid); });
  EXPECT_EQ(read_as(kReaderUid, t), "read succeeded");
}

TEST(TaskReadPermission, NonDumpableTaskIsRefusedSayingSo) {
  Target t({"--dumpable0"}, [](taskport::Command& cmd) { run_child_as(cmd, kReaderUid, kReaderUid); });
  const std::string result = read_as(kReaderUid, t);
  const bool permission_errno =
      result.rfind(std::to_string(EPERM) + " ", 0) == 0 || result.rfind(std::to_string(EACCES) + " ", 0) == 0;
  EXPECT_TRUE(permission_errno) << result;
  EXPECT_NE(result.find("not dumpable"), std::string::npos) << result;
  EXPECT_EQ(result.find("the task runs as uid"), std::string::npos) << result;  // same uid: not the reason
}

TEST(TaskReadPermission, ReadManyThrowsInsteadOfFailingEachRange) {
  Target t({}, [](taskport::Command& cmd) { run_child_as(cmd, kNobody, kNobody); });
  const std::uint64_t buffer = t.address("buffer");
  const std::string result = in_subprocess([&]() -> std::string {
    if (std::string e = drop_to(kReaderUid, kReaderUid); !e.empty()) return e;
    unsigned char out[8];
    std::vector<ReadRequest> r(1);
    r[0] = ReadRequest{buffer, out, 8, 0, 0};
    try {
      t.task().read_many(r);
      return "read_many returned";
    } catch (const Error& e) {
      return e.errno_value() == EPERM || e.errno_value() == EACCES ? "refused" : e.what();
    }
  });
  EXPECT_EQ(result, "refused");
}

TEST(TaskWritePermission, OtherUidIsRefusedWithAnExplanation) {
  Target t({}, [](taskport::Command& cmd) { run_child_as(cmd, kNobody, kNobody); });
  const std::uint64_t buffer = t.address("buffer");
  const std::string result = in_subprocess([&]() -> std::string {
    if (std::string e = drop_to(kReaderUid, kReaderUid); !e.empty()) return e;
    const unsigned char data[1] = {0};
    try {
      t.task().write(buffer, data, 1);
      return "write succeeded";
    } catch (const Error& e) {
      return std::to_string(e.errno_value()) + " " + e.what();
    }
  });
  EXPECT_EQ(result.rfind(std::to_string(EACCES) + " ", 0), 0u) << result;
  EXPECT_NE(result.find("uid 65534"), std::string::npos) << result;
}
