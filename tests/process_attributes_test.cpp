// SPDX-License-Identifier: MIT
// Process attributes the child starts with: parent, process group, session,
// signal mask and signal dispositions — read by the child from the kernel.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Stdio;

namespace {

uint64_t bit(int sig) { return signal_bit(sig); }

// The signal mask of the calling thread, as the kernel reports it.
uint64_t thread_sigblk() { return this_thread_blocked_signals(); }

}  // namespace

// ---- identity ----------------------------------------------------------------------

TEST(ProcessIdentity, TheChildsParentIsTheSpawningProcess) {
  ProbeReport r = report_via_stdout(probe({"--report"}));
  EXPECT_EQ(r.ppid, ::getpid());
}

TEST(ProcessIdentity, TheChildsParentIsTheProcessEvenWhenAnotherThreadSpawns) {
  ProbeReport r;
  std::thread t([&] { r = report_via_stdout(probe({"--report"})); });
  t.join();
  EXPECT_EQ(r.ppid, ::getpid());
}

TEST(ProcessIdentity, ChildPidIsTheChildsOwnPid) {
  Command cmd = probe({"--report"});
  cmd.standard_output(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  ProbeReport r = parse_report(read_all(child.stdout_pipe().get()));
  EXPECT_EQ(r.pid, child.pid());
  EXPECT_TRUE(wait_exit(child).success());
}

// ---- process group and session ---------------------------------------------------

TEST(ProcessGroup, ByDefaultTheChildStaysInTheParentsGroupAndSession) {
  ProbeReport r = report_via_stdout(probe({"--report"}));
  EXPECT_EQ(r.pgid, ::getpgid(0));
  EXPECT_EQ(r.sid, ::getsid(0));
}

TEST(ProcessGroup, ZeroMakesTheChildLeadANewGroup) {
  Command cmd = probe({"--report"});
  cmd.process_group(0);
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.pgid, r.pid);
  EXPECT_EQ(r.sid, ::getsid(0)) << "same session";
}

TEST(ProcessGroup, AnExistingGroupCanBeJoined) {
  Command leader_cmd = probe({"--wait-stdin"});
  leader_cmd.process_group(0).standard_input(Stdio::piped());
  Child leader = leader_cmd.spawn();
  leader.kill_on_drop(true);

  Command cmd = probe({"--report"});
  cmd.process_group(leader.pid());
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.pgid, leader.pid());

  leader.stdin_pipe().reset();
  EXPECT_TRUE(wait_exit(leader).success());
}

TEST(ProcessGroup, NewSessionMakesTheChildLeadASessionAndAGroup) {
  Command cmd = probe({"--report"});
  cmd.new_session();
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.sid, r.pid);
  EXPECT_EQ(r.pgid, r.pid);
}

TEST(ProcessGroup, NewSessionFalseLeavesTheSessionAlone) {
  Command cmd = probe({"--report"});
  cmd.new_session(true).new_session(false);
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.sid, ::getsid(0));
}

TEST(ProcessGroup, TheParentsGroupAndSessionAreUnchanged) {
  const pid_t pgid = ::getpgid(0), sid = ::getsid(0);
  Command cmd = probe({"--report"});
  cmd.new_session();
  report_via_stdout(cmd);
  EXPECT_EQ(::getpgid(0), pgid);
  EXPECT_EQ(::getsid(0), sid);
}

// ---- signals -----------------------------------------------------------------------

std::atomic<int> g_usr1_caught{0};
extern "C" void count_usr1(int) { g_usr1_caught.fetch_add(1); }

// In this thread: a handler for SIGUSR1, SIGUSR2 ignored, SIGTERM blocked.
// Everything is restored afterwards.
class SignalState : public ::testing::Test {
 protected:
  void SetUp() override {
    struct sigaction sa {};
    sa.sa_handler = count_usr1;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old_usr1_), 0);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    ASSERT_EQ(::sigaction(SIGUSR2, &ign, &old_usr2_), 0);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old_mask_), 0);
  }
  void TearDown() override {
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    ::sigaction(SIGUSR1, &old_usr1_, nullptr);
    ::sigaction(SIGUSR2, &old_usr2_, nullptr);
  }
  struct sigaction old_usr1_ {
  }, old_usr2_{};
  sigset_t old_mask_{};
};

TEST_F(SignalState, TheChildStartsWithTheSpawningThreadsSignalMask) {
  const uint64_t parent_mask = thread_sigblk();
  ASSERT_TRUE(parent_mask & bit(SIGTERM));
  ProbeReport r = report_via_stdout(probe({"--report"}));
  EXPECT_EQ(r.sigblk, parent_mask) << std::hex << "child " << r.sigblk << " parent " << parent_mask;
}

TEST_F(SignalState, ACaughtSignalIsAtItsDefaultInTheChild) {
  ProbeReport r = report_via_stdout(probe({"--report"}));
  EXPECT_FALSE(r.sigcgt & bit(SIGUSR1));
  EXPECT_FALSE(r.sigign & bit(SIGUSR1));
}

TEST_F(SignalState, AnIgnoredSignalStaysIgnoredInTheChild) {
  ProbeReport r = report_via_stdout(probe({"--report"}));
  EXPECT_TRUE(r.sigign & bit(SIGUSR2));
}

TEST_F(SignalState, ABlockedSignalStaysPendingInTheChild) {
  // The child inherits SIGTERM blocked: a SIGTERM it sends itself does not
  // kill it.
  Command cmd = probe({"--kill-self", std::to_string(SIGTERM), "--exit", "42"});
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(wait_exit(child).code(), 42);
}

TEST_F(SignalState, SpawningLeavesTheParentsMaskAsItWas) {
  const uint64_t before = thread_sigblk();
  report_via_stdout(probe({"--report"}));
  EXPECT_EQ(thread_sigblk(), before);
}

TEST_F(SignalState, SpawningLeavesTheParentsHandlersInPlace) {
  report_via_stdout(probe({"--report"}));
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGUSR1, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, &count_usr1);
  ASSERT_EQ(::sigaction(SIGUSR2, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_IGN);

  const int caught = g_usr1_caught.load();
  ASSERT_EQ(::raise(SIGUSR1), 0);
  EXPECT_EQ(g_usr1_caught.load(), caught + 1) << "the parent's handler must still run";
}

// The hook sees the child between clone/fork and exec: read the kernel's
// state there (support.hpp: hook_*) and report it over a pipe.

TEST_F(SignalState, HooksRunWithEverySignalBlocked) {
  Pipe p = make_pipe();
  const int wfd = p.write.get();
  Command cmd = probe();
  cmd.pre_exec([wfd] {
    uint64_t mask = 0;
    if (!hook_blocked_signals(mask)) return 1;
    return ::write(wfd, &mask, sizeof mask) == sizeof mask ? 0 : 1;
  });
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  p.write.reset();
  EXPECT_TRUE(wait_exit(child).success());

  uint64_t mask = 0;
  ASSERT_EQ(::read(p.read.get(), &mask, sizeof mask), static_cast<ssize_t>(sizeof mask));
  // SIGKILL and SIGSTOP cannot be blocked; on Linux 32 and 33 are glibc's
  // internal signals, which glibc's own sigfillset leaves out.
  EXPECT_EQ(mask | never_blocked_signals(), every_signal()) << std::hex << "blocked in the hook: " << mask;
}

TEST_F(SignalState, HooksSeeCaughtSignalsResetAndIgnoredOnesKept) {
  Pipe p = make_pipe();
  const int wfd = p.write.get();
  Command cmd = probe();
  write_user_signal_handlers_in_hook(cmd, wfd);
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  p.write.reset();
  EXPECT_TRUE(wait_exit(child).success());

  void* handlers[2] = {};
  ASSERT_EQ(::read(p.read.get(), handlers, sizeof handlers), static_cast<ssize_t>(sizeof handlers));
  EXPECT_EQ(handlers[0], reinterpret_cast<void*>(SIG_DFL)) << "SIGUSR1 handler must be reset before the hook";
  EXPECT_EQ(handlers[1], reinterpret_cast<void*>(SIG_IGN)) << "SIGUSR2 stays ignored";
}
