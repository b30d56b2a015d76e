// SPDX-License-Identifier: MIT
// taskport benchmarks — shared harness (see harness.hpp).
#include "harness.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#ifndef P_PIDFD
#define P_PIDFD 3  // <linux/wait.h>; glibc 2.36's <sys/wait.h> lacks it
#endif

namespace taskport_bench {

namespace {

[[noreturn]] void usage(const char* prog, const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "%s: %s\n", prog, why.c_str());
  std::fprintf(stderr,
               "usage: %s --target PATH [--rss-mib 16,1024,4096] [--n 200] [--warmup 10]\n"
               "          [--method NAME]... | --list\n",
               prog);
  std::exit(2);
}

std::vector<std::size_t> parse_list(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v == 0) return {};
    out.push_back(static_cast<std::size_t>(v));
  }
  std::sort(out.begin(), out.end());
  return out;
}

int parse_int(const char* prog, const std::string& text, int min) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < min || v > 1000000) usage(prog, "bad number: " + text);
  return static_cast<int>(v);
}

using Clock = std::chrono::steady_clock;

double to_us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

Options parse_options(int argc, char** argv, const std::vector<std::string>& method_names) {
  Options o;
  const char* prog = argc > 0 ? argv[0] : "bench";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(prog, a + " needs a value");
      return argv[++i];
    };
    if (a == "--target") {
      o.target = value();
    } else if (a == "--rss-mib") {
      std::string v = value();
      o.rss_mib = parse_list(v);
      if (o.rss_mib.empty()) usage(prog, "bad --rss-mib list: " + v);
    } else if (a == "--n") {
      o.n = parse_int(prog, value(), 1);
    } else if (a == "--warmup") {
      o.warmup = parse_int(prog, value(), 0);
    } else if (a == "--method") {
      std::string m = value();
      if (std::find(method_names.begin(), method_names.end(), m) == method_names.end())
        usage(prog, "unknown method: " + m);
      o.only.push_back(m);
    } else if (a == "--list") {
      for (const auto& m : method_names) std::printf("%s\n", m.c_str());
      std::exit(0);
    } else {
      usage(prog, "unknown argument: " + a);
    }
  }
  if (o.target.empty()) usage(prog, "--target is required");
  if (access(o.target.c_str(), X_OK) != 0) usage(prog, "target is not executable: " + o.target);
  return o;
}

double current_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, 6, "VmRSS:") == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;  // kB
  }
  return 0.0;
}

Ballast::~Ballast() {
  for (const Chunk& c : chunks_) munmap(c.addr, c.size);
}

double Ballast::grow_rss_to(std::size_t mib) {
  // Measure, top up, measure again: the first top-up also pulls in a few
  // pages of libc/allocator state, so a second small round closes the gap.
  for (int round = 0; round < 3; ++round) {
    double have = current_rss_mib();
    if (have >= static_cast<double>(mib) - 0.5) break;
    std::size_t bytes = static_cast<std::size_t>((static_cast<double>(mib) - have) * 1024.0 * 1024.0);
    bytes = (bytes + 4095) & ~static_cast<std::size_t>(4095);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno(errno, "mmap ballast");
    std::memset(p, 0x5a, bytes);  // touch every page: these are resident, private, dirty
    chunks_.push_back({p, bytes});
  }
  return current_rss_mib();
}

Stats summarize(std::vector<double> s) {
  std::sort(s.begin(), s.end());
  auto pct = [&](double q) {
    if (s.empty()) return 0.0;
    double idx = q * static_cast<double>(s.size() - 1);
    std::size_t lo = static_cast<std::size_t>(std::floor(idx));
    std::size_t hi = static_cast<std::size_t>(std::ceil(idx));
    return s[lo] + (s[hi] - s[lo]) * (idx - static_cast<double>(lo));
  };
  return {pct(0.5), pct(0.1), pct(0.9)};
}

// Untimed spawns of each method before the first point (run_spawn_benchmarks).
constexpr int kProcessWarmup = 200;

std::vector<double> time_method(const Method& m, int n, int warmup) {
  for (int i = 0; i < warmup; ++i) {
    m.spawn();
    m.reap();
  }
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    m.spawn();
    auto t1 = Clock::now();
    samples.push_back(to_us(t1 - t0));
    m.reap();
  }
  return samples;
}

void emit_spawn_json(const std::string& method, std::size_t parent_rss_mib, int n, const Stats& s,
                     double measured_rss_mib, int warmup) {
  std::printf(
      "{\"benchmark\":\"spawn\",\"method\":\"%s\",\"parent_rss_mib\":%zu,\"n\":%d,"
      "\"median_us\":%.2f,\"p10_us\":%.2f,\"p90_us\":%.2f,\"measured_rss_mib\":%.1f,\"warmup\":%d}\n",
      method.c_str(), parent_rss_mib, n, s.median_us, s.p10_us, s.p90_us, measured_rss_mib, warmup);
  std::fflush(stdout);
}

int run_spawn_benchmarks(int argc, char** argv, const std::vector<Method>& methods) {
  std::vector<std::string> names;
  for (const auto& m : methods) names.push_back(m.name);
  Options o = parse_options(argc, argv, names);
  try {
    // Every method warms up once before anything is timed (kProcessWarmup
    // spawns, at this process's own size): a method measured first in its
    // process was 5-9 % slower at 16 MiB with only the per-point warm-up,
    // than measured after another (taskport vs taskport_hook, same build).
    for (const Method& m : methods) {
      if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), m.name) == o.only.end()) continue;
      time_method(m, 0, kProcessWarmup);
    }
    Ballast ballast;
    for (std::size_t rss : o.rss_mib) {
      double measured = ballast.grow_rss_to(rss);
      for (const Method& m : methods) {
        if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), m.name) == o.only.end()) continue;
        std::fprintf(stderr, "  %-20s rss %5zu MiB (VmRSS %.0f): ", m.name.c_str(), rss, measured);
        Stats s = summarize(time_method(m, o.n, o.warmup));
        std::fprintf(stderr, "median %.1f us\n", s.median_us);
        emit_spawn_json(m.name, rss, o.n, s, current_rss_mib(), o.warmup);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\n%s: FAILED: %s\n", argv[0], e.what());
    return 1;
  }
  return 0;
}

char* const* target_argv(const std::string& target) {
  static std::string storage;
  static char* argv[2];
  storage = target;
  argv[0] = storage.data();
  argv[1] = nullptr;
  return argv;
}

void throw_errno(int errno_value, const char* what) {
  throw std::system_error(errno_value, std::generic_category(), what);
}

int open_pidfd(pid_t pid) {
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) throw_errno(errno, "pidfd_open");
  return static_cast<int>(fd);
}

namespace {
void check_exited_zero(const siginfo_t& info) {
  if (info.si_code != CLD_EXITED || info.si_status != 0) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "child did not exit 0 (si_code %d, status %d)", info.si_code,
                  info.si_status);
    throw std::runtime_error(buf);
  }
}
}  // namespace

void reap_pidfd(int pidfd) {
  siginfo_t info{};
  int rc;
  do rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
  while (rc < 0 && errno == EINTR);
  int err = errno;
  close(pidfd);
  if (rc < 0) throw_errno(err, "waitid(P_PIDFD)");
  check_exited_zero(info);
}

void reap_pid(pid_t pid) {
  siginfo_t info{};
  int rc;
  do rc = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) throw_errno(errno, "waitid(P_PID)");
  check_exited_zero(info);
}

}  // namespace taskport_bench
