// SPDX-License-Identifier: MIT
// Reaping under hostile conditions (issue 10, cases 4 and 6, and the reaper
// scenarios of its Tests section): the reaper's first hand-off when no
// descriptor is free or no thread can be started, SIGCHLD set to SIG_IGN
// (the kernel reaps by itself), and an application SIGCHLD handler that
// reaps every child it can. Observed from outside: waitid(WNOWAIT) says
// whether a child is still ours to reap, /proc says whether it is a zombie.
//
// The "unknown" exit status these tests expect is the one issue 10
// describes: the child ended, its status is gone (the kernel discarded it,
// or someone else reaped it) — code() and signal() empty, success() false,
// to_string() saying so; wait()/wait_for()/try_wait() return it instead of
// throwing ECHILD.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <string>
#include <thread>

#include "hostile_support.hpp"
#include "support.hpp"

using namespace tp_hostile;
using taskport::Child;
using taskport::ExitStatus;

namespace {

constexpr uid_t kNobody = 65534;

// An exit status that says "ended, status unknown".
void check_unknown(Report& r, const ExitStatus& st, const std::string& what) {
  r.note(what + " returned: " + st.to_string());
  r.check(!st.code().has_value(),
          what + ": code() is " + std::to_string(st.code().value_or(-1)) + ", expected none");
  r.check(!st.signal().has_value(), what + ": signal() is set, expected none");
  r.check(!st.success(), what + ": success() is true");
  const std::string text = st.to_string();
  r.check(text.rfind("exit code", 0) != 0 && text.rfind("killed by", 0) != 0 && text.size() > 10,
          what + ": to_string() does not say that the status is unknown: '" + text + "'");
}

std::atomic<int> g_reaped{0};

void reap_everything(int) {
  const int saved = errno;
  int status;
  while (::waitpid(-1, &status, WNOHANG) > 0) g_reaped.fetch_add(1);
  errno = saved;
}

void install_reaping_handler() {
  struct sigaction sa {};
  sa.sa_handler = reap_everything;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGCHLD, &sa, nullptr);
}

// A probe that exits with 3 at once, and the moment its exit was noticed
// (its pidfd polls readable) — the status may already be gone by then.
Child exited_probe(Report& r) {
  Child c = tp_test::probe({"--exit", "3"}).spawn();
  r.check(tp_test::poll_readable(c.exit_fd(), std::chrono::milliseconds(5000)), "the probe did not exit");
  return c;
}

}  // namespace

// ---- case 4 and the NOFILE/NPROC scenarios: the reaper's first hand-off ---------------

TEST(HostileReaper, FirstHandOffAtTheProcessLimitDoesNotDisableTheReaper) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to become an unprivileged user (root ignores RLIMIT_NPROC)";
  expect_passed(isolated(30s, [](Report& r) {
    if (!r.check(drop_to(kNobody, kNobody).empty(), "cannot become uid 65534")) return;
    drop_two_children(r, [] {
      auto old = std::make_shared<rlimit>();
      ::getrlimit(RLIMIT_NPROC, old.get());
      rlimit none = *old;
      none.rlim_cur = 0;
      ::setrlimit(RLIMIT_NPROC, &none);
      return [old] { ::setrlimit(RLIMIT_NPROC, old.get()); };
    });
  }));
}

// ---- case 6: SIGCHLD ignored -------------------------------------------------------------

TEST(HostileReaper, WaitReturnsAnUnknownStatusWhenSigchldIsIgnored) {
  expect_passed(isolated(30s, [](Report& r) {
    ::signal(SIGCHLD, SIG_IGN);
    Child c = exited_probe(r);
    r.within(10s, "Child::wait() with SIGCHLD ignored", [&] { check_unknown(r, c.wait(), "wait()"); });
  }));
}

TEST(HostileReaper, WaitForReturnsAnUnknownStatusWhenSigchldIsIgnored) {
  expect_passed(isolated(30s, [](Report& r) {
    ::signal(SIGCHLD, SIG_IGN);
    Child c = exited_probe(r);
    r.within(10s, "Child::wait_for(5 s) with SIGCHLD ignored", [&] {
      const auto st = c.wait_for(std::chrono::seconds(5));
      if (r.check(st.has_value(), "wait_for() says the child still runs although it has ended"))
        check_unknown(r, *st, "wait_for()");
    });
  }));
}

TEST(HostileReaper, TryWaitReturnsAnUnknownStatusWhenSigchldIsIgnored) {
  expect_passed(isolated(30s, [](Report& r) {
    ::signal(SIGCHLD, SIG_IGN);
    Child c = exited_probe(r);
    r.within(10s, "Child::try_wait() with SIGCHLD ignored", [&] {
      const auto st = c.try_wait();
      if (r.check(st.has_value(), "try_wait() says the child still runs although it has ended"))
        check_unknown(r, *st, "try_wait()");
    });
  }));
}

// The CLI reports an unknown status with exit code 125 (its own convention
// for "taskport could not tell"), not as if taskport itself failed (127).
// The child lives 200 ms: the CLI's first snapshot suspends it (ptrace), and
// a child that ends while traced is not reaped by the kernel — its status is
// then known, and rightly reported (seen with /bin/true under ASan, 1 in 40).
TEST(HostileReaper, CliExitsWith125WhenTheChildsStatusIsUnknown) {
  if (cli_path().empty()) GTEST_SKIP() << "the CLI is not built";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGCHLD, SIG_IGN);  // inherited through execv: the CLI's child is reaped by the kernel
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    const char* argv[] = {cli_path().c_str(), "run", "--", "/bin/sleep", "0.2", nullptr};
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(126);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  const bool exited = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 20s);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "taskport run did not exit within 20 s with SIGCHLD ignored";
  }
  ASSERT_TRUE(WIFEXITED(status)) << "taskport run was killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 125) << "exit code of `taskport run -- /bin/sleep 0.2` with SIGCHLD ignored";
}

// ---- a SIGCHLD handler that steals reaps ---------------------------------------------------

TEST(HostileReaper, WaitReturnsAnUnknownStatusWhenASigchldHandlerReapedTheChild) {
  expect_passed(isolated(30s, [](Report& r) {
    install_reaping_handler();
    Child c = exited_probe(r);
    r.check(eventually([] { return g_reaped.load() > 0; }, 5s), "the handler did not reap the probe");
    r.within(10s, "Child::wait() after the handler reaped the child",
             [&] { check_unknown(r, c.wait(), "wait()"); });
  }));
}

TEST(HostileReaper, WaitForAndTryWaitReturnAnUnknownStatusWhenASigchldHandlerReapedTheChild) {
  expect_passed(isolated(30s, [](Report& r) {
    install_reaping_handler();
    Child a = exited_probe(r);
    Child b = exited_probe(r);
    r.check(eventually([] { return g_reaped.load() >= 2; }, 5s), "the handler did not reap both probes");
    r.within(10s, "Child::wait_for(5 s) after the handler reaped the child", [&] {
      const auto st = a.wait_for(std::chrono::seconds(5));
      if (r.check(st.has_value(), "wait_for() says the child still runs"))
        check_unknown(r, *st, "wait_for()");
    });
    r.within(10s, "Child::try_wait() after the handler reaped the child", [&] {
      const auto st = b.try_wait();
      if (r.check(st.has_value(), "try_wait() says the child still runs"))
        check_unknown(r, *st, "try_wait()");
    });
  }));
}

// A child that is running when wait() starts and exits while the handler
// competes for its status: wait() comes back either with the real status
// (it won) or with the unknown one (the handler won) — never blocks, never
// throws.
TEST(HostileReaper, BlockingWaitComesBackWhenASigchldHandlerCompetesForTheStatus) {
  expect_passed(isolated(30s, [](Report& r) {
    install_reaping_handler();
    for (int i = 0; i < 20 && r.failures() == 0; ++i) {
      Child c = tp_test::probe({"--sleep", "0.01"}).spawn();
      r.within(10s, "Child::wait() while the handler reaps children", [&] {
        const ExitStatus st = c.wait();
        if (st.code() != 0) check_unknown(r, st, "wait()");
      });
    }
  }));
}
