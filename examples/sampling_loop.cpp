// SPDX-License-Identifier: MIT
// sampling_loop — what a sampling profiler does: 100 times a second for one
// second, stop the process, read the registers of every thread, let it run
// on; then a histogram of where each thread was.
//
//   sampling_loop PID   sample process PID (Task::open)
//   sampling_loop       sample a python3 with three busy threads it starts
//
// One sample is Task::suspend(), Task::registers_all(), Task::resume():
// three hops to taskport's tracer thread (Linux: a ptrace tracer is a
// thread) however many threads there are — registers(tid) per thread would
// cost a hop each, most of a sample's time with many threads. The thread
// names come from Task::threads() (no ptrace), read once a thread is new.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "taskport/taskport.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSamples = 100;
constexpr auto kPeriod = std::chrono::milliseconds(10);  // 100 Hz

struct ThreadSamples {
  std::string name;
  int samples = 0;
  std::map<std::uint64_t, int> pcs;  // program counter → samples
};

struct Profile {
  std::map<pid_t, ThreadSamples> threads;
  std::vector<std::chrono::microseconds> sample_cost;
  int register_reads = 0;
};

// One sample: every thread's program counter, with the process stopped so
// that they all belong to one instant.
void sample(taskport::Task& task, Profile& profile) {
  const auto t0 = Clock::now();
  task.suspend();
  const std::vector<taskport::ThreadRegisters> all = task.registers_all();
  task.resume();
  profile.sample_cost.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0));
  bool new_thread = false;
  for (const taskport::ThreadRegisters& t : all) {
    ThreadSamples& s = profile.threads[t.tid];
    new_thread = new_thread || s.samples == 0;
    ++s.samples;
    ++s.pcs[t.registers.program_counter()];
    ++profile.register_reads;
  }
  // Names outside the sample: a listing of /proc, no stop needed.
  if (new_thread) {
    for (const taskport::ThreadInfo& t : task.threads()) {
      if (auto it = profile.threads.find(t.tid); it != profile.threads.end()) it->second.name = t.name;
    }
  }
}

// Fixed rate: sample i is due at start + i * period; a late one runs at once
// (and the next stays on the schedule), so there are always kSamples.
Profile run(taskport::Task& task) {
  Profile profile;
  const auto start = Clock::now();
  for (int i = 0; i < kSamples; ++i) {
    std::this_thread::sleep_until(start + i * kPeriod);
    sample(task, profile);
  }
  return profile;
}

void report(const Profile& p, std::chrono::nanoseconds took) {
  std::vector<std::chrono::microseconds> cost = p.sample_cost;
  std::sort(cost.begin(), cost.end());
  std::printf("%zu samples in %.2f s, %d register reads, median sample %lld us\n", cost.size(),
              std::chrono::duration<double>(took).count(), p.register_reads,
              static_cast<long long>(cost[cost.size() / 2].count()));
  for (const auto& [tid, s] : p.threads) {
    const auto top = std::max_element(s.pcs.begin(), s.pcs.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; });
    std::printf("thread %d (%s): %d samples, %zu distinct pcs, most often 0x%llx (%d%%)\n", tid,
                s.name.c_str(), s.samples, s.pcs.size(), static_cast<unsigned long long>(top->first),
                top->second * 100 / s.samples);
  }
}

// A pid from the command line; 0 (never a process: Task::open refuses it
// with EINVAL) if the text is not a number.
pid_t parse_pid(const char* text) {
  char* end = nullptr;
  const long pid = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && pid > 0 && pid <= INT_MAX ? static_cast<pid_t>(pid) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::optional<taskport::Child> python;
    std::optional<taskport::Task> task;
    if (argc == 2) {
      task.emplace(taskport::Task::open(parse_pid(argv[1])));
    } else {
      auto spawned = taskport::Command("python3")
                         .args({"-c",
                                "import threading, sys\n"
                                "def spin():\n"
                                "    while True: pass\n"
                                "for _ in range(3): threading.Thread(target=spin, daemon=True).start()\n"
                                "sys.stdin.read()\n"})
                         .standard_input(taskport::Stdio::piped())
                         .spawn_with_task();
      python.emplace(std::move(spawned.first));
      python->kill_on_drop(true);
      task.emplace(std::move(spawned.second));
      // Until python has started its threads.
      const auto deadline = Clock::now() + std::chrono::seconds(10);
      while (task->threads().size() < 4 && Clock::now() < deadline) std::this_thread::sleep_for(kPeriod);
    }
    std::printf("sampling pid %d at 100 Hz for 1 s\n", task->pid());
    const auto t0 = Clock::now();
    const Profile profile = run(*task);
    report(profile, Clock::now() - t0);
    if (python) {
      python->stdin_pipe().reset();
      python->wait();
    }
    return 0;
  } catch (const std::exception& e) {  // taskport::Error, or std::bad_alloc
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
