// SPDX-License-Identifier: MIT
// taskport benchmarks — the shared harness: parent-RSS ballast, the timing
// loop, statistics and the JSON-lines output. Every C++ spawn benchmark
// program is a list of Methods handed to run_spawn_benchmarks(); the Rust
// program (bench/rust) mirrors this file and must emit the same lines.
//
// One measurement = one JSON object on one line of stdout:
//   {"benchmark":"spawn","method":"floor","parent_rss_mib":16,"n":200,
//    "median_us":..,"p10_us":..,"p90_us":..,"measured_rss_mib":..,"warmup":..}
// (`benchmark` "read" is reserved for the memory-read benchmark, which adds
// "mib_per_s"). Progress goes to stderr.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

extern "C" char** environ;  // as <unistd.h> declares it under _GNU_SOURCE

namespace taskport_bench {

// One way of spawning the target.
struct Method {
  std::string name;
  // Spawns the target and returns once the caller holds a usable handle to
  // the child AND knows that execve succeeded. This call is the timed region.
  // Throws on failure.
  std::function<void()> spawn;
  // Disposes of what spawn() produced: reaps the child (and checks that it
  // exited 0) and closes its handle. Not timed.
  std::function<void()> reap;
};

// Command line shared by every benchmark program:
//   --target PATH          program to spawn (required; the static no-op)
//   --rss-mib 16,1024,...  parent RSS points, measured in ascending order
//   --n N                  timed spawns per (method, RSS point)   [200]
//   --warmup N             untimed spawns before them             [10]
//   --method NAME          run only this method (repeatable)
//   --list                 print the program's method names and exit
struct Options {
  std::string target;
  std::vector<std::size_t> rss_mib{16, 1024, 4096};
  int n = 200;
  int warmup = 10;
  std::vector<std::string> only;
};

// Parses argv (exits with a usage message on error, or after --list).
Options parse_options(int argc, char** argv, const std::vector<std::string>& method_names);

// Touched anonymous memory that brings this process's RSS up to a target.
class Ballast {
 public:
  Ballast() = default;
  Ballast(const Ballast&) = delete;
  Ballast& operator=(const Ballast&) = delete;
  ~Ballast();
  // Maps and writes enough new memory that VmRSS reaches `mib` MiB (never
  // shrinks). Returns the measured VmRSS in MiB afterwards.
  double grow_rss_to(std::size_t mib);

 private:
  struct Chunk {
    void* addr;
    std::size_t size;
  };
  std::vector<Chunk> chunks_;
};

// This process's VmRSS in MiB (from /proc/self/status).
double current_rss_mib();

struct Stats {
  double median_us, p10_us, p90_us;
};
// Percentiles with linear interpolation between closest ranks (the Rust
// program computes them the same way).
Stats summarize(std::vector<double> samples_us);

// Times `method`: warmup untimed rounds, then n timed ones; reap() after each.
std::vector<double> time_method(const Method& method, int n, int warmup);

// Writes one spawn measurement as a JSON line to stdout (and flushes).
void emit_spawn_json(const std::string& method, std::size_t parent_rss_mib, int n, const Stats& s,
                     double measured_rss_mib, int warmup);

// The whole program: for each RSS point (ascending) grow the ballast, then
// time each selected method and emit its line. Returns the exit code; any
// exception from a method is reported on stderr and makes it nonzero.
int run_spawn_benchmarks(int argc, char** argv, const std::vector<Method>& methods);

// Small POSIX helpers shared by the baseline methods.
// argv {target, nullptr} for execve/posix_spawn; the storage lives as long
// as the process.
char* const* target_argv(const std::string& target);
// pidfd_open(pid, 0), throwing std::system_error on failure.
int open_pidfd(pid_t pid);
// waitid(P_PIDFD) on `pidfd`, checks the child exited 0, closes the fd.
void reap_pidfd(int pidfd);
// waitpid(pid), checks the child exited 0.
void reap_pid(pid_t pid);
// Throws std::system_error(errno_value, what).
[[noreturn]] void throw_errno(int errno_value, const char* what);

}  // namespace taskport_bench
