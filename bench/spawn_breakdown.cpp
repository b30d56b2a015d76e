// SPDX-License-Identifier: MIT
// spawn_breakdown: where the time between `floor` and taskport's
// spawn_with_task() goes, step by step, from timestamps taken inside each
// spawn (built only with -DTASKPORT_SPAWN_TIMING=ON: src/linux/spawn_timing.hpp).
//
//   spawn_breakdown --target PATH [--rss-mib 16] [--n 2000] [--warmup 50]
//
// Alternates one floor spawn and one taskport spawn (so that load from
// elsewhere hits both alike), each stamped with the CPU's counter at the same
// kind of point: the floor's child stamps its entry and the moment before
// execve like taskport's child. Prints, per step, the median in µs of each
// method and the difference, and the sum of the step medians next to the
// median of the whole call. Pinned to one CPU (bench/run does), every stamp
// comes from one counter; the counter is calibrated against CLOCK_MONOTONIC.
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <taskport/taskport.hpp>

#include "harness/harness.hpp"
#include "linux/spawn_timing.hpp"

#if !defined(TASKPORT_SPAWN_TIMING)
#error "spawn_breakdown needs TASKPORT_SPAWN_TIMING (cmake -DTASKPORT_SPAWN_TIMING=ON)"
#endif

// Counts the calls of operator new (the library's strings, vectors and
// objects all allocate through it): the breakdown reports allocations per
// spawn next to the times.
static unsigned long g_allocations = 0;
void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

namespace tm = taskport::backend::timing;
using Stamps = std::vector<std::uint64_t>;

double ns_per_tick() {
  timespec a{}, b{};
  clock_gettime(CLOCK_MONOTONIC, &a);
  const std::uint64_t t0 = tm::now();
  timespec nap{0, 200 * 1000 * 1000};
  nanosleep(&nap, nullptr);
  clock_gettime(CLOCK_MONOTONIC, &b);
  const std::uint64_t t1 = tm::now();
  const double ns =
      static_cast<double>(b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec);
  return ns / static_cast<double>(t1 - t0);
}

// ---- the floor, stamped at the same kinds of points ----------------------------------
struct FloorChild {
  const char* path;
  char* const* argv;
  char* const* envp;
  std::uint64_t entered, exec;
  volatile int exec_errno;
};

int floor_child(void* arg) {
  auto* c = static_cast<FloorChild*>(arg);
  c->entered = tm::now();
  c->exec = tm::now();
  execve(c->path, c->argv, c->envp);
  c->exec_errno = errno;
  _exit(127);
}

// floor: call, cloning, child_entry, child_exec, cloned, returned
Stamps floor_once(FloorChild& child, char* stack_top) {
  Stamps s(6);
  s[0] = tm::now();
  child.exec_errno = 0;
  s[1] = tm::now();
  const pid_t pid = clone(floor_child, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
  s[4] = tm::now();
  if (pid < 0 || child.exec_errno != 0)
    taskport_bench::throw_errno(pid < 0 ? errno : child.exec_errno, "floor");
  s[2] = child.entered;
  s[3] = child.exec;
  s[5] = tm::now();
  taskport_bench::reap_pid(pid);
  return s;
}

// taskport: call, then the library's points, then returned.
unsigned long g_spawn_allocations = 0;  // by the last spawn_with_task()

Stamps taskport_once(const taskport::Command& cmd) {
  Stamps s(tm::kPoints + 2);
  std::optional<std::pair<taskport::Child, taskport::Task>> spawned;
  const unsigned long before = g_allocations;
  s[0] = tm::now();
  spawned.emplace(cmd.spawn_with_task());
  s[tm::kPoints + 1] = tm::now();
  g_spawn_allocations = g_allocations - before;
  for (unsigned p = 0; p < tm::kPoints; ++p) s[p + 1] = taskport_spawn_stamps[p];
  if (!spawned->first.wait().success()) throw std::runtime_error("child did not exit 0");
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Median over samples of (stamp[b] - stamp[a]) in µs.
double step_us(const std::vector<Stamps>& samples, unsigned a, unsigned b, double ns_tick) {
  std::vector<double> d;
  d.reserve(samples.size());
  for (const Stamps& s : samples) d.push_back(static_cast<double>(s[b] - s[a]) * ns_tick / 1000.0);
  return median(d);
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace taskport_bench;
  std::vector<char*> args(argv, argv + argc);
  int n = 2000, warmup = 50;
  std::size_t rss = 16;
  std::string target;
  for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
    const std::string k = args[i];
    if (k == "--target") target = args[i + 1];
    else if (k == "--n") n = std::atoi(args[i + 1]);
    else if (k == "--warmup") warmup = std::atoi(args[i + 1]);
    else if (k == "--rss-mib") rss = std::strtoul(args[i + 1], nullptr, 10);
    else throw std::invalid_argument("unknown option " + k);
  }
  if (target.empty()) throw std::invalid_argument("--target is required");

  Ballast ballast;
  const double rss_measured = ballast.grow_rss_to(rss);
  const double ns_tick = ns_per_tick();

  static FloorChild child{target.c_str(), target_argv(target), environ, 0, 0, 0};
  std::vector<char> stack(64 * 1024);
  char* stack_top = stack.data() + stack.size();
  const taskport::Command cmd(target);

  std::vector<Stamps> floor, ours;
  for (int i = 0; i < warmup + n; ++i) {
    Stamps f = floor_once(child, stack_top);
    Stamps t = taskport_once(cmd);
    if (i >= warmup) {
      floor.push_back(std::move(f));
      ours.push_back(std::move(t));
    }
  }

  // Rows: a step of taskport, and the floor's step of the same kind (or none).
  // Taskport stamp indices are point + 1; 0 is the call, kPoints + 1 the return.
  struct Row {
    const char* what;
    unsigned a, b;  // taskport
    int fa, fb;     // floor (-1: the floor has no such step)
  };
  const unsigned ret = tm::kPoints + 1;
  const Row rows[] = {
      {"call → entry (Command, the pair)", 0, tm::entry + 1, 0, 1},
      {"validate_command", tm::entry + 1, tm::validated + 1, -1, -1},
      {"build_exec_plan (argv, env, fds, options)", tm::validated + 1, tm::planned + 1, -1, -1},
      {"stack, block signals", tm::planned + 1, tm::cloning + 1, -1, -1},
      {"clone syscall → child runs", tm::cloning + 1, tm::child_entry + 1, 1, 2},
      {"child: reset signal handlers", tm::child_entry + 1, tm::child_signals + 1, -1, -1},
      {"child: setup, restore mask", tm::child_signals + 1, tm::child_exec + 1, 2, 3},
      {"execve → parent resumes", tm::child_exec + 1, tm::cloned + 1, 3, 4},
      {"Child, dup pidfd for the Task", tm::cloned + 1, tm::child_made + 1, -1, -1},
      {"Task::Impl, plan freed", tm::child_made + 1, tm::done + 1, -1, -1},
      {"return (pair moved)", tm::done + 1, ret, 4, 5},
  };
  std::printf(
      "\nSpawn breakdown: parent RSS %zu MiB (VmRSS %.0f), n=%d, medians in µs (counter: %.3f ns/tick)\n\n",
      rss, rss_measured, n, ns_tick);
  std::printf("| step | taskport | floor | taskport − floor |\n|---|--:|--:|--:|\n");
  double sum_t = 0, sum_f = 0;
  for (const Row& r : rows) {
    const double t = step_us(ours, r.a, r.b, ns_tick);
    const double f =
        r.fa < 0 ? 0.0 : step_us(floor, static_cast<unsigned>(r.fa), static_cast<unsigned>(r.fb), ns_tick);
    sum_t += t;
    sum_f += f;
    std::printf("| %s | %.2f | %s | %+.2f |\n", r.what, t,
                r.fa < 0 ? "—" : std::to_string(f).substr(0, 4).c_str(), t - f);
  }
  const double total_t = step_us(ours, 0, ret, ns_tick);
  const double total_f = step_us(floor, 0, 5, ns_tick);
  std::printf("| **sum of the step medians** | %.2f | %.2f | %+.2f |\n", sum_t, sum_f, sum_t - sum_f);
  std::printf("| **median of the whole call** | %.2f | %.2f | %+.2f |\n", total_t, total_f,
              total_t - total_f);
  std::printf("\nspawn_with_task(): %lu allocations (operator new) per call\n", g_spawn_allocations);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "spawn_breakdown: FAILED: %s\n", e.what());
  return 1;
}
