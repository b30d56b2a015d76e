// SPDX-License-Identifier: MIT
// The fallback when the kernel (or a seccomp profile) refuses clone3 and
// clone(CLONE_PIDFD): main() installs a seccomp filter that fails both with
// TP_SECCOMP_ERRNO before any test runs — ENOSYS as an old kernel would,
// EPERM as container seccomp profiles do — and the tests check that spawning
// still gives a pidfd naming the child, errors keep errno and step,
// start_suspended works, and nothing leaks.
//
// Built twice from this file: spawn_fallback_enosys_test and
// spawn_fallback_eperm_test. The filter is inherited by every child; that is
// fine, they never use CLONE_PIDFD.
//
// Note: with EPERM for clone3, glibc's pthread_create cannot create threads
// any more (it only falls back to clone on ENOSYS), so the EPERM variant
// creates no thread after main() started the filter.
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"
#include "taskport/taskport.hpp"

#ifndef TP_SECCOMP_ERRNO
#error "define TP_SECCOMP_ERRNO (ENOSYS or EPERM)"
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::Stdio;
using taskport::Step;
using taskport::Task;

namespace {

bool g_filter_installed = false;
std::string g_filter_problem;

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
constexpr uint32_t kAuditArch = 0;
#endif

// Low 32 bits of the first syscall argument (clone's flags on x86_64 and
// aarch64; CLONE_PIDFD is in the low word).
constexpr uint32_t kArg0Low = offsetof(seccomp_data, args[0])
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                              + 4
#endif
    ;

bool install_filter() {
  if (kAuditArch == 0) {
    g_filter_problem = "no seccomp filter for this architecture";
    return false;
  }
  const uint32_t refuse = SECCOMP_RET_ERRNO | (TP_SECCOMP_ERRNO & SECCOMP_RET_DATA);
  sock_filter code[] = {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0),
      /* 2 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
      /* 5 */ BPF_STMT(BPF_RET | BPF_K, refuse),
      /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
      /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArg0Low),
      /* 8 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_PIDFD, 0, 1),
      /* 9 */ BPF_STMT(BPF_RET | BPF_K, refuse),
      /* 10 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    g_filter_problem = std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno);
    return false;
  }
  // Thread-sync: the filter covers every thread that already exists
  // (sanitizer helper threads included).
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
    g_filter_problem = std::string("seccomp: ") + std::strerror(errno);
    return false;
  }
  return true;
}

// Runs a raw clone-family syscall that the filter should refuse. If it
// unexpectedly succeeds, the child exits at once and the parent reaps it.
long try_refused_clone(long result, int& err) {
  err = errno;
  if (result == 0) ::_exit(0);  // we are an unexpected child
  if (result > 0) ::waitpid(static_cast<pid_t>(result), nullptr, 0);
  return result;
}

class Fallback : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kAuditArch == 0) GTEST_SKIP() << g_filter_problem;
    ASSERT_TRUE(g_filter_installed) << g_filter_problem;
  }
};

char state_of(pid_t pid) {
  auto st = proc_stat(pid);
  return st ? st->state : '-';
}

}  // namespace

// ---- the filter itself -------------------------------------------------------------

TEST_F(Fallback, TheFilterRefusesCloneWithPidfd) {
  int pidfd = -1, err = 0;
  long r = try_refused_clone(::syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0), err);
  EXPECT_EQ(r, -1) << "clone(CLONE_PIDFD) was allowed";
  EXPECT_EQ(err, TP_SECCOMP_ERRNO);
  if (pidfd >= 0 && r > 0) ::close(pidfd);
}

TEST_F(Fallback, TheFilterRefusesClone3) {
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  } args{};
  args.exit_signal = SIGCHLD;
  int err = 0;
  long r = try_refused_clone(::syscall(SYS_clone3, &args, sizeof args), err);
  EXPECT_EQ(r, -1) << "clone3 was allowed";
  EXPECT_EQ(err, TP_SECCOMP_ERRNO);
}

TEST_F(Fallback, TheFilterAllowsCloneWithoutPidfd) {
  long r = ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (r == 0) ::_exit(7);
  ASSERT_GT(r, 0) << std::strerror(errno);
  int status = 0;
  ASSERT_EQ(::waitpid(static_cast<pid_t>(r), &status, 0), r);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

// ---- spawning under the filter ------------------------------------------------------

TEST_F(Fallback, SpawnWithTaskGivesAPidfdNamingTheChild) {
  auto [child, task] = long_running_probe().spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(pidfd_pid(task.native_handle()), child.pid());
  EXPECT_EQ(pidfd_pid(child.pidfd()), child.pid());
  EXPECT_EQ(task.pid(), child.pid());
  EXPECT_TRUE(is_cloexec(task.native_handle()));
  EXPECT_TRUE(is_cloexec(child.pidfd()));
  task.signal(SIGTERM);
  EXPECT_EQ(wait_exit(child).signal(), SIGTERM);
}

TEST_F(Fallback, TheChildIsARealChildThatRunsTheProgram) {
  ProbeReport r = report_via_stdout(probe({"--report", "arg"}));
  EXPECT_EQ(r.ppid, ::getpid());
  EXPECT_EQ(r.argv, (std::vector<std::string>{probe_path(), "--report", "arg"}));
}

TEST_F(Fallback, TheChildSeesNoDescriptorOfTheFallbackPath) {
  // E.g. a socket used to pass the pidfd back must not reach the program.
  std::set<int> expected = inheritable_fds();
  expected.insert({0, 1, 2});
  Command cmd = probe({"--report"});
  cmd.standard_input(Stdio::null());
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.fd_numbers(), expected);
}

TEST_F(Fallback, ExitFdBecomesReadableWhenTheChildExits) {
  Command cmd = probe({"--wait-stdin"});
  cmd.standard_input(Stdio::piped());
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_FALSE(poll_readable(task.exit_fd(), std::chrono::milliseconds(0)));
  EXPECT_TRUE(task.is_alive());
  child.stdin_pipe().reset();
  EXPECT_TRUE(poll_readable(task.exit_fd(), kLong));
  EXPECT_FALSE(task.is_alive());
  EXPECT_TRUE(wait_exit(child).success());
}

TEST_F(Fallback, SignalAfterReapingThrowsEsrch) {
  auto [child, task] = probe({"--exit", "0"}).spawn_with_task();
  child.kill_on_drop(true);
  ASSERT_TRUE(wait_exit(child).success());
  try {
    task.signal(SIGTERM);
    ADD_FAILURE() << "signal reached a reaped process";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH);
  }
}

TEST_F(Fallback, ExecErrorsStillCarryErrnoAndStep) {
  TempDir dir;
  auto e = spawn_error(Command(dir / "missing"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->errno_value(), ENOENT);
  EXPECT_EQ(e->step(), Step::execve);

  Command bad_cwd = probe();
  bad_cwd.current_dir(dir / "missing");
  e = spawn_error(bad_cwd);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->errno_value(), ENOENT);
  EXPECT_EQ(e->step(), Step::chdir);

  Command hook = probe();
  hook.pre_exec([] { return EPERM; });
  e = spawn_error(hook);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->errno_value(), EPERM);
  EXPECT_EQ(e->step(), Step::pre_exec_hook);
}

TEST_F(Fallback, ExecErrorsFromSpawnWithTaskCarryErrnoAndStep) {
  TempDir dir;
  try {
    auto [child, task] = Command(dir / "missing").spawn_with_task();
    child.kill_on_drop(true);
    ADD_FAILURE() << "spawned a missing program";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_EQ(e.step(), Step::execve);
  }
}

// Without clone3 the kernel does not reset the handlers (CLONE_CLEAR_SIGHAND):
// the child does, before anything else runs there. Observed from a hook, the
// first user code in the child: a caught signal is back at SIG_DFL, an
// ignored one stays ignored, and the parent's own dispositions are untouched.
extern "C" void fallback_handler(int) {}

TEST_F(Fallback, TheChildResetsCaughtSignalsAndKeepsIgnoredOnes) {
  struct sigaction caught {
  }, ignored{}, old_usr1{}, old_usr2{};
  caught.sa_handler = fallback_handler;
  ignored.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR1, &caught, &old_usr1), 0);
  ASSERT_EQ(::sigaction(SIGUSR2, &ignored, &old_usr2), 0);
  Pipe p = make_pipe();
  const int wfd = p.write.get();
  Command cmd = probe();
  write_user_signal_handlers_in_hook(cmd, wfd);
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  p.write.reset();
  const bool exited_ok = wait_exit(child).success();
  struct sigaction now1 {
  }, now2{};
  ::sigaction(SIGUSR1, &old_usr1, &now1);
  ::sigaction(SIGUSR2, &old_usr2, &now2);
  EXPECT_TRUE(exited_ok);
  EXPECT_EQ(now1.sa_handler, &fallback_handler) << "the parent's handler must stay";
  EXPECT_EQ(now2.sa_handler, SIG_IGN);
  void* handlers[2] = {};
  ASSERT_EQ(::read(p.read.get(), handlers, sizeof handlers), static_cast<ssize_t>(sizeof handlers));
  EXPECT_EQ(handlers[0], reinterpret_cast<void*>(SIG_DFL)) << "SIGUSR1 handler must be reset before the hook";
  EXPECT_EQ(handlers[1], reinterpret_cast<void*>(SIG_IGN)) << "SIGUSR2 stays ignored";
}

TEST_F(Fallback, StartSuspendedStillWorks) {
  TempDir dir;
  Command cmd = probe({"--touch", dir / "started"});
  cmd.start_suspended();
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(pidfd_pid(task.native_handle()), child.pid());
  const pid_t pid = child.pid();
  EXPECT_TRUE(eventually([pid] { return state_of(pid) == 'T' || state_of(pid) == 't'; })) << state_of(pid);
  EXPECT_FALSE(file_exists(dir / "started"));
  EXPECT_EQ(task.suspend_count(), 1);
  task.resume();
  EXPECT_EQ(task.suspend_count(), 0);
  EXPECT_TRUE(eventually([&] { return file_exists(dir / "started"); }));
  EXPECT_TRUE(wait_exit(child).success());
}

TEST_F(Fallback, ManySpawnsLeakNoDescriptorsAndNoChildren) {
  {  // warm-up
    auto [c, t] = probe().spawn_with_task();
    c.kill_on_drop(true);
    wait_exit(c);
  }
  TempDir dir;
  const Command ok(file_exists("/bin/true") ? "/bin/true" : probe_path());
  const Command missing(dir / "missing");
  const std::set<int> fds_before = open_fds();
  const std::set<pid_t> kids_before = children_of_self();
  int failures = 0;
  for (int i = 0; i < 300; ++i) {
    if (i % 5 == 4) {
      if (!spawn_error(missing)) ++failures;
      continue;
    }
    auto [child, task] = ok.spawn_with_task();
    child.kill_on_drop(true);
    if (pidfd_pid(task.native_handle()) != child.pid()) ++failures;
    auto st = child.wait_for(kLong);
    if (!st || !st->success()) ++failures;
  }
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(open_fds(), fds_before) << "descriptors leaked";
  for (pid_t kid : children_of_self())
    EXPECT_TRUE(kids_before.count(kid)) << "child " << kid << " left behind";
}

#if TP_SECCOMP_ERRNO == ENOSYS
// Threads can still be created here (glibc falls back from clone3 on ENOSYS).
TEST_F(Fallback, ConcurrentSpawnsEachGetTheirOwnChild) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        try {
          auto [child, task] =
              Command(file_exists("/bin/true") ? "/bin/true" : probe_path()).spawn_with_task();
          child.kill_on_drop(true);
          if (pidfd_pid(task.native_handle()) != child.pid()) ++failures;
          auto st = child.wait_for(kLong);
          if (!st || !st->success()) ++failures;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}
#endif

// With clone3 refused by EPERM no thread can be created (see the top), so
// the EPERM variant lets taskport start its long-lived helper threads (the
// reaper and the ptrace tracer) before the filter goes in. The ENOSYS
// variant does not: there they start lazily, under the filter.
void start_library_threads() {
  {  // the tracer: start suspended goes through it
    Command cmd = probe();
    cmd.start_suspended().standard_output(Stdio::null()).standard_error(Stdio::null());
    auto [child, task] = cmd.spawn_with_task();
    child.kill();
    child.wait_for(kLong);
  }
  {  // the reaper: a running child is dropped
    Lifeline lifeline;
    auto [child, task] = lifeline.probe().spawn_with_task();
    const pid_t pid = child.pid();
    { Child dropped = std::move(child); }
    task.signal(SIGKILL);
    eventually_reaped(pid);
  }
}

int main(int argc, char** argv) {
  // Let sanitizer runtimes start their helper threads before the filter.
  std::thread([] {}).join();
  // (Not when CMake merely lists the tests at build time.)
  bool listing = false;
  for (int i = 1; i < argc; ++i) listing |= std::strcmp(argv[i], "--gtest_list_tests") == 0;
  if (TP_SECCOMP_ERRNO == EPERM && !listing) start_library_threads();
  g_filter_installed = install_filter();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
