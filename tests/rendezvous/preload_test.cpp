// SPDX-License-Identifier: MIT
// Command::task_via_preload: the Task of a program that knows nothing of
// taskport, sent by the injected library's initializer before main.
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "rdv_support.hpp"
#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_rdv;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::Stdio;
using taskport::Step;
using taskport::Task;
using tp_test::children_of_self;
using tp_test::inheritable_fds;
using tp_test::pidfd_pid;
using tp_test::wait_exit;

namespace {

// Every test uses the preload library of this build tree.
class Preload : public ::testing::Test {
 protected:
  void SetUp() override { taskport::set_preload_library(preload_path()); }
  void TearDown() override { taskport::set_preload_library(""); }
};

std::pair<Child, Task> spawn_via_preload(Command cmd) {
  cmd.task_via_preload();
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  return {std::move(child), std::move(task)};
}

std::optional<Error> spawn_error(const Command& cmd) {
  try {
    auto [child, task] = cmd.spawn_with_task();
    child.kill_on_drop(true);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

// Start of the first mapping of `path` in the process (from its maps file:
// the tests run as the same user as the program).
std::uint64_t mapping_start(pid_t pid, const std::string& path) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0) {
      return std::strtoull(line.c_str(), nullptr, 16);
    }
  }
  return 0;
}

// Children of ours now that were not in `before` (an earlier test's child
// may have been reaped meanwhile by the library's reaper).
std::set<pid_t> new_children(const std::set<pid_t>& before) {
  std::set<pid_t> added;
  for (pid_t pid : children_of_self()) {
    if (before.count(pid) == 0) added.insert(pid);
  }
  return added;
}

bool maps_mention(pid_t pid, const std::string& text) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream all;
  all << maps.rdbuf();
  return all.str().find(text) != std::string::npos;
}

}  // namespace

TEST_F(Preload, ProgramThatKnowsNothingOfTaskportHandsOverItsTask) {
  auto [child, task] = spawn_via_preload(helper(plain_path(), {"--marker", "--serve"}));
  EXPECT_EQ(task.pid(), child.pid());
  EXPECT_EQ(pidfd_pid(task.native_handle()), child.pid());
  Lines out(child.stdout_pipe().get());
  const auto marker = out.value("marker");
  ASSERT_TRUE(marker);
  const std::uint64_t address = parse_address(*marker);
  EXPECT_EQ(read_string(task, address), "taskport-marker");
  const char changed[] = "written-through-the-preload";
  task.write(address, changed, sizeof changed);
  tp_test::write_str(child.stdin_pipe().get(), "show\n");
  EXPECT_EQ(out.value("marker"), changed);
}

TEST_F(Preload, SystemProgramHandsOverItsTask) {
  char real[PATH_MAX];
  ASSERT_NE(::realpath("/bin/sleep", real), nullptr);
  Command cmd("/bin/sleep");
  cmd.arg("30");
  auto [child, task] = spawn_via_preload(cmd);
  const std::uint64_t base = mapping_start(child.pid(), real);
  ASSERT_NE(base, 0u);
  char magic[4] = {};
  task.read(base, magic, sizeof magic);
  EXPECT_EQ(std::string(magic, 4),
            "\x7f"
            "ELF");
}

TEST_F(Preload, ProgramSeesNoTraceOfTaskport) {
  Command cmd = helper(plain_path(), {"--report", "--serve"});
  cmd.env_remove("LD_PRELOAD");
  auto [child, task] = spawn_via_preload(cmd);
  Lines out(child.stdout_pipe().get());
  const Report report = parse_helper_report(out.until_end());
  EXPECT_FALSE(report.mentions("TASKPORT_"));
  EXPECT_FALSE(report.env_value("LD_PRELOAD").has_value());
  const std::set<int> inherited = inheritable_fds();
  for (int fd : report.fds) EXPECT_TRUE(fd <= 2 || inherited.count(fd) != 0) << "extra descriptor " << fd;
  EXPECT_TRUE(maps_mention(child.pid(), "libtaskport_preload"))
      << "the library is loaded in the program itself";
}

TEST_F(Preload, GrandchildSeesNoTraceAndOtherPreloadsStay) {
  // The program runs a child of its own; that one must neither load the
  // preload nor see any taskport variable or descriptor, while the user's
  // own LD_PRELOAD entry survives.
  Command cmd =
      helper(plain_path(), {"--exec", plain_path(), "--report", "--print", "grandchild-done", "--serve"});
  cmd.env("LD_PRELOAD", "libm.so.6");
  auto [child, task] = spawn_via_preload(cmd);
  Lines out(child.stdout_pipe().get());
  const Report report = parse_helper_report(out.until_end());
  EXPECT_FALSE(report.env.empty());
  EXPECT_FALSE(report.mentions("TASKPORT_"));
  EXPECT_FALSE(report.mentions("taskport_preload"));
  EXPECT_EQ(report.env_value("LD_PRELOAD"), "libm.so.6");
  const std::set<int> inherited = inheritable_fds();
  for (int fd : report.fds) EXPECT_TRUE(fd <= 2 || inherited.count(fd) != 0) << "extra descriptor " << fd;
  EXPECT_EQ(out.next(), "grandchild-done");
}

TEST_F(Preload, StartSuspendedHoldsTheProgramBeforeMain) {
  Command cmd = helper(plain_path(), {"--print", "main-reached", "--serve"});
  cmd.start_suspended();
  auto [child, task] = spawn_via_preload(cmd);
  EXPECT_EQ(task.suspend_count(), 1);
  Lines out(child.stdout_pipe().get());
  EXPECT_EQ(out.next(300ms), std::nullopt) << "main ran while suspended";
  task.resume();
  EXPECT_EQ(out.next(), "main-reached");
}

TEST_F(Preload, SanitizedProgramHandsOverItsTask) {
  Command cmd = helper(plain_sanitized_path(), {"--marker", "--serve"});
  // A dynamically linked sanitizer runtime (gcc's default) wants to be the
  // first library loaded; the preload is harmless to it.
  const char* asan = std::getenv("ASAN_OPTIONS");
  cmd.env("ASAN_OPTIONS", std::string(asan != nullptr ? asan : "") + ":verify_asan_link_order=0");
  auto [child, task] = spawn_via_preload(cmd);
  Lines out(child.stdout_pipe().get());
  const auto marker = out.value("marker");
  ASSERT_TRUE(marker);
  EXPECT_EQ(read_string(task, parse_address(*marker)), "taskport-marker");
}

TEST_F(Preload, StaticallyLinkedProgramIsReportedAtOnce) {
  Command cmd(static_path());
  cmd.task_via_preload();
  const auto children = children_of_self();
  const auto t0 = std::chrono::steady_clock::now();
  auto error = spawn_error(cmd);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ENOEXEC);
  EXPECT_EQ(error->step(), Step::accept_task);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(new_children(children), std::set<pid_t>{}) << "the failed child must be reaped";
}

TEST_F(Preload, ProgramWhereThePreloadNeverRunsTimesOut) {
  // Not a shared object: the loader says so on stderr and runs the program
  // without it.
  taskport::set_preload_library("/etc/hostname");
  Command cmd(plain_path());
  cmd.args({"--sleep", "30"}).standard_error(Stdio::null()).task_via_preload().preload_timeout(300ms);
  const auto children = children_of_self();
  auto error = spawn_error(cmd);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ETIMEDOUT);
  EXPECT_NE(std::string(error->what()).find("/etc/hostname"), std::string::npos) << error->what();
  EXPECT_EQ(new_children(children), std::set<pid_t>{}) << "the failed child must be killed and reaped";
}

TEST_F(Preload, MissingLibraryIsReportedBeforeSpawning) {
  taskport::set_preload_library("/nonexistent/libtaskport_preload.so");
  Command cmd(plain_path());
  cmd.task_via_preload();
  auto error = spawn_error(cmd);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ENOENT);
  EXPECT_EQ(error->step(), Step::rendezvous);
}

TEST_F(Preload, LibraryPathComesFromTheEnvironmentUnlessSetExplicitly) {
  taskport::set_preload_library("");
  ::setenv("TASKPORT_PRELOAD_LIBRARY", "/from/the/environment.so", 1);
  EXPECT_EQ(taskport::preload_library(), "/from/the/environment.so");
  taskport::set_preload_library("/explicit.so");
  EXPECT_EQ(taskport::preload_library(), "/explicit.so");
  ::unsetenv("TASKPORT_PRELOAD_LIBRARY");
  taskport::set_preload_library("");
  EXPECT_NE(taskport::preload_library().find("taskport/libtaskport_preload.so"), std::string::npos);
}

TEST_F(Preload, SpawnWithoutATaskRejectsTheOption) {
  Command cmd(plain_path());
  cmd.task_via_preload();
  try {
    cmd.spawn();
    FAIL() << "spawn() accepted task_via_preload";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
    EXPECT_EQ(e.step(), Step::validate_command);
  }
}
