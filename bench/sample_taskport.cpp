// SPDX-License-Identifier: MIT
// taskport benchmarks — one profiler sample of a busy process.
//
//   sample_taskport --target PATH [--threads 40] [--n 200] [--warmup 20] [--cpu K]
//
// The target (bench_spin_threads) runs --threads threads, all spinning; it is
// pinned to CPU K (default: the first CPU this process may not use if
// pinned, else CPU 0) so that the sampler keeps its own CPU. One sample
// stops every thread, reads every thread's general-purpose registers and
// lets them all run again. Methods (JSON lines, "benchmark":"sample"):
//   taskport  Task::suspend() + Task::registers_all() + Task::resume()
//   floor     the same requests from this one thread with no library around
//             them: list /proc/<pid>/task, PTRACE_SEIZE + PTRACE_INTERRUPT
//             per thread, then waitpid per thread, PTRACE_GETREGSET per
//             thread, PTRACE_DETACH per thread
// Samples of the two methods alternate, so that both see the same machine.
// Each line has the median and p10/p90 of a whole sample, the per-thread
// cost (median / threads) and the median of each phase (taskport: suspend,
// registers, resume; floor: stop, registers, detach). The goal (judged by
// bench_report): taskport ≤ 1.5 × floor.
#include <dirent.h>
#include <elf.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <taskport/taskport.hpp>

#include "harness/harness.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using taskport_bench::Stats;

struct Args {
  std::string target;
  int threads = 40;
  int n = 200;
  int warmup = 20;
  int cpu = -1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) throw std::invalid_argument("missing value for " + k);
      return argv[++i];
    };
    if (k == "--target") a.target = next();
    else if (k == "--threads") a.threads = std::atoi(next());
    else if (k == "--n") a.n = std::atoi(next());
    else if (k == "--warmup") a.warmup = std::atoi(next());
    else if (k == "--cpu") a.cpu = std::atoi(next());
    else throw std::invalid_argument("unknown option " + k);
  }
  if (a.target.empty() || a.threads < 1 || a.n < 1 || a.warmup < 0)
    throw std::invalid_argument(
        "usage: sample_taskport --target PATH [--threads N] [--n N] [--warmup N] [--cpu K]");
  return a;
}

// A CPU for the target: one this process is not pinned to, if any.
int target_cpu() {
  cpu_set_t mine;
  if (sched_getaffinity(0, sizeof mine, &mine) != 0) return 0;
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (int c = 0; c < cpus && c < CPU_SETSIZE; ++c)
    if (!CPU_ISSET(c, &mine)) return c;
  return 0;
}

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Phases of one sample, in µs.
struct Sample {
  double stop = 0, registers = 0, resume = 0;
  double total() const { return stop + registers + resume; }
};

struct Series {
  std::vector<double> total, stop, registers, resume;
  void add(const Sample& s) {
    total.push_back(s.total());
    stop.push_back(s.stop);
    registers.push_back(s.registers);
    resume.push_back(s.resume);
  }
};

// ---- taskport ------------------------------------------------------------------------

Sample sample_taskport(taskport::Task& task, std::size_t threads) {
  Sample s;
  auto t0 = Clock::now();
  task.suspend();
  s.stop = us_since(t0);
  t0 = Clock::now();
  const std::vector<taskport::ThreadRegisters> all = task.registers_all();
  s.registers = us_since(t0);
  t0 = Clock::now();
  task.resume();
  s.resume = us_since(t0);
  if (all.size() != threads)
    throw std::runtime_error("registers_all: " + std::to_string(all.size()) + " threads");
  return s;
}

// ---- the floor -------------------------------------------------------------------------

std::vector<pid_t> list_threads(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(path.c_str());
  check(d != nullptr, "opendir " + path);
  std::vector<pid_t> tids;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') tids.push_back(std::atoi(e->d_name));
  }
  ::closedir(d);
  return tids;
}

Sample sample_floor(pid_t pid, std::size_t threads) {
  Sample s;
  auto t0 = Clock::now();
  const std::vector<pid_t> tids = list_threads(pid);
  // Every thread is asked to stop before the first wait, as taskport does:
  // waiting for each thread before asking the next costs a scheduler round
  // per thread when the threads share a CPU (the asked one must be picked
  // to enter its stop; the one running goes on to the end of its slice) —
  // 3.1 s a sample here instead of 0.45 ms (bench/README.md).
  for (pid_t tid : tids) {
    check(::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) == 0, "PTRACE_SEIZE");
    check(::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) == 0, "PTRACE_INTERRUPT");
  }
  for (pid_t tid : tids) {
    int status = 0;
    check(::waitpid(tid, &status, __WALL) == tid && WIFSTOPPED(status), "waitpid");
  }
  s.stop = us_since(t0);
  t0 = Clock::now();
  std::vector<user_regs_struct> regs(tids.size());
  for (std::size_t i = 0; i < tids.size(); ++i) {
    iovec iov{&regs[i], sizeof regs[i]};
    check(::ptrace(PTRACE_GETREGSET, tids[i], reinterpret_cast<void*>(NT_PRSTATUS), &iov) == 0,
          "PTRACE_GETREGSET");
  }
  s.registers = us_since(t0);
  t0 = Clock::now();
  for (pid_t tid : tids) check(::ptrace(PTRACE_DETACH, tid, nullptr, nullptr) == 0, "PTRACE_DETACH");
  s.resume = us_since(t0);
  if (tids.size() != threads) throw std::runtime_error("floor: " + std::to_string(tids.size()) + " threads");
  return s;
}

// ---- output ------------------------------------------------------------------------------

void emit(const char* method, const Args& a, const Series& series) {
  const Stats total = taskport_bench::summarize(series.total);
  const Stats stop = taskport_bench::summarize(series.stop);
  const Stats regs = taskport_bench::summarize(series.registers);
  const Stats resume = taskport_bench::summarize(series.resume);
  std::printf(
      "{\"benchmark\":\"sample\",\"method\":\"%s\",\"parent_rss_mib\":%.0f,\"n\":%d,\"median_us\":%.2f,"
      "\"p10_us\":%.2f,\"p90_us\":%.2f,\"threads\":%d,\"per_thread_us\":%.2f,\"stop_us\":%.2f,"
      "\"registers_us\":%.2f,\"resume_us\":%.2f,\"warmup\":%d}\n",
      method, taskport_bench::current_rss_mib(), a.n, total.median_us, total.p10_us, total.p90_us, a.threads,
      total.median_us / a.threads, stop.median_us, regs.median_us, resume.median_us, a.warmup);
  std::fflush(stdout);
  std::fprintf(stderr, "  %-9s median %8.1f us (%.2f us/thread: stop %.1f, registers %.1f, resume %.1f)\n",
               method, total.median_us, total.median_us / a.threads, stop.median_us, regs.median_us,
               resume.median_us);
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  const int cpu = a.cpu >= 0 ? a.cpu : target_cpu();
  auto [child, task] = taskport::Command(a.target)
                           .args({std::to_string(a.threads), std::to_string(cpu)})
                           .standard_output(taskport::Stdio::piped())
                           .spawn_with_task();
  child.kill_on_drop(true);
  char ready[16] = {};
  check(
      ::read(child.stdout_pipe().get(), ready, sizeof ready - 1) > 0 && std::strncmp(ready, "ready", 5) == 0,
      "the target did not start");
  if (task.threads().size() != static_cast<std::size_t>(a.threads))
    throw std::runtime_error("the target does not have " + std::to_string(a.threads) + " threads");
  const auto count = static_cast<std::size_t>(a.threads);

  Series ours, floor;
  for (int i = 0; i < a.warmup + a.n; ++i) {
    const Sample t = sample_taskport(task, count);
    const Sample f = sample_floor(child.pid(), count);
    if (i < a.warmup) continue;
    ours.add(t);
    floor.add(f);
  }
  emit("taskport", a, ours);
  emit("floor", a, floor);
  child.kill();
  child.wait_for(std::chrono::seconds(10));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "sample_taskport: FAILED: %s\n", e.what());
  return 1;
}
