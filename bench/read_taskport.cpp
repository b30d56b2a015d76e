// SPDX-License-Identifier: MIT
// taskport benchmarks — memory reads through a Task.
//
//   read_taskport [--n N] [--values V] [--block-mib M]
//
// The target is a child made with fork_with_task(): it inherits this
// process's buffers at the same addresses, so every expected value is known
// here, and it only waits. Methods (JSON lines, "benchmark":"read"):
//   read_many                   V scattered 8-byte values, Task::read_many
//                               (≤ 1024 ranges per process_vm_readv)
//   read_many_floor             raw process_vm_readv of exactly the iovecs
//                               read_many sends (same-page requests merged
//                               into one span, in address order), 1024 per
//                               call: the kernel's part of read_many
//   process_vm_readv_per_value  the same values, one process_vm_readv each
//                               (what read-process-memory does)
//   pread_per_value             the same values, one pread of /proc/<pid>/mem each
//   …_dense                     the same three with the values spread over
//                               1 MiB instead of 64 MiB (~40 per page)
//   block_read                  one M MiB block, Task::read
//   block_read_single           the same block, one raw process_vm_readv
//                               (the kernel's limit for one call)
//   block_read_2_threads        the same block as two halves, each read with
//                               Task::read by its own thread (short-lived,
//                               made by this program: taskport starts none)
//   memcpy                      the same block copied in-process (the limit)
// The goals and tables are bench_report's, from these JSON lines.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <taskport/fork_with_task.hpp>
#include <taskport/taskport.hpp>

#include "harness/harness.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using taskport_bench::Stats;

struct Args {
  int n = 20;
  std::size_t values = 10000;
  std::size_t block_mib = 256;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) throw std::invalid_argument("missing value for " + k);
      return argv[++i];
    };
    if (k == "--n") a.n = std::atoi(next());
    else if (k == "--values") a.values = std::strtoul(next(), nullptr, 10);
    else if (k == "--block-mib") a.block_mib = std::strtoul(next(), nullptr, 10);
    else throw std::invalid_argument("unknown option " + k);
  }
  return a;
}

template <class F>
Stats time_it(int n, F&& f) {
  f();  // warm-up: faults in buffers, opens fds
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    f();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  return taskport_bench::summarize(us);
}

void emit(const char* method, int n, const Stats& s, const std::string& extra) {
  std::printf(
      "{\"benchmark\":\"read\",\"method\":\"%s\",\"parent_rss_mib\":%.0f,\"n\":%d,\"median_us\":%.2f,"
      "\"p10_us\":%.2f,\"p90_us\":%.2f%s}\n",
      method, taskport_bench::current_rss_mib(), n, s.median_us, s.p10_us, s.p90_us, extra.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "  %-28s median %10.1f us\n", method, s.median_us);
}

std::string throughput(std::size_t bytes, const Stats& s) {
  return ",\"bytes\":" + std::to_string(bytes) +
         ",\"mib_per_s\":" + std::to_string(static_cast<double>(bytes) / (1 << 20) / (s.median_us / 1e6));
}

std::string per_value(std::size_t values, const Stats& s) {
  return ",\"values\":" + std::to_string(values) +
         ",\"ns_per_value\":" + std::to_string(s.median_us * 1000 / values);
}

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("wrong data: ") + what);
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  const std::size_t block = a.block_mib << 20;
  const std::size_t scatter_bytes = 64 << 20;

  // The data, touched before the fork so the child shares it (copy-on-write).
  std::vector<std::uint64_t> scatter(scatter_bytes / 8);
  for (std::size_t i = 0; i < scatter.size(); ++i) scatter[i] = i * 0x9E3779B97F4A7C15ULL;
  std::vector<unsigned char> source(block);
  for (std::size_t i = 0; i < block; i += 4096) source[i] = static_cast<unsigned char>(i >> 12);
  std::vector<unsigned char> dest(block, 1), copy(block, 1);

  int hold[2];
  if (pipe2(hold, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  auto [child, task] = taskport::fork_with_task([fd = hold[0]] {
    char c;
    while (::read(fd, &c, 1) > 0) {
    }
    return 0;
  });
  ::close(hold[0]);
  child.kill_on_drop(true);
  const pid_t pid = child.pid();

  struct Scatter {
    Stats batched, floor, per_call, per_pread;
  };
  // Values spread over `area` bytes of the scatter buffer: 64 MiB puts about
  // one value in each page touched (the kernel's per-page work dominates);
  // 1 MiB puts ~40 in each (fields of the same objects, as profilers read).
  auto scattered = [&](std::size_t area, const char* suffix) {
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> addresses(a.values);
    for (auto& addr : addresses) addr = reinterpret_cast<std::uint64_t>(&scatter[rng() % (area / 8)]);
    std::vector<std::uint64_t> got(a.values);
    std::vector<taskport::ReadRequest> reqs(a.values);
    Scatter out;
    // The requests are made once: read_many resets their results itself.
    for (std::size_t i = 0; i < a.values; ++i) reqs[i] = {addresses[i], &got[i], 8};
    out.batched = time_it(a.n, [&] { check(task.read_many(reqs) == a.values, "read_many"); });
    for (std::size_t i = 0; i < a.values; ++i) {
      check(got[i] == *reinterpret_cast<std::uint64_t*>(addresses[i]), "read_many value");
    }
    emit(("read_many" + std::string(suffix)).c_str(), a.n, out.batched, per_value(a.values, out.batched));

    // The floor: what read_many hands the kernel, prepared outside the
    // timed region — in page order, one iovec per page that holds two or
    // more values (the span from the first to the end of the last, into a
    // landing buffer), one per value alone in its page (into its own slot),
    // 1024 per call.
    std::vector<std::pair<std::uint64_t, std::size_t>> sorted;
    for (std::size_t i = 0; i < addresses.size(); ++i) sorted.emplace_back(addresses[i], i);
    std::sort(sorted.begin(), sorted.end());
    std::vector<iovec> remote, local;
    std::vector<std::size_t> span_length;  // per iovec: 0 for a single value
    for (std::size_t i = 0; i < sorted.size();) {
      std::size_t j = i + 1;
      std::uint64_t end = sorted[i].first + 8;
      while (j < sorted.size() && sorted[j].first / 4096 == sorted[i].first / 4096)
        end = std::max(end, sorted[j++].first + 8);
      const std::size_t length = static_cast<std::size_t>(end - sorted[i].first);
      remote.push_back({reinterpret_cast<void*>(sorted[i].first), length});
      local.push_back({&got[sorted[i].second], length});
      span_length.push_back(j - i > 1 ? length : 0);
      i = j;
    }
    std::size_t total = 0;
    for (std::size_t length : span_length) total += length;
    std::vector<unsigned char> landing(total);
    std::size_t at = 0;
    for (std::size_t k = 0; k < local.size(); ++k) {
      if (span_length[k] == 0) continue;
      local[k].iov_base = landing.data() + at;
      at += span_length[k];
    }
    out.floor = time_it(a.n, [&] {
      for (std::size_t k = 0; k < remote.size(); k += 1024) {
        const std::size_t m = std::min<std::size_t>(1024, remote.size() - k);
        std::size_t want = 0;
        for (std::size_t q = 0; q < m; ++q) want += remote[k + q].iov_len;
        check(process_vm_readv(pid, &local[k], m, &remote[k], m, 0) == static_cast<ssize_t>(want),
              "process_vm_readv floor");
      }
    });
    emit(("read_many" + std::string(suffix) + "_floor").c_str(), a.n, out.floor,
         per_value(a.values, out.floor) + ",\"iovecs\":" + std::to_string(remote.size()));

    out.per_call = time_it(a.n, [&] {
      for (std::size_t i = 0; i < a.values; ++i) {
        iovec local{&got[i], 8}, remote{reinterpret_cast<void*>(addresses[i]), 8};
        check(process_vm_readv(pid, &local, 1, &remote, 1, 0) == 8, "process_vm_readv");
      }
    });
    emit(("process_vm_readv_per_value" + std::string(suffix)).c_str(), a.n, out.per_call,
         per_value(a.values, out.per_call));

    const int mem = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
    if (mem < 0) throw std::runtime_error("open /proc/<pid>/mem");
    out.per_pread = time_it(a.n, [&] {
      for (std::size_t i = 0; i < a.values; ++i) {
        check(pread(mem, &got[i], 8, static_cast<off_t>(addresses[i])) == 8, "pread");
      }
    });
    ::close(mem);
    emit(("pread_per_value" + std::string(suffix)).c_str(), a.n, out.per_pread,
         per_value(a.values, out.per_pread));
    return out;
  };
  scattered(scatter_bytes, "");
  scattered(1 << 20, "_dense");

  const Stats block_read =
      time_it(a.n, [&] { task.read(reinterpret_cast<std::uint64_t>(source.data()), dest.data(), block); });
  check(std::memcmp(dest.data(), source.data(), block) == 0, "block_read");
  emit("block_read", a.n, block_read, throughput(block, block_read));

  const Stats single = time_it(a.n, [&] {
    iovec l{dest.data(), block}, r{source.data(), block};
    check(process_vm_readv(pid, &l, 1, &r, 1, 0) == static_cast<ssize_t>(block), "block process_vm_readv");
  });
  emit("block_read_single", a.n, single, throughput(block, single));

  const Stats threaded = time_it(a.n, [&] {
    const std::size_t half = block / 2;
    std::thread second([&] {
      task.read(reinterpret_cast<std::uint64_t>(source.data()) + half, dest.data() + half, block - half);
    });
    task.read(reinterpret_cast<std::uint64_t>(source.data()), dest.data(), half);
    second.join();
  });
  check(std::memcmp(dest.data(), source.data(), block) == 0, "block_read_2_threads");
  emit("block_read_2_threads", a.n, threaded, throughput(block, threaded));

  const Stats local = time_it(a.n, [&] {
    std::memcpy(copy.data(), source.data(), block);
    asm volatile("" : : "r"(copy.data()) : "memory");
  });
  emit("memcpy", a.n, local, throughput(block, local));

  ::close(hold[1]);
  child.wait_for(std::chrono::seconds(10));

  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "read_taskport: FAILED: %s\n", e.what());
  return 1;
}
