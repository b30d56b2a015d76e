// SPDX-License-Identifier: MIT
// Limits and storms (issue 10, case 11, and the spawn/suspend scenarios of
// its Tests section): descriptor numbers near RLIMIT_NOFILE, no descriptor
// free during spawn and suspend, the process limit during spawn, 10,000
// inherited descriptors, and a signal storm at the spawning thread.
// Observed from the other side: the probe's own report of its descriptors,
// signal mask and handlers, the fd table of this process, /proc states.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "hostile_support.hpp"
#include "support.hpp"

using namespace tp_hostile;
using taskport::Child;
using taskport::Command;
using taskport::Stdio;
using taskport::Task;

namespace {

constexpr uid_t kNobody = 65534;

// Sets RLIMIT_NOFILE (soft and hard) for the lifetime of the object.
class DescriptorLimit {
 public:
  explicit DescriptorLimit(rlim_t limit) {
    ::getrlimit(RLIMIT_NOFILE, &old_);
    const rlimit lim{limit, std::max<rlim_t>(limit, old_.rlim_max)};
    ok_ = ::setrlimit(RLIMIT_NOFILE, &lim) == 0;
  }
  ~DescriptorLimit() { ::setrlimit(RLIMIT_NOFILE, &old_); }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  bool ok_ = false;
};

// The probe's --report through a stdout pipe, read within 20 s (scenario
// version of tp_test::report_via_stdout, which reports through gtest).
// `keep_task`: spawn with a Task and keep it there; `suspended`: the Command
// starts suspended, so resume the Task.
std::optional<tp_test::ProbeReport> probe_report(Report& r, Command cmd, const std::string& what,
                                                 std::optional<Task>* keep_task = nullptr,
                                                 bool suspended = false) {
  cmd.standard_output(Stdio::piped());
  std::optional<Child> child;
  try {
    if (keep_task != nullptr) {
      auto [c, t] = cmd.spawn_with_task();
      child.emplace(std::move(c));
      keep_task->emplace(std::move(t));
      if (suspended) (*keep_task)->resume();
    } else {
      child.emplace(cmd.spawn());
    }
  } catch (...) {
    r.fail(what + ": spawn threw " + describe_current_exception());
    return std::nullopt;
  }
  child->kill_on_drop(true);
  std::string text;
  const int out = child->stdout_pipe().get();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string more = drain(out, 200ms);
    text += more;
    if (text.find("\nend\n") != std::string::npos) break;
  }
  const auto status = child->wait_for(10s);
  r.check(status && status->success(), what + ": the probe did not exit 0");
  tp_test::ProbeReport report = tp_test::parse_report(text);
  if (!r.check(report.complete, what + ": incomplete probe report")) return std::nullopt;
  return report;
}

}  // namespace

// ---- case 11: descriptor numbers near the limit ------------------------------------------

// dup2 accepts any number below RLIMIT_NOFILE, and so must inherit_fd(): the
// child gets the descriptor at 19998 and 19999 with a limit of 20000.
TEST(HostileLimits, InheritFdWorksUpToTheLastDescriptorNumberBelowTheLimit) {
  DescriptorLimit limit(20000);
  ASSERT_TRUE(limit.ok()) << "cannot set RLIMIT_NOFILE to 20000";
  tp_test::Pipe p = tp_test::make_pipe();
  for (int child_fd : {19998, 19999}) {
    Command cmd = tp_test::probe({"--report"});
    cmd.inherit_fd(child_fd, p.read.get());
    try {
      const tp_test::ProbeReport report = tp_test::report_via_stdout(cmd);
      ASSERT_EQ(report.fds.count(child_fd), 1U) << "the child has no fd " << child_fd;
      EXPECT_EQ(report.fds.at(child_fd).id, tp_test::fd_identity(p.read.get()));
    } catch (const taskport::Error& e) {
      ADD_FAILURE() << "inherit_fd(" << child_fd << ", fd) with RLIMIT_NOFILE 20000: " << e.what();
    }
  }
}

// A child descriptor number whose successor overflows an int is refused
// cleanly (an Error, no child, no leak) — UBSan reports the overflow today.
TEST(HostileLimits, InheritFdAtIntMaxIsRefusedWithoutOverflow) {
  tp_test::Pipe p = tp_test::make_pipe();
  const std::set<int> before = open_fds();
  Command cmd = tp_test::probe({"--exit", "0"});
  cmd.inherit_fd(INT_MAX, p.read.get());
  try {
    Child c = cmd.spawn();
    c.kill_on_drop(true);
    ADD_FAILURE() << "inherit_fd(INT_MAX, fd) spawned a child";
  } catch (const taskport::Error& e) {
    EXPECT_TRUE(e.errno_value() == EBADF || e.errno_value() == EINVAL || e.errno_value() == EMFILE)
        << e.what();
  }
  EXPECT_TRUE(leaked_since(before).empty()) << describe_fds(leaked_since(before));
}

// ---- RLIMIT_NPROC during spawn ----------------------------------------------------------------

TEST(HostileLimits, SpawnAtTheProcessLimitFailsWithEagainAndWorksAgain) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to become an unprivileged user (root ignores RLIMIT_NPROC)";
  expect_passed(isolated(30s, [](Report& r) {
    if (!r.check(drop_to(kNobody, kNobody).empty(), "cannot become uid 65534")) return;
    const std::set<int> before = open_fds();
    rlimit old{};
    ::getrlimit(RLIMIT_NPROC, &old);
    rlimit none = old;
    none.rlim_cur = 0;
    ::setrlimit(RLIMIT_NPROC, &none);
    r.within(10s, "spawn() at the process limit", [&] {
      try {
        Child c = tp_test::probe({"--exit", "0"}).standard_output(Stdio::piped()).spawn();
        c.kill_on_drop(true);
        r.fail("spawn() succeeded at RLIMIT_NPROC 0");
      } catch (const taskport::Error& e) {
        r.check(e.errno_value() == EAGAIN, std::string("expected EAGAIN: ") + e.what());
      } catch (...) {
        r.fail("spawn() threw " + describe_current_exception());
      }
    });
    ::setrlimit(RLIMIT_NPROC, &old);
    const auto leaked = leaked_since(before);
    r.check(leaked.empty(), "descriptors leaked: " + describe_fds(leaked));
    r.within(10s, "spawn() once the limit is lifted", [&] {
      Child c = tp_test::probe({"--exit", "0"}).spawn();
      const auto st = c.wait_for(10s);
      r.check(st && st->success(), "the probe did not exit 0");
    });
  }));
}

// ---- 10,000 inherited descriptors ------------------------------------------------------------

// The parent has 10,000 descriptors without FD_CLOEXEC: the child sees
// exactly those (same files) and its stdio — never a descriptor of taskport
// (pidfd, socket, tracer or rendezvous ends) — for every spawn route.
TEST(HostileLimits, ChildSeesExactlyTheTenThousandInheritedDescriptorsAndNoneOfTaskports) {
  expect_passed(isolated(90s, [](Report& r) {
    DescriptorLimit limit(20000);
    if (!r.check(limit.ok(), "cannot raise RLIMIT_NOFILE to 20000")) return;
    const int null = ::open("/dev/null", O_RDONLY);
    std::set<int> ours = {null};
    for (int k = 1; k < 10000; ++k) {
      const int fd = ::dup(null);
      if (fd < 0) {
        r.fail(std::string("dup: ") + std::strerror(errno));
        return;
      }
      ours.insert(fd);
    }
    const std::string identity = tp_test::fd_identity(null);
    // What a child inherits: our 10,000 and whatever else this process holds
    // without FD_CLOEXEC (ctest's log, for one).
    const std::set<int> inherited = tp_test::inheritable_fds();
    taskport::set_preload_library(TP_HOSTILE_PRELOAD);
    struct Route {
      const char* name;
      std::function<Command()> make;
      bool task;
      bool suspended;
    };
    const Route routes[] = {
        {"spawn()", [] { return tp_test::probe({"--report"}); }, false, false},
        {"spawn_with_task()", [] { return tp_test::probe({"--report"}); }, true, false},
        {"spawn_with_task() start_suspended",
         [] {
           Command c = tp_test::probe({"--report"});
           c.start_suspended();
           return c;
         },
         true, true},
        {"spawn_with_task() task_via_preload",
         [] {
           Command c = tp_test::probe({"--report"});
           c.task_via_preload();
           return c;
         },
         true, false},
    };
    for (const Route& route : routes) {
      r.within(40s, route.name, [&] {
        std::optional<Task> task;
        const auto report =
            probe_report(r, route.make(), route.name, route.task ? &task : nullptr, route.suspended);
        if (!report) return;
        std::vector<std::string> wrong;
        for (const auto& [fd, seen] : report->fds) {
          if (fd <= 2) continue;
          if (inherited.count(fd) == 0)
            wrong.push_back(std::to_string(fd) + " -> " + seen.target + " (not inherited)");
          else if (ours.count(fd) != 0 && seen.id != identity)
            wrong.push_back(std::to_string(fd) + " -> " + seen.target + " (another file)");
        }
        size_t missing = 0;
        for (int fd : inherited)
          if (fd > 2 && report->fds.count(fd) == 0) ++missing;
        r.check(wrong.empty(), std::string(route.name) + ": the child has descriptors it was not given: " +
                                   join(std::vector<std::string>(
                                       wrong.begin(), wrong.begin() + std::min<size_t>(wrong.size(), 10))));
        r.check(missing == 0, std::string(route.name) + ": " + std::to_string(missing) + " of the " +
                                  std::to_string(inherited.size()) +
                                  " inherited descriptors are missing in the child");
      });
    }
  }));
}

// ---- a signal storm at the spawning thread ------------------------------------------------------

namespace {
std::atomic<long> g_signals{0};
void count_signal(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

// Another thread sends SIGUSR1 (handled, without SA_RESTART: every
// interruptible call sees EINTR) to the spawning thread every few
// microseconds. Every spawn, wait, suspend, resume and fork_with_task still
// returns its result; children get the spawning thread's mask and no
// handler of ours.
TEST(HostileLimits, SignalStormAtTheSpawningThread) {
  const int rounds = repetitions(1000, 150);
  expect_passed(isolated(90s, [rounds](Report& r) {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sa.sa_flags = 0;  // no SA_RESTART
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGUSR1, &sa, nullptr);
    r.within(80s, "spawning under a signal storm", [&] {
      const pid_t spawner = static_cast<pid_t>(::syscall(SYS_gettid));
      std::atomic<bool> stop{false};
      std::thread storm([&] {
        while (!stop.load()) {
          ::syscall(SYS_tgkill, ::getpid(), spawner, SIGUSR1);
          std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
      });
      for (int i = 0; i < rounds && r.failures() < 3; ++i) {
        const std::string round = "round " + std::to_string(i) + ": ";
        try {
          Child c = tp_test::probe({"--exit", "0"}).spawn();
          const auto st = c.wait_for(10s);
          r.check(st && st->success(), round + "spawn()+wait_for(): the probe did not exit 0");
          if (i % 10 == 0) {
            auto [sc, st2] = tp_test::probe({"--exit", "0"}).start_suspended().spawn_with_task();
            st2.resume();
            const auto e = sc.wait_for(10s);
            r.check(e && e->success(), round + "start_suspended + resume(): the probe did not exit 0");
          }
          if (i % 10 == 5) {
            Target t = spawn_target(r, {"--ticker"});
            t.task.suspend();
            t.task.resume();
          }
          if (i % 20 == 0) {
            auto [fc, ft] = taskport::fork_with_task([] { return 0; });
            const auto e = fc.wait_for(10s);
            r.check(e && e->success(), round + "fork_with_task(): the child did not exit 0");
          }
          if (i % 25 == 0) {
            const auto report = probe_report(r, tp_test::probe({"--report"}), round + "report");
            if (report) {
              r.check((report->sigcgt & (1ULL << (SIGUSR1 - 1))) == 0,
                      round + "the child inherited our SIGUSR1 handler");
              r.check((report->sigblk & (1ULL << (SIGUSR1 - 1))) == 0,
                      round + "the child's SIGUSR1 is blocked although the spawning thread's is not");
            }
          }
        } catch (...) {
          r.fail(round + describe_current_exception());
        }
      }
      stop = true;
      storm.join();
    });
    r.note(std::to_string(g_signals.load()) + " signals handled");
    r.check(g_signals.load() > rounds, "the storm did not reach the spawning thread");
  }));
}
