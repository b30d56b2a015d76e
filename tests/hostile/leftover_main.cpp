// SPDX-License-Identifier: MIT
// main() of every hostile test binary: GoogleTest plus a listener that,
// after each test, checks that no process of ours — a descendant of this
// test process, never anything else on the machine — is left in state t
// (ptrace stop), T (stopped) or Z (zombie), in any of its threads.
//
// A leftover is reported once, as a failure of the test after which it was
// first seen, after a grace period (a Child dropped at the end of a test is
// reaped by the library's reaper a moment later). Then it is cleaned up so
// that the next test starts clean: stopped processes are killed, our own
// zombie children reaped.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "hostile_support.hpp"

namespace {

#if defined(__linux__)
class LeftoverCheck : public testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const testing::TestInfo&) override {
    const pid_t self = ::getpid();
    std::vector<tp_hostile::Leftover> fresh;
    for (const auto& l : tp_hostile::leftovers_after(self, std::chrono::seconds(3))) {
      if (reported_.insert({l.pid, l.tid}).second) fresh.push_back(l);
    }
    std::string report;
    for (const auto& line : tp_hostile::summarize(fresh)) report += "\n  " + line;
    if (!report.empty())
      ADD_FAILURE() << "left behind after the test (must be none in state t, T or Z):" << report;
    cleanup(self);
  }

 private:
  static void cleanup(pid_t self) {
    for (const auto& l : tp_hostile::leftover_processes(self)) {
      if (l.state == 't' || l.state == 'T') ::kill(l.pid, SIGKILL);
    }
    for (const auto& l : tp_hostile::leftover_processes(self)) {
      if (l.state != 'Z' || l.tid != l.pid) continue;
      siginfo_t info{};
      ::waitid(P_PID, static_cast<id_t>(l.pid), &info, WEXITED | WNOHANG);
    }
  }

  std::set<std::pair<pid_t, pid_t>> reported_;
};
#endif

}  // namespace

// ThreadSanitizer: the fork-safety scenarios start threads in a forked child
// of a threaded process, which TSan refuses by default. (Unused in other
// builds.)
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
#if defined(__linux__)
  // Appended after the default printer: "end" events run in reverse order,
  // so this check runs before the printer reports the test's result.
  testing::UnitTest::GetInstance()->listeners().Append(new LeftoverCheck);
#endif
  return RUN_ALL_TESTS();
}
