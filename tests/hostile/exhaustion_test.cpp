// SPDX-License-Identifier: MIT
// RLIMIT_NOFILE exhausted (issue 10, cases 4 and 12a, and the NOFILE
// scenarios of its Tests section): with exactly n descriptors free (n = 0,
// 1, 2, ...) spawn, suspend, accept, fork_with_task and the reaper's first
// hand-off either work or fail with a clear EMFILE, leak no descriptor,
// leave no process stopped or unreaped, and work again once descriptors are
// free. Observed from outside: /proc/self/fd, /proc/<pid>/task/*/stat,
// waitid(WNOWAIT).
//
// Skipped in builds with UBSan: its vptr check tests that a vtable is
// readable by writing it into a pipe (sanitizer_common
// IsAccessibleMemoryRange); with no descriptor free that pipe cannot be made
// and the check reports a false "does not point to an object of type" (its
// suppressions cannot match either: they need the same read). Release, ASan-
// only and TSan builds run them.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "hostile_support.hpp"
#include "support.hpp"

using namespace tp_hostile;
using taskport::Child;
using taskport::Command;
using taskport::Rendezvous;
using taskport::Stdio;
using taskport::Task;

namespace {

#if defined(TP_HOSTILE_UBSAN)
#define SKIP_UNDER_UBSAN() \
  GTEST_SKIP() << "UBSan's vptr check needs a free descriptor (it probes memory through a pipe)"
#else
#define SKIP_UNDER_UBSAN() \
  do {                     \
  } while (false)
#endif

// A first hand-off to the library's reaper: a child that runs on when its
// Child is dropped (not killed: a kill_on_drop child may be dead, and
// reaped at once, before the drop is over — then nothing is handed off).
// The reaper and its eventfd exist afterwards, so that they are not counted
// as a leak of the runs that follow.
void warm_up_reaper(Report& r) {
  r.within(15s, "a first hand-off to the reaper", [&] {
    Lifeline line;
    { Child running = lifeline_probe(line).spawn(); }
    line.cut();
  });
}

// One honest rendezvous, and the reaper's first hand-off.
void warm_up(Report& r) {
  r.within(15s, "a first rendezvous", [&] {
    Rendezvous rdv;
    Sender s = spawn_sender(rdv, {"--honest", "--wait-stdin"});
    rdv.accept(s.child, std::chrono::seconds(5));
  });
  warm_up_reaper(r);
}

}  // namespace

// ---- spawn and suspend ---------------------------------------------------------------

// With n = 0, 1, 2, ... descriptors free, spawn() (stdio piped),
// spawn_with_task() and a start_suspended spawn either work or fail with
// EMFILE, leak nothing, leave no child behind; all work once fds are free.
TEST(HostileExhaustion, SpawnOutOfDescriptorsFailsWithEmfileLeaksNothingAndWorksAgain) {
  SKIP_UNDER_UBSAN();
  expect_passed(isolated(90s, [](Report& r) {
    struct Variant {
      const char* name;
      bool task, suspended;
    };
    const Variant variants[] = {{"spawn()", false, false},
                                {"spawn_with_task()", true, false},
                                {"spawn_with_task() start_suspended", true, true}};
    const std::set<int> before = open_fds();
    for (const Variant& v : variants) {
      for (int free_slots = 0; free_slots <= 10; ++free_slots) {
        const std::string with =
            std::string(v.name) + " with " + std::to_string(free_slots) + " free descriptors: ";
        std::string outcome = "ok";
        r.within(15s, with, [&] {
          Command cmd = tp_test::probe({"--exit", "0"});
          cmd.standard_input(Stdio::piped()).standard_output(Stdio::piped()).standard_error(Stdio::null());
          cmd.start_suspended(v.suspended);
          FdExhaustion exhaustion(free_slots);
          if (!r.check(exhaustion.ok(), exhaustion.error())) return;
          try {
            std::optional<Child> child;
            std::optional<Task> task;
            if (v.task) {
              auto [c, t] = cmd.spawn_with_task();
              child.emplace(std::move(c));
              task.emplace(std::move(t));
            } else {
              child.emplace(cmd.spawn());
            }
            exhaustion.release();
            child->kill_on_drop(true);
            if (v.suspended) task->resume();
            child->stdin_pipe().reset();
            const auto status = child->wait_for(10s);
            r.check(status && status->success(), with + "the child did not exit 0");
          } catch (const taskport::Error& e) {
            outcome = std::string(strerrorname_np(e.errno_value())) + " at " + taskport::to_string(e.step());
            r.check(is_out_of_descriptors(e.errno_value()),
                    with + "failed with " + describe_current_exception());
          } catch (...) {
            r.fail(with + "threw " + describe_current_exception());
          }
        });
        r.note(with + outcome);
        const auto leaked = leaked_since(before);
        r.check(leaked.empty(), with + "descriptors leaked: " + describe_fds(leaked));
        const auto left = leftovers_after(::getpid(), 2s);
        for (const auto& l : left) r.fail(with + "left behind: " + l.to_string());
        if (!left.empty()) return;
      }
    }
  }));
}

// With n descriptors free, suspend() either stops every thread or fails
// with EMFILE (not ESRCH: the task has not exited) and leaves no thread
// stopped; once descriptors are free, suspend() and resume() work.
TEST(HostileExhaustion, SuspendOutOfDescriptorsFailsWithEmfileAndLeavesNothingStopped) {
  SKIP_UNDER_UBSAN();
  expect_passed(isolated(90s, [](Report& r) {
    warm_up_reaper(r);
    const std::set<int> before = open_fds();
    for (int free_slots = 0; free_slots <= 6; ++free_slots) {
      const std::string with = "suspend() with " + std::to_string(free_slots) + " free descriptors: ";
      const std::set<int> leaked = leaked_since(before);
      r.check(leaked.empty(), "before " + with + "descriptors leaked: " + describe_fds(leaked));
      Target t = spawn_target(r, {"--ticker"});
      const pid_t pid = t.child.pid();
      bool suspended = false;
      r.within(15s, with, [&] {
        FdExhaustion exhaustion(free_slots);
        if (!r.check(exhaustion.ok(), exhaustion.error())) return;
        try {
          t.task.suspend();
          suspended = true;
        } catch (const taskport::Error& e) {
          r.check(is_out_of_descriptors(e.errno_value()),
                  with + "failed with " + describe_current_exception());
        } catch (...) {
          r.fail(with + "threw " + describe_current_exception());
        }
      });
      if (suspended) {
        std::vector<std::string> others;
        const bool all = all_in_ptrace_stop(pid, &others);
        r.check(all, with + "returned, but threads run on: " + join(others));
        r.within(10s, "resume()", [&] { t.task.resume(); });
      } else {
        const auto stuck = stopped_threads_after(pid, 200ms);
        r.check(stuck.empty(), with + "failed and left threads stopped: " + join(stuck));
      }
      r.within(10s, with + "then suspend()/resume() with descriptors free", [&] {
        t.task.suspend();
        t.task.resume();
      });
    }
    const std::set<int> leaked = leaked_since(before);
    r.check(leaked.empty(), "descriptors leaked: " + describe_fds(leaked));
  }));
}

// ---- the reaper ----------------------------------------------------------------------

// Case 4: the first hand-off to the reaper (a running Child dropped) comes
// when no descriptor is free for its eventfd: the reaper must not stop for
// good — both that child and every later one are reaped when they exit.
TEST(HostileExhaustion, FirstReaperHandOffWithoutAFreeDescriptorDoesNotDisableTheReaper) {
  SKIP_UNDER_UBSAN();
  expect_passed(isolated(30s, [](Report& r) {
    drop_two_children(r, [&r] {
      auto exhaustion = std::make_shared<FdExhaustion>(0);
      r.check(exhaustion->ok(), "could not exhaust descriptors: " + exhaustion->error());
      return [exhaustion] { exhaustion->release(); };
    });
  }));
}

// ---- rendezvous and fork_with_task (case 12a) -------------------------------------------

// With n = 0, 1, 2, ... descriptors free, fork_with_task either works or
// fails with EMFILE — never EPROTO — and leaks nothing; it works again once
// descriptors are free.
TEST(HostileExhaustion, ForkWithTaskOutOfDescriptorsFailsWithEmfileAndLeaksNothing) {
  SKIP_UNDER_UBSAN();
  expect_passed(isolated(60s, [](Report& r) {
    warm_up(r);
    const std::set<int> before = open_fds();
    for (int free_slots = 0; free_slots <= 8; ++free_slots) {
      const std::string with = "with " + std::to_string(free_slots) + " free descriptors: ";
      r.within(15s, with + "fork_with_task()", [&] {
        FdExhaustion exhaustion(free_slots);
        if (!r.check(exhaustion.ok(), exhaustion.error())) return;
        try {
          auto [child, task] = taskport::fork_with_task([] { return 0; });
          exhaustion.release();
          const auto status = child.wait_for(std::chrono::seconds(5));
          r.check(status && status->success(), with + "the forked child did not exit 0");
        } catch (const taskport::Error& e) {
          r.check(
              is_out_of_descriptors(e.errno_value()),
              with + "fork_with_task() failed with " + describe_current_exception() + "; expected EMFILE");
        } catch (...) {
          r.fail(with + "fork_with_task() threw " + describe_current_exception());
        }
      });
      const std::set<int> leaked = leaked_since(before);
      r.check(leaked.empty(), with + "descriptors leaked: " + describe_fds(leaked));
    }
    r.within(10s, "fork_with_task() with descriptors free again", [&] {
      auto [child, task] = taskport::fork_with_task([] { return 0; });
      r.check(child.wait_for(std::chrono::seconds(5)).has_value(), "the forked child did not exit");
    });
  }));
}

// The child has sent its pidfd, mem and maps; with n descriptors free,
// accept() either returns the Task or fails with EMFILE (the kernel could
// not install them) — never EPROTO, never a leak — and the next rendezvous
// works once descriptors are free.
TEST(HostileExhaustion, AcceptOutOfDescriptorsFailsWithEmfileAndLeaksNothing) {
  SKIP_UNDER_UBSAN();
  expect_passed(isolated(60s, [](Report& r) {
    warm_up(r);
    const std::set<int> before = open_fds();
    for (int free_slots = 0; free_slots <= 8; ++free_slots) {
      const std::string with = "with " + std::to_string(free_slots) + " free descriptors: ";
      r.within(15s, with + "accept()", [&] {
        Rendezvous rdv;
        Sender s = spawn_sender(rdv, {"--honest", "--wait-stdin"});
        if (!expect_line(r, s, "sent")) return;
        FdExhaustion exhaustion(free_slots);
        if (!r.check(exhaustion.ok(), exhaustion.error())) return;
        try {
          Task t = rdv.accept(s.child, std::chrono::seconds(5));
          exhaustion.release();
          r.check(t.is_alive(), with + "the accepted Task does not name the running child");
        } catch (const taskport::Error& e) {
          r.check(is_out_of_descriptors(e.errno_value()),
                  with + "accept() failed with " + describe_current_exception() + "; expected EMFILE");
        } catch (...) {
          r.fail(with + "accept() threw " + describe_current_exception());
        }
      });
      const std::set<int> leaked = leaked_since(before);
      r.check(leaked.empty(), with + "descriptors leaked: " + describe_fds(leaked));
    }
    r.within(15s, "a rendezvous with descriptors free again", [&] {
      Rendezvous rdv;
      Sender s = spawn_sender(rdv, {"--honest", "--wait-stdin"});
      Task t = rdv.accept(s.child, std::chrono::seconds(5));
      r.check(t.is_alive(), "the accepted Task does not name the running child");
    });
  }));
}
