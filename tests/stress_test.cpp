// SPDX-License-Identifier: MIT
// Many threads spawning at once: every handle names its own child, every
// child sees only its own descriptors, and afterwards the process has the
// same descriptors as before and no child left (no zombie).
//
// TASKPORT_STRESS_SPAWNS scales the main test down for slow sanitizer runs
// (default 2000).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::Stdio;
using taskport::Task;

namespace {

constexpr int kThreads = 8;

int total_spawns() {
  if (const char* s = std::getenv("TASKPORT_STRESS_SPAWNS")) return std::max(kThreads, std::atoi(s));
  return 2000;
}

// Collects the first few failure descriptions from worker threads.
class Failures {
 public:
  void add(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    if (first_.size() < 10) first_.push_back(std::move(what));
  }
  int count() const { return count_; }
  std::string summary() const {
    std::string s;
    for (const auto& f : first_) s += "  " + f + "\n";
    return s;
  }

 private:
  mutable std::mutex mu_;
  int count_ = 0;
  std::vector<std::string> first_;
};

// True if this process has no child at all, zombie or alive (never reaps).
bool no_children_at_all() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

// Anything the library sets up once per process is set up before we count.
void warm_up() {
  auto [child, task] = probe().spawn_with_task();
  child.kill_on_drop(true);
  wait_exit(child);
}

template <class Body>
void run_threads(int per_thread, Body body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) body(t, i);
    });
  for (auto& t : threads) t.join();
}

}  // namespace

TEST(Stress, ConcurrentSpawnsEachGetAHandleToTheirOwnChildAndLeakNothing) {
#if defined(__APPLE__)
  // The preload cannot enter /bin/true there (a platform binary: dyld
  // ignores DYLD_INSERT_LIBRARIES for it).
  const std::string program = probe_path();
#else
  const std::string program = file_exists("/bin/true") ? "/bin/true" : probe_path();
#endif
  const Command cmd(program);
  warm_up();
  const std::set<int> fds_before = open_fds();
  const std::set<pid_t> kids_before = children_of_self();

  const int per_thread = total_spawns() / kThreads;
  Failures failures;
  std::atomic<int> done{0};
  run_threads(per_thread, [&](int t, int i) {
    const std::string where = "thread " + std::to_string(t) + " spawn " + std::to_string(i) + ": ";
    try {
      auto [child, task] = cmd.spawn_with_task();
      child.kill_on_drop(true);
      if (task.pid() != child.pid()) failures.add(where + "task.pid() != child.pid()");
      auto named = handle_pid(task);
      if (named != child.pid())
        failures.add(where + "the handle names " + (named ? std::to_string(*named) : "nothing") +
                     ", child is " + std::to_string(child.pid()));
      auto st = child.wait_for(kLong);
      if (!st) failures.add(where + "child did not exit");
      else if (!st->success()) failures.add(where + "child ended with " + st->to_string());
      else ++done;
    } catch (const std::exception& e) {
      failures.add(where + e.what());
    }
  });

  EXPECT_EQ(failures.count(), 0) << failures.summary();
  EXPECT_EQ(done.load(), per_thread * kThreads);
  EXPECT_EQ(open_fds(), fds_before) << "descriptors leaked";
  for (pid_t kid : children_of_self())
    EXPECT_TRUE(kids_before.count(kid)) << "child " << kid << " left behind";
  if (kids_before.empty()) {
    EXPECT_TRUE(no_children_at_all()) << "waitid still sees a child";
  }
}

TEST(Stress, ConcurrentChildrenSeeOnlyTheirOwnDescriptors) {
  // If a pipe or pidfd were ever created without O_CLOEXEC (and fixed up
  // afterwards), a child spawned meanwhile by another thread would see it.
  warm_up();
  std::set<int> expected = inheritable_fds();
  expected.insert({0, 1, 2});

  Failures failures;
  run_threads(25, [&](int t, int i) {
    const std::string where = "thread " + std::to_string(t) + " child " + std::to_string(i) + ": ";
    try {
      Command cmd = probe({"--report"});
      cmd.standard_input(Stdio::null()).standard_output(Stdio::piped());
      if (i % 2) cmd.standard_error(Stdio::piped());
      Child child = cmd.spawn();
      child.kill_on_drop(true);
      ProbeReport r = parse_report(read_all(child.stdout_pipe().get()));
      auto st = child.wait_for(kLong);
      if (!st || !st->success() || !r.complete) {
        failures.add(where + "probe failed");
        return;
      }
      if (r.fd_numbers() != expected) {
        std::string seen;
        for (const auto& [n, f] : r.fds) seen += " " + std::to_string(n) + "=" + f.target;
        failures.add(where + "child saw fds" + seen);
      }
    } catch (const std::exception& e) {
      failures.add(where + e.what());
    }
  });
  EXPECT_EQ(failures.count(), 0) << failures.summary();
}

TEST(Stress, ConcurrentFailedAndSuccessfulSpawnsLeakNothing) {
  TempDir dir;
  const Command missing(dir / "missing");
  Command hook_fails = probe();
  hook_fails.pre_exec([] { return EPERM; });
  Command piped = probe({"--cat"});
  piped.standard_input(Stdio::piped()).standard_output(Stdio::piped()).standard_error(Stdio::piped());

  warm_up();
  const std::set<int> fds_before = open_fds();
  const std::set<pid_t> kids_before = children_of_self();

  Failures failures;
  run_threads(60, [&](int t, int i) {
    const std::string where = "thread " + std::to_string(t) + " round " + std::to_string(i) + ": ";
    try {
      switch ((t + i) % 3) {
        case 0:
          try {
            auto [c, task] = missing.spawn_with_task();
            c.kill_on_drop(true);
            failures.add(where + "missing program spawned");
          } catch (const Error& e) {
            if (e.errno_value() != ENOENT) failures.add(where + e.what());
          }
          break;
        case 1:
          try {
            Child c = hook_fails.spawn();
            c.kill_on_drop(true);
            failures.add(where + "failing hook ignored");
          } catch (const Error& e) {
            if (e.errno_value() != EPERM) failures.add(where + e.what());
          }
          break;
        default: {
          auto [c, task] = piped.spawn_with_task();
          c.kill_on_drop(true);
          write_str(c.stdin_pipe().get(), "ping");
          c.stdin_pipe().reset();
          std::string echoed = read_all(c.stdout_pipe().get());
          auto st = c.wait_for(kLong);
          if (echoed != "ping" || !st || !st->success()) failures.add(where + "echo child failed: " + echoed);
        }
      }
    } catch (const std::exception& e) {
      failures.add(where + e.what());
    }
  });

  EXPECT_EQ(failures.count(), 0) << failures.summary();
  EXPECT_EQ(open_fds(), fds_before) << "descriptors leaked";
  for (pid_t kid : children_of_self())
    EXPECT_TRUE(kids_before.count(kid)) << "child " << kid << " left behind";
}
