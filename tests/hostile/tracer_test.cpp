// SPDX-License-Identifier: MIT
// The tracer thread under hostile conditions (issue 10, cases 3, 5 and 12b,
// and the tracer scenarios of its Tests section): no thread can be started
// (RLIMIT_NPROC), fork() in the application after the tracer started,
// another tracer already attached, suspend() from eight threads at once, a
// target that forks, execs and spawns threads at a high rate, a Task
// destroyed while suspended. Observed from outside: thread states in
// /proc/<pid>/task/*/stat, TracerPid, the target's own progress, waitid.
#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hostile_support.hpp"
#include "support.hpp"

using namespace tp_hostile;
using taskport::Child;
using taskport::Command;
using taskport::Stdio;
using taskport::Task;

namespace {

constexpr uid_t kNobody = 65534;

// Sets the soft RLIMIT_NPROC (the hard limit stays, so it can be raised
// back without privileges) until restore() or destruction.
class ProcessLimit {
 public:
  explicit ProcessLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NPROC, &old_);
    rlimit lim = old_;
    lim.rlim_cur = soft;
    set_ = ::setrlimit(RLIMIT_NPROC, &lim) == 0;
  }
  ~ProcessLimit() { restore(); }
  void restore() {
    if (set_) ::setrlimit(RLIMIT_NPROC, &old_);
    set_ = false;
  }

 private:
  rlimit old_{};
  bool set_ = false;
};

// The calling thread's signal mask must be what it was before a failed
// call; if it is not, it is reported and put back (so that the deadlines of
// the rest of the scenario, which rely on SIGALRM, still work).
void check_mask_restored(Report& r, const sigset_t& before, const std::string& what) {
  sigset_t now;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
  bool same = true;
  for (int sig = 1; sig < NSIG; ++sig) same = same && sigismember(&now, sig) == sigismember(&before, sig);
  if (!r.check(same, "after " + what +
                         " the calling thread's signal mask is not restored (SIGALRM blocked: " +
                         std::string(sigismember(&now, SIGALRM) ? "yes" : "no") + ")")) {
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  }
}

// "every thread is in a ptrace stop" or what is not.
void check_all_stopped(Report& r, pid_t pid, const std::string& when) {
  std::vector<std::string> others;
  const bool all = all_in_ptrace_stop(pid, &others);
  r.check(all, when + ": threads not in a ptrace stop: " + join(others));
}

void check_none_stopped(Report& r, pid_t pid, const std::string& when) {
  const auto stuck = stopped_threads_after(pid, 200ms);
  r.check(stuck.empty(), when + ": threads still stopped: " + join(stuck));
}

// The thread ids of every thread of `pid`.
std::set<pid_t> threads_of(pid_t pid) {
  std::set<pid_t> tids;
  for (const auto& [tid, state] : thread_states(pid)) tids.insert(tid);
  return tids;
}

// Ticks of a --ticker target: true if a new line arrives within `wait`.
bool makes_progress(Target& t, std::chrono::milliseconds wait) {
  t.pending.clear();
  return read_line(t.child.stdout_pipe().get(), t.pending, wait).has_value();
}

// Progress after what was already written: drain, then look for more.
bool stays_still(Target& t, std::chrono::milliseconds wait) {
  t.pending.clear();
  drain(t.child.stdout_pipe().get(), 30ms);
  return drain(t.child.stdout_pipe().get(), wait).empty();
}

}  // namespace

// ---- case 3: no thread for the tracer (RLIMIT_NPROC) -------------------------------

// The first suspend() must start the tracer thread; when the kernel refuses
// (EAGAIN) that is an Error with its step, and the next suspend() works.
TEST(HostileTracer, FirstSuspendAtTheProcessLimitIsAnErrorAndTheNextSuspendWorks) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to become an unprivileged user (root ignores RLIMIT_NPROC)";
  expect_passed(isolated(60s, [](Report& r) {
    if (!r.check(drop_to(kNobody, kNobody).empty(), "cannot become uid 65534")) return;
    Lifeline line;
    auto [child, task] = lifeline_probe(line).spawn_with_task();
    child.kill_on_drop(true);
    ProcessLimit limit(0);
    r.note("suspend() with RLIMIT_NPROC 0");
    sigset_t mask;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    r.within(10s, "suspend() at the process limit", [&, &task = task] {
      try {
        task.suspend();
        r.note("suspend() succeeded at the process limit");
        task.resume();
      } catch (const taskport::Error& e) {
        r.check(e.errno_value() == EAGAIN, std::string("expected EAGAIN, got ") + e.what());
        r.note(std::string("refused: ") + e.what());
      } catch (...) {
        r.fail("suspend() at the process limit threw " + describe_current_exception());
      }
    });
    check_mask_restored(r, mask, "the failed suspend()");
    limit.restore();
    r.note("suspend() with the limit lifted");
    if (!r.within(10s, "suspend() once the process limit is lifted", [&, &task = task] { task.suspend(); }))
      return;
    check_all_stopped(r, child.pid(), "after suspend()");
    r.within(10s, "resume()", [&, &task = task] { task.resume(); });
    check_none_stopped(r, child.pid(), "after resume()");
  }));
}

// The same for a start_suspended spawn, whose clone runs on the tracer thread.
TEST(HostileTracer, StartSuspendedSpawnAtTheProcessLimitIsAnErrorAndTheNextOneWorks) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to become an unprivileged user (root ignores RLIMIT_NPROC)";
  expect_passed(isolated(60s, [](Report& r) {
    if (!r.check(drop_to(kNobody, kNobody).empty(), "cannot become uid 65534")) return;
    Command cmd = tp_test::probe({"--exit", "0"});
    cmd.start_suspended();
    sigset_t mask;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    {
      ProcessLimit limit(0);
      r.within(10s, "spawn_with_task() with start_suspended at the process limit", [&] {
        try {
          auto [child, task] = cmd.spawn_with_task();
          r.fail("spawn_with_task() succeeded although no process or thread can be started");
        } catch (const taskport::Error& e) {
          r.check(e.errno_value() == EAGAIN, std::string("expected EAGAIN, got ") + e.what());
          r.note(std::string("refused: ") + e.what());
        } catch (...) {
          r.fail("spawn_with_task() at the process limit threw " + describe_current_exception());
        }
      });
    }
    check_mask_restored(r, mask, "the failed spawn_with_task()");
    r.within(10s, "a start_suspended spawn + resume() once the limit is lifted", [&] {
      auto [child, task] = cmd.spawn_with_task();
      child.kill_on_drop(true);
      task.resume();
      const auto status = child.wait_for(10s);
      r.check(status && status->success(), "the probe did not run to a successful exit");
    });
  }));
}

// ---- case 5: fork() after the tracer started -----------------------------------------

// A forked child of an application whose tracer thread is running (and
// waiting on its condition variable) gets a working tracer of its own.
// Five forks, each after more work of the tracer: each must work.
TEST(HostileTracer, ForkedChildOfAnApplicationThatUsedTheTracerCanUseItAgain) {
  expect_passed(isolated(60s, [](Report& r) {
    for (int attempt = 0; attempt < 5 && r.failures() == 0; ++attempt) {
      // The tracer's state at fork() differs with what it did last.
      r.within(10s, "start_suspended spawn + resume() before fork()", [&] {
        auto [child, task] = tp_test::probe({"--exit", "0"}).start_suspended().spawn_with_task();
        task.resume();
        r.check(child.wait_for(10s).has_value(), "the probe did not exit");
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt));
      forward(
          r,
          isolated(
              15s,
              [](Report& inner) {
                inner.within(10s, "start_suspended spawn + resume() in the forked child", [&] {
                  auto [child, task] = tp_test::probe({"--exit", "0"}).start_suspended().spawn_with_task();
                  child.kill_on_drop(true);
                  task.resume();
                  const auto status = child.wait_for(10s);
                  inner.check(status && status->success(), "the probe did not run to a successful exit");
                });
              }),
          "in forked child " + std::to_string(attempt + 1) + " of 5: ");
    }
  }));
}

// The same with a suspension active at fork() time: the tracer thread then
// wakes every 20 ms to scan for exited threads, holding its lock now and
// then — a fork() at such a moment copies the lock held. Several forks, so
// that one lands in that window.
TEST(HostileTracer, ForkedChildOfAnApplicationWithASuspendedTaskCanSuspendItsOwn) {
  expect_passed(isolated(60s, [](Report& r) {
    Target parents = spawn_target(r, {"--ticker"});
    if (!r.within(10s, "suspend() before fork()", [&] { parents.task.suspend(); })) return;
    for (int attempt = 0; attempt < 5 && r.failures() == 0; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3 + 7 * attempt));
      forward(r,
              isolated(10s,
                       [](Report& inner) {
                         inner.within(8s, "suspend()/resume() of a new target in the forked child", [&] {
                           Target own = spawn_target(inner, {"--ticker"});
                           own.task.suspend();
                           check_all_stopped(inner, own.child.pid(), "own target after suspend()");
                           own.task.resume();
                           check_none_stopped(inner, own.child.pid(), "own target after resume()");
                         });
                       }),
              "in forked child " + std::to_string(attempt + 1) + " of 5: ");
    }
    r.within(10s, "resume() after the forks", [&] { parents.task.resume(); });
  }));
}

// What fork() copies must not act on the parent's processes in the child:
// dropping the copy of a kill_on_drop Child kills nothing, dropping the copy
// of a suspended Task neither resumes nor blocks.
TEST(HostileTracer, CopiesOfChildAndTaskInAForkedChildDoNotActOnTheParentsProcesses) {
  expect_passed(isolated(60s, [](Report& r) {
    Lifeline line;
    std::optional<Child> child;
    std::optional<Task> task;
    {
      auto [c, t] = lifeline_probe(line).spawn_with_task();
      c.kill_on_drop(true);
      child.emplace(std::move(c));
      task.emplace(std::move(t));
    }
    const pid_t pid = child->pid();
    if (!r.within(10s, "suspend()", [&] { task->suspend(); })) return;
    forward(r,
            isolated(20s,
                     [&](Report& inner) {
                       inner.within(10s, "dropping the forked copies of the Child and the suspended Task",
                                    [&] {
                                      task.reset();
                                      child.reset();
                                    });
                     }),
            "in the forked child: ");
    const char state = process_state(pid);
    if (!r.check(state != 'Z' && state != '?',
                 std::string("the parent's child was killed by the forked copy of its Child (state ") +
                     state + ")")) {
      return;
    }
    check_all_stopped(r, pid, "the parent's suspended target after the forked child dropped its copy");
    r.within(10s, "resume() in the parent", [&] { task->resume(); });
    check_none_stopped(r, pid, "after resume()");
  }));
}

// What fork() copies is documented (taskport/child.hpp, task.hpp): in the
// forked process the copy of a Child refuses to act on the parent's child
// (ECHILD), and the copy of a Task works — with suspensions of its own,
// made by the forked process's own tracer. The parent's objects are
// untouched by all of it.
TEST(HostileTracer, InAForkedChildTheChildCopyRefusesAndTheTaskCopySuspendsOnItsOwn) {
  expect_passed(isolated(60s, [](Report& r) {
    Target t = spawn_target(r, {"--ticker"});
    const pid_t pid = t.child.pid();
    forward(
        r,
        isolated(30s,
                 [&](Report& inner) {
                   const auto refuses = [&](const char* what, const std::function<void()>& call) {
                     try {
                       call();
                       inner.fail(std::string("the forked copy of the Child: ") + what + " did not throw");
                     } catch (const taskport::Error& e) {
                       inner.check(e.errno_value() == ECHILD,
                                   std::string(what) + ": expected ECHILD, got " + e.what());
                     }
                   };
                   refuses("wait_for()", [&] { t.child.wait_for(10ms); });
                   refuses("try_wait()", [&] { t.child.try_wait(); });
                   refuses("signal(SIGTERM)", [&] { t.child.signal(SIGTERM); });
                   refuses("kill()", [&] { t.child.kill(); });
                   inner.within(20s, "suspend()/resume() through the forked copy of the Task", [&] {
                     inner.check(!t.task.regions().empty(), "the copy lists no regions");
                     t.task.suspend();
                     check_all_stopped(inner, pid, "after the copy's suspend()");
                     const pid_t tracer = tp_test::tracer_pid(pid);
                     inner.check(tracer > 0 && threads_of(::getpid()).count(tracer) != 0,
                                 "the target is traced by " + std::to_string(tracer) +
                                     ", not by a thread of the forked process");
                     t.task.resume();
                     check_none_stopped(inner, pid, "after the copy's resume()");
                   });
                 }),
        "in the forked child: ");
    const char state = process_state(pid);
    r.check(state != 'Z' && state != '?', std::string("the parent's child is gone (state ") + state + ")");
    r.within(10s, "the parent's Child and Task afterwards", [&] {
      r.check(!t.child.try_wait().has_value(), "the parent's Child says its child ended");
      t.task.suspend();
      check_all_stopped(r, pid, "after the parent's suspend()");
      t.task.resume();
      check_none_stopped(r, pid, "after the parent's resume()");
      r.check(makes_progress(t, 5s), "the target makes no progress");
    });
  }));
}

// The copy of a Task the parent holds suspended has no suspension of its
// own: its count starts at 0, and its suspend() fails naming the parent's
// tracer (a thread has one tracer at a time) — the parent's stays intact.
TEST(HostileTracer, InAForkedChildTheParentsSuspensionIsNotTheTaskCopys) {
  expect_passed(isolated(60s, [](Report& r) {
    Target t = spawn_target(r, {"--ticker"});
    const pid_t pid = t.child.pid();
    if (!r.within(10s, "suspend() in the parent", [&] { t.task.suspend(); })) return;
    const pid_t parents_tracer = tp_test::tracer_pid(pid);
    forward(
        r,
        isolated(
            30s,
            [&](Report& inner) {
              inner.within(20s, "the forked copy of the suspended Task", [&] {
                inner.check(t.task.suspend_count() == 0,
                            "suspend_count() of the copy is " + std::to_string(t.task.suspend_count()));
                try {
                  t.task.suspend();
                  inner.fail("the copy's suspend() succeeded although the parent's tracer holds the task");
                } catch (const taskport::Error& e) {
                  inner.check(e.errno_value() == EPERM && std::string(e.what()).find(std::to_string(
                                                              parents_tracer)) != std::string::npos,
                              std::string("expected EPERM naming the parent's tracer, got ") + e.what());
                }
                try {
                  t.task.resume();
                  inner.fail("the copy's resume() succeeded without a suspension of its own");
                } catch (const taskport::Error& e) {
                  inner.check(e.errno_value() == EINVAL, std::string("expected EINVAL, got ") + e.what());
                }
              });
            }),
        "in the forked child: ");
    check_all_stopped(r, pid, "the parent's suspended target after the forked child");
    r.within(10s, "resume() in the parent", [&] { t.task.resume(); });
    check_none_stopped(r, pid, "after resume()");
  }));
}

// ---- the tracer keeps what it cannot let go ----------------------------------------------

// A thread that waits in the kernel where no ptrace stop can reach it (a
// vfork parent, state D) makes suspend() fail with ETIMEDOUT after its 5 s;
// the tracer keeps that thread — seized and asked to stop — and lets it go
// as soon as it stops: once the vfork is done no thread is left stopped and
// the target runs on.
TEST(HostileTracer, AThreadThatCannotStopInTimeIsLetGoOnceItStops) {
  expect_passed(isolated(60s, [](Report& r) {
    Target t = spawn_target(r, {"--ticker", "--vfork-sleep", "8000"});
    const pid_t pid = t.child.pid();
    if (!r.check(eventually([&] { return !threads_in_state(pid, "D").empty(); }, 5s),
                 "no thread of the target waits in its vfork (state D)")) {
      return;
    }
    r.within(15s, "suspend() of a target with a thread in vfork", [&] {
      try {
        t.task.suspend();
        r.note("suspend() succeeded (the vfork ended first)");
        t.task.resume();
      } catch (const taskport::Error& e) {
        r.check(e.errno_value() == ETIMEDOUT, std::string("expected ETIMEDOUT, got ") + e.what());
      }
    });
    r.check(eventually([&] { return threads_in_state(pid, "D").empty(); }, 15s),
            "the vfork did not end: " + join(threads_in_state(pid, "D")));
    const auto stuck = stopped_threads_after(pid, 3s);
    r.check(stuck.empty(), "after the vfork ended threads are still stopped: " + join(stuck));
    r.check(tp_test::tracer_pid(pid) == 0,
            "the target is still traced by " + std::to_string(tp_test::tracer_pid(pid)));
    r.check(makes_progress(t, 5s), "the target makes no progress");
    r.within(10s, "suspend()/resume() afterwards", [&] {
      t.task.suspend();
      t.task.resume();
    });
  }));
}

// ---- case 12b: another tracer ---------------------------------------------------------

// suspend() of a process that someone else (gdb, strace) traces fails; the
// error must name that tracer, not suggest CAP_SYS_PTRACE to a root caller.
TEST(HostileTracer, SuspendingATaskTracedByAnotherTracerNamesThatTracer) {
  expect_passed(isolated(30s, [](Report& r) {
    Lifeline line;
    auto [child, task] = lifeline_probe(line).spawn_with_task();
    child.kill_on_drop(true);
    const pid_t target = child.pid();
    Lifeline tracer_line;
    const pid_t tracer = ::fork();
    if (tracer == 0) {
      // Only async-signal-safe calls: this process may have threads.
      ::close(tracer_line.write_end);
      if (::ptrace(PTRACE_SEIZE, target, nullptr, nullptr) != 0) ::_exit(1);
      char byte;
      while (::read(tracer_line.read_end, &byte, 1) < 0 && errno == EINTR) {
      }
      ::_exit(0);
    }
    ::close(tracer_line.read_end);
    tracer_line.read_end = -1;
    if (!r.check(eventually([&] { return tp_test::tracer_pid(target) == tracer; }, 5s),
                 "the other tracer did not attach")) {
      return;
    }
    r.within(10s, "suspend() of a task traced by another process", [&, &task = task] {
      try {
        task.suspend();
        r.fail("suspend() succeeded although another process traces the task");
      } catch (const taskport::Error& e) {
        const std::string what = e.what();
        r.note(what);
        r.check(e.step() == taskport::Step::suspend, std::string("step: ") + taskport::to_string(e.step()));
        r.check(what.find(std::to_string(tracer)) != std::string::npos,
                "the error does not name the other tracer (pid " + std::to_string(tracer) + "): " + what);
        if (::geteuid() == 0) {
          r.check(what.find("CAP_SYS_PTRACE") == std::string::npos,
                  "the error suggests CAP_SYS_PTRACE to a caller that is root: " + what);
        }
      } catch (...) {
        r.fail("suspend() threw " + describe_current_exception());
      }
    });
    tracer_line.cut();
    int status;
    ::waitpid(tracer, &status, 0);
  }));
}

// ---- concurrency and churn -------------------------------------------------------------

// Eight threads call suspend() on one Task at the same moment, then eight
// call resume(): the count is exact and every thread of the target stops and
// runs again.
TEST(HostileTracer, SuspendFromEightThreadsAtOnceOnOneTask) {
  const int rounds = repetitions(50, 10);
  expect_passed(isolated(80s, [rounds](Report& r) {
    Target t = spawn_target(r, {"--ticker"});
    const pid_t pid = t.child.pid();
    auto all_at_once = [&](bool suspend) {
      std::mutex mu;
      std::condition_variable cv;
      bool go = false;
      std::atomic<int> errors{0};
      std::vector<std::thread> threads;
      for (int k = 0; k < 8; ++k) {
        threads.emplace_back([&] {
          {
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return go; });
          }
          try {
            suspend ? t.task.suspend() : t.task.resume();
          } catch (...) {
            if (errors.fetch_add(1) == 0)
              r.fail(std::string(suspend ? "suspend()" : "resume()") + " threw " +
                     describe_current_exception());
          }
        });
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        go = true;
      }
      cv.notify_all();
      for (auto& th : threads) th.join();
    };
    for (int i = 0; i < rounds && r.failures() == 0; ++i) {
      if (!r.within(20s, "suspend() from 8 threads", [&] { all_at_once(true); })) return;
      r.check(t.task.suspend_count() == 8,
              "suspend_count() " + std::to_string(t.task.suspend_count()) + ", expected 8");
      check_all_stopped(r, pid, "round " + std::to_string(i) + " after 8 suspends");
      r.check(stays_still(t, 50ms), "round " + std::to_string(i) + ": the target ticked while suspended");
      if (!r.within(20s, "resume() from 8 threads", [&] { all_at_once(false); })) return;
      r.check(t.task.suspend_count() == 0,
              "suspend_count() " + std::to_string(t.task.suspend_count()) + ", expected 0");
      check_none_stopped(r, pid, "round " + std::to_string(i) + " after 8 resumes");
      r.check(makes_progress(t, 5s), "round " + std::to_string(i) + ": no progress after the last resume()");
    }
  }));
}

// A target that keeps creating threads and forking children that exec
// /bin/true: every suspend() stops all of its threads (it makes no progress),
// every resume() lets all of them go, and in the end it is reaped.
TEST(HostileTracer, TargetThatForksExecsAndSpawnsThreadsStopsCompletelyAndRunsOn) {
  const int rounds = repetitions(200, 40);
  expect_passed(isolated(80s, [rounds](Report& r) {
    Target t = spawn_target(r, {"--ticker", "--churn-life", "1000", "--churn", "4", "--forkers", "2"});
    const pid_t pid = t.child.pid();
    for (int i = 0; i < rounds && r.failures() < 3; ++i) {
      const std::string round = "round " + std::to_string(i);
      bool suspended = false;
      if (!r.within(15s, "suspend()", [&] {
            try {
              t.task.suspend();
              suspended = true;
            } catch (...) {
              r.fail(round + ": suspend() threw " + describe_current_exception());
            }
          })) {
        return;
      }
      if (!suspended) continue;
      // Threads that exited while being suspended may linger as zombies (a
      // zombie runs no code; that they are reaped is case 1's test).
      const std::vector<std::string> running = threads_in_state(pid, "RSD");
      r.check(running.empty(), round + ": after suspend() threads are not stopped: " + join(running));
      r.check(stays_still(t, 30ms), round + ": the target made progress while suspended");
      if (!r.within(15s, "resume()", [&] { t.task.resume(); })) return;
      const auto stuck = stopped_threads_after(pid, 200ms);
      r.check(stuck.empty(), round + ": after resume() threads are still stopped: " + join(stuck));
      r.check(makes_progress(t, 5s), round + ": no progress after resume()");
      if (i % 20 == 0) r.note(round);
    }
    write_str(t.child.stdin_pipe().get(), "exit 0\n");
    const auto status = t.child.wait_for(5s);
    r.check(status.has_value(), "the target exited but could not be reaped within 5 s; its threads: " +
                                    join(threads_in_state(pid, "RSDtTZX")));
  }));
}

// A Task destroyed while it holds a suspension restores the target: it makes
// progress again, and no thread stays stopped.
TEST(HostileTracer, TaskDestroyedWhileSuspendedLetsTheTargetRunOn) {
  expect_passed(isolated(30s, [](Report& r) {
    Target t = spawn_target(r, {"--ticker"});
    const pid_t pid = t.child.pid();
    if (!r.within(10s, "suspend() twice", [&] {
          t.task.suspend();
          t.task.suspend();
        })) {
      return;
    }
    r.check(stays_still(t, 50ms), "the target ticked while suspended");
    // Destroyed on another thread than the one that suspended.
    std::optional<Task> task(std::move(t.task));
    r.within(10s, "destroying the suspended Task on another thread",
             [&] { std::thread([&] { task.reset(); }).join(); });
    r.check(makes_progress(t, 5s), "the target makes no progress after its suspended Task was destroyed");
    check_none_stopped(r, pid, "after the Task was destroyed");
  }));
}

// The same for the first suspension of a start_suspended spawn: destroying
// the Task without resume() starts the program.
TEST(HostileTracer, StartSuspendedTaskDestroyedWithoutResumeLetsTheProgramRun) {
  expect_passed(isolated(30s, [](Report& r) {
    r.within(20s, "start_suspended spawn, Task destroyed, wait", [&] {
      std::optional<Child> child;
      {
        auto [c, t] = tp_test::probe({"--exit", "7"}).start_suspended().spawn_with_task();
        c.kill_on_drop(true);
        child.emplace(std::move(c));
      }  // the Task goes here
      const auto status = child->wait_for(10s);
      r.check(status.has_value() && status->code() == 7,
              "the program did not run to its exit after its Task was destroyed: " +
                  (status ? status->to_string() : std::string("still not exited after 10 s")));
    });
  }));
}
