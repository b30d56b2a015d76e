// SPDX-License-Identifier: MIT
// taskport benchmarks — memory reads through a Task.
//
//   read_taskport [--n N] [--values V] [--block-mib M] [--md FILE]
//
// The target is a child made with fork_with_task(): it inherits this
// process's buffers at the same addresses, so every expected value is known
// here, and it only waits. Methods (JSON lines, "benchmark":"read"):
//   read_many                   V scattered 8-byte values, Task::read_many
//                               (≤ 1024 ranges per process_vm_readv)
//   process_vm_readv_per_value  the same values, one process_vm_readv each
//                               (what read-process-memory does)
//   pread_per_value             the same values, one pread of /proc/<pid>/mem each
//   …_dense                     the same three with the values spread over
//                               1 MiB instead of 64 MiB (~40 per page)
//   block_read                  one M MiB block, Task::read
//   memcpy                      the same block copied in-process (the limit)
// Goals (checked here, printed, and in --md): read_many ≥ 10× faster than
// process_vm_readv_per_value; block_read ≥ 70% of memcpy's bandwidth.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
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
  std::string md;
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
    else if (k == "--md") a.md = next();
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
    Stats batched, per_call, per_pread;
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
    out.batched = time_it(a.n, [&] {
      for (std::size_t i = 0; i < a.values; ++i) reqs[i] = {addresses[i], &got[i], 8};
      check(task.read_many(reqs) == a.values, "read_many");
    });
    for (std::size_t i = 0; i < a.values; ++i) {
      check(got[i] == *reinterpret_cast<std::uint64_t*>(addresses[i]), "read_many value");
    }
    emit(("read_many" + std::string(suffix)).c_str(), a.n, out.batched, per_value(a.values, out.batched));

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
  const Scatter sparse = scattered(scatter_bytes, "");
  const Scatter dense = scattered(1 << 20, "_dense");

  const Stats block_read =
      time_it(a.n, [&] { task.read(reinterpret_cast<std::uint64_t>(source.data()), dest.data(), block); });
  check(std::memcmp(dest.data(), source.data(), block) == 0, "block_read");
  emit("block_read", a.n, block_read, throughput(block, block_read));

  const Stats local = time_it(a.n, [&] {
    std::memcpy(copy.data(), source.data(), block);
    asm volatile("" : : "r"(copy.data()) : "memory");
  });
  emit("memcpy", a.n, local, throughput(block, local));

  ::close(hold[1]);
  child.wait_for(std::chrono::seconds(10));

  const double sparse_speedup = sparse.per_call.median_us / sparse.batched.median_us;
  const double dense_speedup = dense.per_call.median_us / dense.batched.median_us;
  const double block_share = local.median_us / block_read.median_us;
  auto ns = [&](const Stats& st) { return st.median_us * 1000 / static_cast<double>(a.values); };
  char table[4096];
  std::snprintf(
      table, sizeof table,
      "\n| read method (%zu × 8 B) | values over 64 MiB (~1 per page) | over 1 MiB (~40 per page) |\n"
      "|---|--:|--:|\n"
      "| read_many (batched) | %.0f µs (%.0f ns/value) | %.0f µs (%.0f ns/value) |\n"
      "| process_vm_readv per value | %.0f µs (%.0f ns/value) | %.0f µs (%.0f ns/value) |\n"
      "| pread /proc/pid/mem per value | %.0f µs (%.0f ns/value) | %.0f µs (%.0f ns/value) |\n\n"
      "| block (%zu MiB) | median | bandwidth |\n|---|--:|--:|\n"
      "| Task::read | %.0f µs | %.0f MiB/s |\n"
      "| memcpy in-process | %.0f µs | %.0f MiB/s |\n\n"
      "| read goal | measured | result |\n|---|--:|---|\n"
      "| read_many ≥ 10× process_vm_readv per value (~1 value per page) | %.1f× | %s |\n"
      "| read_many ≥ 10× process_vm_readv per value (~40 values per page) | %.1f× | %s |\n"
      "| block read ≥ 70%% of memcpy bandwidth | %.0f%% | %s |\n",
      a.values, sparse.batched.median_us, ns(sparse.batched), dense.batched.median_us, ns(dense.batched),
      sparse.per_call.median_us, ns(sparse.per_call), dense.per_call.median_us, ns(dense.per_call),
      sparse.per_pread.median_us, ns(sparse.per_pread), dense.per_pread.median_us, ns(dense.per_pread),
      a.block_mib, block_read.median_us, static_cast<double>(a.block_mib) / (block_read.median_us / 1e6),
      local.median_us, static_cast<double>(a.block_mib) / (local.median_us / 1e6), sparse_speedup,
      sparse_speedup >= 10 ? "PASS" : "FAIL", dense_speedup, dense_speedup >= 10 ? "PASS" : "FAIL",
      block_share * 100, block_share >= 0.7 ? "PASS" : "FAIL");
  std::fputs(table, stderr);
  if (!a.md.empty()) {
    if (FILE* f = std::fopen(a.md.c_str(), "a")) {
      std::fputs(table, f);
      std::fclose(f);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "read_taskport: FAILED: %s\n", e.what());
  return 1;
}
