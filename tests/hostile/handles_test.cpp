// SPDX-License-Identifier: MIT
// Moved-from handles (issue 10, case 10): every method of a moved-from Task
// or Child either returns the documented "no handle" value (pid(),
// native_handle(), exit_fd(), pidfd(): -1) or throws Error(EBADF) — nothing
// crashes, nothing pretends the process still runs. Each call runs in a
// process of its own, so that a crash is reported as what it is.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hostile_support.hpp"
#include "support.hpp"

using namespace tp_hostile;
using taskport::Child;
using taskport::Task;

namespace {

// What `call` does, run in a forked copy: "returns <value>", "throws
// <exception>", "hangs", or how the process ended ("killed by SIGSEGV").
std::string behaviour(const std::function<std::string()>& call) {
  const Outcome o = isolated(10s, [&](Report& r) {
    try {
      r.note("returns " + call());
    } catch (...) {
      r.note("throws " + describe_current_exception());
    }
  });
  if (o.timed_out) return "hangs";
  if (!o.finished || o.notes.empty()) return o.ended.empty() ? std::string("crashes") : o.ended;
  return o.notes.back();
}

bool throws_ebadf(const std::string& b) { return b.rfind("throws taskport::Error(EBADF", 0) == 0; }

struct Handles {
  tp_test::Lifeline line;
  std::optional<Child> moved_child, child;
  std::optional<Task> moved_task, task;
  Handles() {
    auto [c, t] = line.probe().spawn_with_task();
    c.kill_on_drop(true);
    moved_child.emplace(std::move(c));
    moved_task.emplace(std::move(t));
    child.emplace(std::move(*moved_child));  // *moved_child is now moved-from
    task.emplace(std::move(*moved_task));    // *moved_task is now moved-from
  }
};

using Call = std::pair<const char*, std::function<std::string(Task&)>>;

std::string str(long long v) { return std::to_string(v); }

}  // namespace

TEST(HostileHandles, MovedFromTaskThrowsEbadfAndNeverCrashes) {
  Handles h;
  Task& t = *h.moved_task;
  const std::vector<Call> accessors = {
      {"pid()", [](Task& x) { return str(x.pid()); }},
      {"native_handle()", [](Task& x) { return str(x.native_handle()); }},
      {"exit_fd()", [](Task& x) { return str(x.exit_fd()); }},
  };
  for (const auto& [name, call] : accessors) {
    const std::string b = behaviour([&, &call = call] { return call(t); });
    EXPECT_EQ(b, "returns -1") << "moved-from Task::" << name;
  }
  const std::vector<Call> methods = {
    {"is_alive()", [](Task& x) { return str(x.is_alive()); }},
    {"signal(0)",
     [](Task& x) {
       x.signal(0);
       return std::string("void");
     }},
    {"read()",
     [](Task& x) {
       char b;
       x.read(0x1000, &b, 1);
       return std::string("void");
     }},
    {"read_many()",
     [](Task& x) {
       char b;
       taskport::ReadRequest q{};
       q.address = 0x1000;
       q.buffer = &b;
       q.size = 1;
       return str(static_cast<long long>(x.read_many(&q, 1)));
     }},
    {"write()",
     [](Task& x) {
       char b = 0;
       x.write(0x1000, &b, 1);
       return std::string("void");
     }},
    {"regions()", [](Task& x) { return str(static_cast<long long>(x.regions().size())); }},
    {"region_at()", [](Task& x) { return str(x.region_at(0x1000).has_value()); }},
    {"threads()", [](Task& x) { return str(static_cast<long long>(x.threads().size())); }},
    {"info()",
     [](Task& x) {
       x.info();
       return std::string("a TaskInfo");
     }},
    {"suspend()",
     [](Task& x) {
       x.suspend();
       return std::string("void");
     }},
    {"resume()",
     [](Task& x) {
       x.resume();
       return std::string("void");
     }},
    {"suspend_count()", [](Task& x) { return str(x.suspend_count()); }},
#if defined(__x86_64__) || defined(__aarch64__)
    {"registers()",
     [](Task& x) {
       x.registers(1);
       return std::string("registers");
     }},
#endif
  };
  for (const auto& [name, call] : methods) {
    const std::string b = behaviour([&, &call = call] { return call(t); });
    EXPECT_TRUE(throws_ebadf(b)) << "moved-from Task::" << name << ": " << b;
  }
}

TEST(HostileHandles, MovedFromChildThrowsEbadfAndNeverSaysStillRunning) {
  Handles h;
  Child& c = *h.moved_child;
  EXPECT_EQ(c.pid(), -1);
  EXPECT_EQ(c.exit_fd(), -1);
  EXPECT_EQ(c.pidfd(), -1);
  const std::vector<std::pair<const char*, std::function<std::string()>>> methods = {
      {"wait_for(100 ms)",
       [&] {
         const auto st = c.wait_for(std::chrono::milliseconds(100));
         return st ? st->to_string() : std::string("nullopt (\"still running\")");
       }},
      {"try_wait()",
       [&] {
         const auto st = c.try_wait();
         return st ? st->to_string() : std::string("nullopt (\"still running\")");
       }},
      {"wait()", [&] { return c.wait().to_string(); }},
      {"signal(SIGTERM)",
       [&] {
         c.signal(SIGTERM);
         return std::string("void");
       }},
      {"kill()",
       [&] {
         c.kill();
         return std::string("void");
       }},
  };
  for (const auto& [name, call] : methods) {
    const std::string b = behaviour(call);
    EXPECT_TRUE(throws_ebadf(b)) << "moved-from Child::" << name << ": " << b;
  }
}
