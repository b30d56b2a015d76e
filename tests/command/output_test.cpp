// SPDX-License-Identifier: MIT
// Command::output(), Command::status(), Child::wait_with_output() and
// Child::terminate(): what the child wrote and how it ended, as seen by the
// parent, with nothing left behind (descriptors, children).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "command_support.hpp"

using namespace tp_command;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::ExitStatus;
using taskport::Output;
using taskport::Stdio;
using taskport::Step;

namespace {

const std::string kWriter = TP_OUTPUT_WRITER;

// Empty if `text` is `mib` MiB of 4 KiB chunks, chunk i all `first` + i % 26;
// else where it differs.
std::string check_chunks(const std::string& text, size_t mib, char first) {
  constexpr size_t kChunk = 4096;
  if (text.size() != mib << 20) return "size " + std::to_string(text.size());
  for (size_t at = 0; at < text.size(); at += kChunk) {
    const char want = static_cast<char>(first + static_cast<int>(at / kChunk % 26));
    if (text.find_first_not_of(want, at) < at + kChunk) return "chunk " + std::to_string(at / kChunk);
  }
  return "";
}

using Clock = std::chrono::steady_clock;

}  // namespace

// ---- output() ------------------------------------------------------------------------

TEST(Output, CapturesTenMibOnEachStreamInterleavedWithoutDeadlock) {
  const auto before = tp_test::open_fds();
  const Output out = Command(kWriter).args({"10", "10", "7"}).output();
  EXPECT_EQ(out.status.code(), 7);
  EXPECT_EQ(check_chunks(out.out, 10, 'a'), "");
  EXPECT_EQ(check_chunks(out.err, 10, 'A'), "");
  EXPECT_EQ(tp_test::open_fds(), before);
}

TEST(Output, GivesTheChildANullStdinUnlessOneIsSet) {
  // The probe copies stdin to stdout until EOF: /dev/null ends it at once.
  const Output out = tp_test::probe({"--cat"}).output();
  EXPECT_TRUE(out.status.success()) << out.status.to_string();
  EXPECT_EQ(out.out, "");
  const tp_test::ProbeReport report = tp_test::parse_report(tp_test::probe({"--report"}).output().out);
  ASSERT_TRUE(report.complete);
  EXPECT_EQ(report.fds.at(0).target, "/dev/null");
}

TEST(Output, LeavesAStreamThatWasSetAlone) {
  const Output out =
      Command("/bin/sh").args({"-c", "echo to-out; echo to-err >&2"}).standard_output(Stdio::null()).output();
  EXPECT_TRUE(out.status.success());
  EXPECT_EQ(out.out, "");
  EXPECT_EQ(out.err, "to-err\n");
}

TEST(Output, ReportsTheExitAndTheSignal) {
  EXPECT_EQ(Command("/bin/sh").args({"-c", "exit 3"}).output().status.code(), 3);
  EXPECT_EQ(Command("/bin/sh").args({"-c", "kill -TERM $$"}).output().status.signal(), SIGTERM);
}

TEST(Output, ASpawnFailureIsTheSpawnsError) {
  try {
    Command("tp-no-such-program").output();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_EQ(e.step(), Step::resolve_program);
  }
}

TEST(Output, StatusRunsWithTheStreamsAsConfigured) {
  EXPECT_EQ(Command("/bin/sh").args({"-c", "exit 4"}).status().code(), 4);
  tp_test::Pipe pipe = tp_test::make_pipe();
  const ExitStatus status =
      Command("/bin/sh").args({"-c", "echo via-fd"}).standard_output(Stdio::fd(pipe.write.get())).status();
  EXPECT_TRUE(status.success());
  pipe.write.reset();
  EXPECT_EQ(tp_test::read_all(pipe.read.get()), "via-fd\n");
}

// ---- wait_with_output() ----------------------------------------------------------------

TEST(WaitWithOutput, ClosesStdinReadsWhatIsPipedAndReaps) {
  Child child = tp_test::probe({"--cat"})
                    .standard_input(Stdio::piped())
                    .standard_output(Stdio::piped())
                    .standard_error(Stdio::inherit())
                    .spawn();
  tp_test::write_str(child.stdin_pipe().get(), "through stdin");
  const pid_t pid = child.pid();
  const Output out = child.wait_with_output();
  EXPECT_TRUE(out.status.success());
  EXPECT_EQ(out.out, "through stdin");
  EXPECT_EQ(out.err, "");  // not piped
  EXPECT_FALSE(child.stdout_pipe().valid());
  EXPECT_EQ(child.status(), out.status);
  EXPECT_TRUE(tp_test::is_reaped(pid));
}

TEST(WaitWithOutput, AGrandchildHoldingThePipeCannotStretchTheWait) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);  // the orphan comes back to be reaped
  tp_test::Pipe hold = tp_test::make_pipe();
  Child child = Command("/bin/sh")
                    .args({"-c", "echo first; (cat <&3 >/dev/null; echo late) & exit 0"})
                    .inherit_fd(3, hold.read.get())
                    .standard_output(Stdio::piped())
                    .spawn();
  hold.read.reset();
  const auto t0 = Clock::now();
  const Output out = child.wait_with_output();
  EXPECT_LT(Clock::now() - t0, kLong / 2);
  EXPECT_EQ(out.out, "first\n");
  EXPECT_TRUE(out.status.success());
  hold.write.reset();  // the grandchild's cat ends, its echo meets a closed pipe
  int status = 0;
  EXPECT_GT(::waitpid(-1, &status, 0), 0) << "the orphan was not ours to reap";
}

// ---- terminate() -------------------------------------------------------------------------

TEST(Terminate, AChildThatEndsOnSigtermEndsBySigterm) {
  Child child = Command("/bin/sleep").arg("30").spawn();
  const auto t0 = Clock::now();
  const ExitStatus status = child.terminate(std::chrono::seconds(5));
  EXPECT_EQ(status.signal(), SIGTERM);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  EXPECT_TRUE(tp_test::is_reaped(child.pid()));
}

TEST(Terminate, AChildThatIgnoresSigtermIsKilledAfterTheGrace) {
  // SIG_IGN survives exec: sleep ignores SIGTERM.
  Child child = Command("/bin/sh").args({"-c", "trap '' TERM; exec /bin/sleep 30"}).spawn();
  ASSERT_TRUE(tp_test::eventually([&] {
    const std::string ignored = status_field(child.pid(), "SigIgn");
    return !ignored.empty() && (std::stoull(ignored, nullptr, 16) & (1ULL << (SIGTERM - 1))) != 0 &&
           tp_test::real_path("/proc/" + std::to_string(child.pid()) + "/exe") ==
               tp_test::real_path("/bin/sleep");
  }));
  const auto t0 = Clock::now();
  const ExitStatus status = child.terminate(std::chrono::milliseconds(200));
  const auto took = Clock::now() - t0;
  EXPECT_EQ(status.signal(), SIGKILL);
  EXPECT_GE(took, std::chrono::milliseconds(200));
  EXPECT_LT(took, kLong);
}

TEST(Terminate, AChildThatAlreadyEndedGivesItsOwnStatus) {
  Child child = Command("/bin/sh").args({"-c", "exit 5"}).spawn();
  EXPECT_EQ(child.wait().code(), 5);
  EXPECT_EQ(child.terminate(std::chrono::seconds(1)).code(), 5);
  Child exited = Command("/bin/sh").args({"-c", "exit 6"}).spawn();
  ASSERT_TRUE(tp_test::eventually([&] { return tp_test::proc_stat(exited.pid())->state == 'Z'; }));
  EXPECT_EQ(exited.terminate(std::chrono::seconds(1)).code(), 6);
}
