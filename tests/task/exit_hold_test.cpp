// SPDX-License-Identifier: MIT
// Task::hold_at_exit(), observed from the other side: tp_exit_marker writes a
// marker into its memory just before it exits, and the test reads it while
// the process is held; the kernel's view (/proc state, TracerPid) and the
// exit status the Child reaps say that nothing stays stopped or traced.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <taskport/taskport.hpp>

#include "support.hpp"

using namespace std::chrono_literals;
using taskport::Command;
using taskport::Error;
using taskport::ExitStatus;
using taskport::Stdio;
using taskport::Step;

namespace {

// A running tp_exit_marker with its Task; killed and reaped at the end.
class Marker {
 public:
  explicit Marker(bool start_suspended = false) {
    auto [child, task] = Command(TP_EXIT_MARKER)
                             .standard_input(Stdio::piped())
                             .standard_output(Stdio::piped())
                             .rlimit(RLIMIT_CORE, 0, 0)  // no core file for the SIGSEGV case
                             .start_suspended(start_suspended)
                             .spawn_with_task();
    child.kill_on_drop(true);
    child_.emplace(std::move(child));
    task_.emplace(std::move(task));
    if (!start_suspended) read_marker_line();
  }

  taskport::Child& child() { return *child_; }
  taskport::Task& task() { return *task_; }
  std::optional<taskport::Task>& task_slot() { return task_; }
  pid_t pid() const { return child_->pid(); }
  std::uint64_t marker() const { return marker_; }

  void read_marker_line() {
    const std::string line = read_line();
    std::istringstream in(line);
    std::string word, address;
    in >> word >> address;
    ASSERT_EQ(word, "marker") << "'" << line << "'";
    marker_ = std::strtoull(address.c_str(), nullptr, 16);
  }

  void send(const std::string& command) { tp_test::write_str(child_->stdin_pipe().get(), command + "\n"); }

  // One line of the helper's stdout ("" if none within kLong).
  std::string read_line() {
    const auto deadline = std::chrono::steady_clock::now() + tp_test::kLong;
    while (pending_.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      if (!tp_test::poll_readable(child_->stdout_pipe().get(), 50ms)) continue;
      char buf[512];
      const ssize_t n = ::read(child_->stdout_pipe().get(), buf, sizeof buf);
      if (n <= 0) break;
      pending_.append(buf, static_cast<std::size_t>(n));
    }
    const auto nl = pending_.find('\n');
    if (nl == std::string::npos) return "";
    std::string line = pending_.substr(0, nl);
    pending_.erase(0, nl + 1);
    return line;
  }

  std::string read_marker() {
    char buf[64] = {};
    task_->read(marker_, buf, sizeof buf - 1);
    return buf;
  }

 private:
  std::optional<taskport::Child> child_;
  std::optional<taskport::Task> task_;
  std::uint64_t marker_ = 0;
  std::string pending_;
};

std::string expected_marker(pid_t pid) { return "exit-marker-" + std::to_string(pid); }

// The process's state letter, '?' once it has been reaped.
char state_of(pid_t pid) {
  const auto stat = tp_test::proc_stat(pid);
  return stat ? stat->state : '?';
}

// Reaps the child within bounds and checks that nothing of it is left: no
// zombie, no process at all under its pid.
ExitStatus reap(Marker& m) {
  const ExitStatus status = tp_test::wait_exit(m.child());
  EXPECT_TRUE(tp_test::is_reaped(m.pid()));
  EXPECT_EQ(state_of(m.pid()), '?');
  return status;
}

}  // namespace

TEST(ExitHold, IsAvailableOnLinux) { EXPECT_TRUE(taskport::Task::can_hold_at_exit()); }

TEST(ExitHold, AMarkerWrittenJustBeforeExitIsReadWhileHeld) {
  Marker m;
  m.task().hold_at_exit();
  EXPECT_FALSE(m.task().is_held_at_exit());
  EXPECT_NE(m.task().held_at_exit_fd(), -1);
  m.send("exit 3");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  EXPECT_TRUE(m.task().is_held_at_exit());
  EXPECT_TRUE(tp_test::poll_readable(m.task().held_at_exit_fd(), 0ms));
  EXPECT_EQ(m.read_marker(), expected_marker(m.pid()));
  // Still mapped: the regions, with the one holding the marker.
  const auto region = m.task().region_at(m.marker());
  ASSERT_TRUE(region.has_value());
  EXPECT_FALSE(m.task().regions().empty());
  // The one thread, in a tracing stop; the process has not exited.
  const auto threads = m.task().threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].state, taskport::ThreadState::traced);
  EXPECT_TRUE(m.task().is_alive());
  EXPECT_FALSE(m.child().try_wait().has_value());
  m.task().release_exit_hold();
  EXPECT_FALSE(m.task().is_held_at_exit());
  const ExitStatus status = reap(m);
  EXPECT_EQ(status.code(), 3);
}

TEST(ExitHold, RegistersAtExitOnceSuspended) {
  Marker m;
  m.task().hold_at_exit();
  m.send("exit 0");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  m.task().suspend();
  const auto all = m.task().registers_all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].tid, m.pid());
  EXPECT_NE(all[0].registers.program_counter(), 0u);
  const auto code = m.task().region_at(all[0].registers.program_counter());
  ASSERT_TRUE(code.has_value());
  EXPECT_TRUE(code->protection.execute);
  m.task().resume();
  // resume() gives the thread back to the hold: still at its exit.
  EXPECT_TRUE(m.task().is_held_at_exit());
  EXPECT_EQ(m.read_marker(), expected_marker(m.pid()));
  EXPECT_FALSE(m.child().try_wait().has_value());
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).code(), 0);
}

TEST(ExitHold, AFatalSignalIsHeldAndTheStatusSaysSo) {
  Marker m;
  m.task().hold_at_exit();
  m.send("segv");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  EXPECT_EQ(m.read_marker(), expected_marker(m.pid()));
  m.task().release_exit_hold();
  const ExitStatus status = reap(m);
  EXPECT_EQ(status.signal(), SIGSEGV) << status.to_string();
}

TEST(ExitHold, ASignalsDefaultActionKillingItIsHeld) {
  Marker m;
  m.task().hold_at_exit();
  m.send("term");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  EXPECT_EQ(m.read_marker(), expected_marker(m.pid()));
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).signal(), SIGTERM);
}

TEST(ExitHold, AGroupExitFromAnotherThreadIsHeldAtItsLastThread) {
  Marker m;
  m.task().hold_at_exit();
  m.send("group-exit 9");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  EXPECT_EQ(m.read_marker(), expected_marker(m.pid()));
  // Soon only threads in their exit stop, or ended (a zombie main thread).
  // A thread the hold let go from its own exit stop (it is not the last)
  // may still show R for an instant while it finishes its exit (seen in
  // CI): what must not happen is a thread that stays runnable.
  auto not_ended = [&] {
    std::vector<std::string> left;
    for (const auto& t : m.task().threads()) {
      if (t.state != taskport::ThreadState::traced && t.state != taskport::ThreadState::zombie)
        left.push_back(std::to_string(t.tid) + " " + taskport::to_string(t.state));
    }
    return left;
  };
  const auto deadline = std::chrono::steady_clock::now() + tp_test::kLong;
  auto left = not_ended();
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    left = not_ended();
  }
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
  EXPECT_TRUE(m.task().is_held_at_exit());
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).code(), 9);
}

TEST(ExitHold, SignalsReachTheProgramWhileHolding) {
  Marker m;
  m.task().hold_at_exit();
  for (int i = 0; i < 3; ++i) {
    m.task().signal(SIGUSR1);
    EXPECT_EQ(m.read_line(), "usr1");
  }
  EXPECT_FALSE(m.task().is_held_at_exit());
  m.send("exit 0");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).code(), 0);
}

// An application thread that takes every stop report (waitid without
// __WNOTHREAD sees the tracer thread's tracees too): the tracer still finds
// each stop, by looking at the threads themselves.
TEST(ExitHold, StopsAreFoundWhenAnotherThreadTakesTheirReports) {
  Marker m;
  m.task().hold_at_exit();
  std::atomic<bool> stop{false};
  std::atomic<int> taken{0};
  std::thread thief([&] {
    while (!stop.load()) {
      siginfo_t info{};
      if (::waitid(P_ALL, 0, &info, WSTOPPED | WNOHANG | __WALL) == 0 && info.si_pid != 0) ++taken;
      std::this_thread::sleep_for(100us);
    }
  });
  for (int i = 0; i < 3; ++i) {
    m.task().signal(SIGUSR1);
    EXPECT_EQ(m.read_line(), "usr1");
  }
  m.send("exit 1");
  EXPECT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  stop = true;
  thief.join();
  EXPECT_EQ(m.read_marker(), expected_marker(m.pid()));
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).code(), 1);
  RecordProperty("stop_reports_taken", taken.load());
}

TEST(ExitHold, ThreadsThatEndAloneAreNotTakenForTheExit) {
  Marker m;
  m.task().hold_at_exit();
  m.send("lone");
  EXPECT_EQ(m.read_line(), "lone done");
  EXPECT_FALSE(m.task().is_held_at_exit());
  m.send("ping");
  EXPECT_EQ(m.read_line(), "pong");
  // A joined thread is a traced zombie until the tracer's next look reaps it.
  EXPECT_TRUE(tp_test::eventually([&] { return m.task().threads().size() == 1u; }));
  m.send("exit 4");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).code(), 4);
}

TEST(ExitHold, SuspendAndResumeWhileHolding) {
  Marker m;
  m.task().hold_at_exit();
  m.task().suspend();
  EXPECT_TRUE(tp_test::eventually([&] { return state_of(m.pid()) == 't'; }));
  m.send("ping");
  EXPECT_FALSE(tp_test::poll_readable(m.child().stdout_pipe().get(), 100ms)) << "ran while suspended";
  m.task().resume();
  EXPECT_EQ(m.read_line(), "pong");
  EXPECT_NE(tp_test::tracer_pid(m.pid()), 0);  // still traced: by the hold
  m.send("exit 5");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).code(), 5);
}

TEST(ExitHold, HoldingASuspendedTaskStartsWhenItIsResumed) {
  Marker m;
  m.task().suspend();
  m.task().hold_at_exit();
  m.task().resume();
  m.send("exit 6");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  EXPECT_EQ(m.read_marker(), expected_marker(m.pid()));
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).code(), 6);
}

TEST(ExitHold, AStartSuspendedChildIsHeldFromItsFirstInstructions) {
  Marker m(/*start_suspended=*/true);
  m.task().hold_at_exit();
  m.task().resume();
  m.read_marker_line();
  m.send("exit 7");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  EXPECT_EQ(m.read_marker(), expected_marker(m.pid()));
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).code(), 7);
}

TEST(ExitHold, AnExecKeepsTheHold) {
  Marker m;
  m.task().hold_at_exit();
  m.send("exec");
  m.read_marker_line();  // the new image's
  m.send("exit 8");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  EXPECT_EQ(m.read_marker(), expected_marker(m.pid()));
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).code(), 8);
}

TEST(ExitHold, ReleasingARunningProcessLeavesItUntraced) {
  Marker m;
  m.task().hold_at_exit();
  EXPECT_NE(tp_test::tracer_pid(m.pid()), 0);
  m.task().release_exit_hold();
  EXPECT_TRUE(tp_test::eventually([&] { return tp_test::tracer_pid(m.pid()) == 0; }));
  m.send("ping");
  EXPECT_EQ(m.read_line(), "pong");
  EXPECT_EQ(m.task().held_at_exit_fd(), -1);
  m.send("exit 0");
  EXPECT_EQ(reap(m).code(), 0);
}

TEST(ExitHold, DroppingTheTaskReleasesAHeldProcess) {
  Marker m;
  m.task().hold_at_exit();
  m.send("exit 2");
  ASSERT_TRUE(m.task().wait_until_held_at_exit(tp_test::kLong));
  m.task_slot().reset();
  EXPECT_EQ(reap(m).code(), 2);
}

TEST(ExitHold, AKilledProcessIsReleasedAndReaped) {
  Marker m;
  m.task().hold_at_exit();
  m.child().kill();
  // Held at its exit where the kernel stops a killed thread for its tracer
  // (Linux 6.x), else simply ended: either way nothing is left once released.
  m.task().wait_until_held_at_exit(tp_test::kLong);
  m.task().release_exit_hold();
  EXPECT_EQ(reap(m).signal(), SIGKILL);
}

TEST(ExitHold, WaitingWithoutAHoldIsAnError) {
  Marker m;
  try {
    m.task().wait_until_held_at_exit(10ms);
    FAIL() << "no hold";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
    EXPECT_EQ(e.step(), Step::hold_at_exit);
  }
  std::error_code ec;
  EXPECT_FALSE(m.task().wait_until_held_at_exit(10ms, ec));
  EXPECT_EQ(ec.value(), EINVAL);
  EXPECT_TRUE(m.task().hold_at_exit(ec)) << ec.message();
  const auto held = m.task().wait_until_held_at_exit(20ms, ec);
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(*held);  // running: not yet
  EXPECT_TRUE(m.task().release_exit_hold(ec));
}
