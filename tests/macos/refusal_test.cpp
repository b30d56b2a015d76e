// SPDX-License-Identifier: MIT
// Programs the preload cannot enter are refused with their specific Step
// and reason at once — right after posix_spawn, from the child's
// code-signing state and executable (src/macos/dyld_policy.hpp) — not after
// the preload timeout (60 s here, so that a refusal that waited for it
// would show). And programs of one architecture: an arm64-only build on an
// Intel Mac fails posix_spawn (EBADARCH); an x86_64-only build on Apple
// silicon runs under Rosetta, where present, and loads the universal
// preload's x86_64 slice.
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <taskport/taskport.hpp>

#include "mach_support.hpp"

namespace {

using namespace tp_mach;
using taskport::Command;
using taskport::Error;
using taskport::Step;

using Clock = std::chrono::steady_clock;

// spawn_with_task() that must fail at once with `error` at `step`, its
// detail containing `reason`; the child left nothing behind.
void expect_prompt_refusal(Command cmd, int error, Step step, const std::string& reason) {
  cmd.preload_timeout(kPreloadTimeout);
  const std::set<pid_t> kids_before = tp_test::children_of_self();
  const auto start = Clock::now();
  try {
    auto [child, task] = cmd.spawn_with_task();
    child.kill_on_drop(true);
    ADD_FAILURE() << cmd.get_program() << ": spawn_with_task succeeded (pid " << child.pid() << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), error) << e.what();
    EXPECT_EQ(e.step(), step) << e.what();
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
  EXPECT_LT(Clock::now() - start, kPrompt) << "the refusal waited (for the preload timeout?)";
  for (pid_t kid : tp_test::children_of_self()) {
    EXPECT_TRUE(kids_before.count(kid)) << "child " << kid << " left behind";
  }
}

TEST(MachRefusal, APlatformBinaryIsRefusedAtOnce) {
  // /usr/bin/true: a SIP platform binary, for which dyld ignores DYLD_*.
  expect_prompt_refusal(Command("/usr/bin/true"), EPERM, Step::accept_task, "platform binary");
}

TEST(MachRefusal, AHardenedRuntimeCopyIsRefusedAtOnce) {
  tp_test::TempDir dir;
  const std::string copy = dir / "tp_mach_target_hardened";
  copy_file(target_path(), copy);
  const Ran signed_ = run({"/usr/bin/codesign", "-f", "-s", "-", "-o", "runtime", copy});
  ASSERT_TRUE(signed_.status.success()) << signed_.output;
  Command cmd(copy);
  cmd.args({"print"}).standard_input(taskport::Stdio::piped()).standard_output(taskport::Stdio::piped());
  expect_prompt_refusal(cmd, EPERM, Step::accept_task, "hardened runtime");
}

TEST(MachRefusal, ARootOwnedSetuidCopyIsRefusedAtOnce) {
  // The runners have passwordless sudo (the workflow checks it first).
  tp_test::TempDir dir;
  const std::string copy = dir / "tp_mach_target_setuid";
  copy_file(target_path(), copy);
  const Ran owned = run({"/usr/bin/sudo", "-n", "/usr/sbin/chown", "root", copy});
  ASSERT_TRUE(owned.status.success()) << "sudo -n chown root: " << owned.output;
  const Ran moded = run({"/usr/bin/sudo", "-n", "/bin/chmod", "u+s", copy});
  ASSERT_TRUE(moded.status.success()) << "sudo -n chmod u+s: " << moded.output;
  Command cmd(copy);
  cmd.args({"print"}).standard_input(taskport::Stdio::piped()).standard_output(taskport::Stdio::piped());
  expect_prompt_refusal(cmd, EPERM, Step::accept_task, "set-uid");
  run({"/usr/bin/sudo", "-n", "/bin/rm", "-f", copy});
}

TEST(MachRefusal, LibraryValidationAbortIsReportedWithAHintNamingIt) {
  // Hardened runtime that honours DYLD_* but validates libraries: dyld
  // loads the ad-hoc preload only for a program of its own team, so it
  // aborts the program (SIGABRT) before main — reported at the child's
  // death, with the hint naming library validation.
  tp_test::TempDir dir;
  const std::string copy = dir / "tp_mach_target_lv";
  copy_file(target_path(), copy);
  tp_test::write_file(dir / "entitlements.plist",
                      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                      "<plist version=\"1.0\"><dict>\n"
                      "<key>com.apple.security.cs.allow-dyld-environment-variables</key><true/>\n"
                      "</dict></plist>\n",
                      0644);
  const Ran signed_ = run({"/usr/bin/codesign", "-f", "-s", "-", "-o", "runtime", "--entitlements",
                           dir / "entitlements.plist", copy});
  ASSERT_TRUE(signed_.status.success()) << signed_.output;
  Command cmd(copy);
  cmd.args({"print"}).standard_input(taskport::Stdio::piped()).standard_output(taskport::Stdio::piped());
  expect_prompt_refusal(cmd, ESRCH, Step::accept_task, "library validation");
}

// The host decides: a build of its own architecture runs; an x86_64 build
// on Apple silicon runs under Rosetta where it is installed, else (and an
// arm64 build on Intel always) posix_spawn refuses it with EBADARCH.
class MachArchitecture : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Builds, MachArchitecture, ::testing::Values("arm64", "x86_64"));

TEST_P(MachArchitecture, ASingleArchitectureBuildRunsOrIsRefusedAsTheHostDecides) {
  const std::string arch = GetParam();
  const bool arm64_host = host_is_arm64();
  const bool runs = arch == (arm64_host ? "arm64" : "x86_64") || (arm64_host && rosetta_runs_x86_64());
  Command cmd(arch_target_path(arch));
  cmd.standard_input(taskport::Stdio::piped()).standard_output(taskport::Stdio::piped());
  if (!runs) {
    expect_prompt_refusal(cmd, EBADARCH, Step::execve, "has " + arch);
    return;
  }
  cmd.preload_timeout(kPreloadTimeout);
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  Lines lines(child.stdout_pipe().get());
  const std::string line = lines.next();
  EXPECT_NE(line.find("arch " + arch), std::string::npos) << line;
  EXPECT_EQ(pid_of_port(task.native_handle()), child.pid());
  EXPECT_EQ(task.read_value<std::uint64_t>(parse_address(line)), kMarker);
  child.stdin_pipe().reset();
  EXPECT_TRUE(tp_test::wait_exit(child).success());
}

}  // namespace
