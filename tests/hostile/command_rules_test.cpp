// SPDX-License-Identifier: MIT
// The Command input rules (issue 10, cases 13-17): what Rust std and CPython
// refuse before spawning, taskport refuses too, and PATH search follows
// execvp's rules end to end.
//
// Portable on purpose — meant for the shared suite that runs on macOS as
// well: only the probe (tests/helpers/probe.cpp) and files, no /proc, no
// Linux-only call. "The child never ran" is proven by a file the probe
// creates as the very first act of main (--touch as its first argument).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Command;

extern char** environ;

namespace {

std::string with_nul(const std::string& before, const std::string& after) {
  std::string s = before;
  s += '\0';
  s += after;
  return s;
}

// The probe, creating `marker` first thing if it ever runs.
Command touching_probe(const std::string& program, const std::string& marker) {
  Command cmd(program);
  cmd.args({"--touch", marker});
  return cmd;
}

// `cmd` must be refused with EINVAL before anything runs.
void expect_refused_before_spawning(const Command& cmd, const std::string& marker, const std::string& what) {
  const auto error = spawn_error(cmd);
  if (!error) {
    ADD_FAILURE() << what << ": spawned (the input was silently cut at the NUL or passed on as is)";
  } else {
    EXPECT_EQ(error->errno_value(), EINVAL) << what << ": " << error->what();
  }
  EXPECT_FALSE(file_exists(marker)) << what << ": the program ran";
}

// Replaces environ for the lifetime of the object (the parent's own
// environment, as the spawn reads it).
class ParentEnvironment {
 public:
  explicit ParentEnvironment(std::vector<std::string> entries) : storage_(std::move(entries)) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) storage_.emplace_back(*e);
    for (auto& s : storage_) ptrs_.push_back(&s[0]);
    ptrs_.push_back(nullptr);
    saved_ = environ;
    environ = ptrs_.data();
  }
  ~ParentEnvironment() { environ = saved_; }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> ptrs_;
  char** saved_ = nullptr;
};

// A script whose execve fails with `interpreter`'s error.
void write_script(const std::string& path, const std::string& interpreter) {
  write_file(path, "#!" + interpreter + "\nexit 0\n", 0755);
}

// `name` as a symbolic link to the probe.
void link_probe(const std::string& path) {
  ASSERT_EQ(::symlink(probe_path().c_str(), path.c_str()), 0) << path;
}

ProbeReport report_or_failure(const Command& cmd, const std::string& what) {
  try {
    return report_via_stdout(cmd);
  } catch (const taskport::Error& e) {
    ADD_FAILURE() << what << ": " << e.what();
    return ProbeReport{};
  }
}

}  // namespace

// ---- case 13: interior NUL bytes ---------------------------------------------------------

TEST(HostileCommandRules, NulInTheProgramIsRefused) {
  TempDir tmp;
  const std::string marker = tmp / "ran";
  expect_refused_before_spawning(touching_probe(with_nul(probe_path(), "x"), marker), marker, "program");
}

TEST(HostileCommandRules, NulInAnArgumentIsRefused) {
  TempDir tmp;
  const std::string marker = tmp / "ran";
  Command cmd = touching_probe(probe_path(), marker);
  cmd.arg(with_nul("a", "b"));
  expect_refused_before_spawning(cmd, marker, "argument");
}

TEST(HostileCommandRules, NulInArg0IsRefused) {
  TempDir tmp;
  const std::string marker = tmp / "ran";
  Command cmd = touching_probe(probe_path(), marker);
  cmd.arg0(with_nul("tp", "probe"));
  expect_refused_before_spawning(cmd, marker, "arg0");
}

TEST(HostileCommandRules, NulInTheWorkingDirectoryIsRefused) {
  TempDir tmp;
  const std::string marker = tmp / "ran";
  Command cmd = touching_probe(probe_path(), marker);
  cmd.current_dir(with_nul(tmp.path(), "/does-not-exist"));
  expect_refused_before_spawning(cmd, marker, "current_dir");
}

TEST(HostileCommandRules, NulInAnEnvironmentKeyIsRefused) {
  TempDir tmp;
  const std::string marker = tmp / "ran";
  Command cmd = touching_probe(probe_path(), marker);
  cmd.env(with_nul("TP_KEY", "X"), "value");
  expect_refused_before_spawning(cmd, marker, "environment key");
}

TEST(HostileCommandRules, NulInAnEnvironmentValueIsRefused) {
  TempDir tmp;
  const std::string marker = tmp / "ran";
  Command cmd = touching_probe(probe_path(), marker);
  cmd.env("TP_KEY", with_nul("value", "more"));
  expect_refused_before_spawning(cmd, marker, "environment value");
}

// ---- case 14: environment keys -------------------------------------------------------------

TEST(HostileCommandRules, EnvironmentKeyWithAnEqualsSignIsRefused) {
  TempDir tmp;
  const std::string marker = tmp / "ran";
  Command cmd = touching_probe(probe_path(), marker);
  cmd.env("A=B", "c");
  expect_refused_before_spawning(cmd, marker, "env(\"A=B\", \"c\")");
}

TEST(HostileCommandRules, EmptyEnvironmentKeyIsRefused) {
  TempDir tmp;
  const std::string marker = tmp / "ran";
  Command cmd = touching_probe(probe_path(), marker);
  cmd.env("", "value");
  expect_refused_before_spawning(cmd, marker, "env(\"\", \"value\")");
}

// ---- case 15: a key twice in the parent's environment ------------------------------------------

TEST(HostileCommandRules, EnvRemoveRemovesEveryCopyOfADuplicatedParentKey) {
  ParentEnvironment env({"TP_HOSTILE_DUP=first", "TP_HOSTILE_DUP=second"});
  Command cmd = probe({"--report"});
  cmd.env_remove("TP_HOSTILE_DUP");
  const ProbeReport report = report_via_stdout(cmd);
  EXPECT_TRUE(report.env_values("TP_HOSTILE_DUP").empty())
      << "the child still has TP_HOSTILE_DUP=" << report.env_value("TP_HOSTILE_DUP").value_or("");
}

TEST(HostileCommandRules, EnvSetReplacesEveryCopyOfADuplicatedParentKey) {
  ParentEnvironment env({"TP_HOSTILE_DUP=first", "TP_HOSTILE_DUP=second"});
  Command cmd = probe({"--report"});
  cmd.env("TP_HOSTILE_DUP", "mine");
  const ProbeReport report = report_via_stdout(cmd);
  EXPECT_EQ(report.env_values("TP_HOSTILE_DUP"), std::vector<std::string>{"mine"});
}

// An edited environment is a map of the parent's: a key the parent holds
// twice reaches the child once (the first copy, as getenv() finds it).
TEST(HostileCommandRules, EditedEnvironmentHoldsADuplicatedParentKeyOnce) {
  ParentEnvironment env({"TP_HOSTILE_DUP=first", "TP_HOSTILE_DUP=second"});
  Command cmd = probe({"--report"});
  cmd.env("TP_HOSTILE_OTHER", "x");
  const ProbeReport report = report_via_stdout(cmd);
  EXPECT_EQ(report.env_values("TP_HOSTILE_DUP"), std::vector<std::string>{"first"});
}

// ---- case 16: PATH search goes on past ENOENT/ENOTDIR candidates ---------------------------------

// The first candidate is a script naming an interpreter that does not exist:
// execve says ENOENT, and execvp goes on to the next PATH entry.
TEST(HostileCommandRules, PathSearchSkipsACandidateWhoseInterpreterIsMissing) {
  TempDir tmp;
  ASSERT_EQ(::mkdir((tmp / "a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tmp / "b").c_str(), 0755), 0);
  write_script(tmp / "a/tp-hostile-cmd", tmp / "no-such-interpreter");
  link_probe(tmp / "b/tp-hostile-cmd");
  Command cmd("tp-hostile-cmd");
  cmd.env("PATH", tmp / "a" + ":" + tmp / "b").arg("--report");
  const ProbeReport report = report_or_failure(cmd, "the second PATH entry was not tried");
  EXPECT_TRUE(report.complete);
  EXPECT_EQ(report.argv.empty() ? std::string() : report.argv[0], "tp-hostile-cmd");
}

// The same with an interpreter path that runs through a regular file:
// execve says ENOTDIR.
TEST(HostileCommandRules, PathSearchSkipsACandidateWhoseInterpreterPathIsNotADirectory) {
  TempDir tmp;
  ASSERT_EQ(::mkdir((tmp / "a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tmp / "b").c_str(), 0755), 0);
  write_file(tmp / "file", "", 0644);
  write_script(tmp / "a/tp-hostile-cmd", tmp / "file/interpreter");
  link_probe(tmp / "b/tp-hostile-cmd");
  Command cmd("tp-hostile-cmd");
  cmd.env("PATH", tmp / "a" + ":" + tmp / "b").arg("--report");
  const ProbeReport report = report_or_failure(cmd, "the second PATH entry was not tried");
  EXPECT_TRUE(report.complete);
}

// A candidate that is not executable at all (a directory) is skipped too —
// decided in the parent, as today.
TEST(HostileCommandRules, PathSearchSkipsADirectoryNamedLikeTheProgram) {
  TempDir tmp;
  ASSERT_EQ(::mkdir((tmp / "a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tmp / "a/tp-hostile-cmd").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tmp / "b").c_str(), 0755), 0);
  link_probe(tmp / "b/tp-hostile-cmd");
  Command cmd("tp-hostile-cmd");
  cmd.env("PATH", tmp / "a" + ":" + tmp / "b").arg("--report");
  EXPECT_TRUE(report_or_failure(cmd, "the second PATH entry was not tried").complete);
}

// When every candidate fails, the error is execvp's: ENOENT here.
TEST(HostileCommandRules, PathSearchWithOnlyAMissingInterpreterReportsEnoent) {
  TempDir tmp;
  ASSERT_EQ(::mkdir((tmp / "a").c_str(), 0755), 0);
  write_script(tmp / "a/tp-hostile-cmd", tmp / "no-such-interpreter");
  Command cmd("tp-hostile-cmd");
  cmd.env("PATH", tmp / "a");
  const auto error = spawn_error(cmd);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->errno_value(), ENOENT) << error->what();
}

// A candidate whose execve says EACCES (a "#!" naming a file that is not
// executable) is skipped like the others, and remembered: when nothing
// runs, the error is EACCES, not the last candidate's ENOENT.
TEST(HostileCommandRules, PathSearchReportsEaccesWhenACandidateWasDeniedAndNoneRan) {
  TempDir tmp;
  ASSERT_EQ(::mkdir((tmp / "a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tmp / "b").c_str(), 0755), 0);
  write_file(tmp / "not-executable", "", 0644);
  write_script(tmp / "a/tp-hostile-cmd", tmp / "not-executable");
  write_script(tmp / "b/tp-hostile-cmd", tmp / "no-such-interpreter");
  Command cmd("tp-hostile-cmd");
  cmd.env("PATH", tmp / "a" + ":" + tmp / "b");
  const auto error = spawn_error(cmd);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->errno_value(), EACCES) << error->what();
}

// An error execvp does not skip ends the search there: a "#!" naming a
// symbolic link loop is ELOOP, and the later candidate never runs.
TEST(HostileCommandRules, PathSearchEndsAtAnErrorExecvpDoesNotSkip) {
  TempDir tmp;
  const std::string marker = tmp / "ran";
  ASSERT_EQ(::mkdir((tmp / "a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tmp / "b").c_str(), 0755), 0);
  ASSERT_EQ(::symlink((tmp / "loop").c_str(), (tmp / "loop").c_str()), 0);
  write_script(tmp / "a/tp-hostile-cmd", tmp / "loop");
  link_probe(tmp / "b/tp-hostile-cmd");
  Command cmd("tp-hostile-cmd");
  cmd.env("PATH", tmp / "a" + ":" + tmp / "b").args({"--touch", marker});
  const auto error = spawn_error(cmd);
  ASSERT_TRUE(error.has_value()) << "the second PATH entry ran";
  EXPECT_EQ(error->errno_value(), ELOOP) << error->what();
  EXPECT_FALSE(file_exists(marker)) << "the second PATH entry ran";
}

// A later candidate the kernel cannot execute (no "#!" line) is run by
// /bin/sh, as the first one would be.
TEST(HostileCommandRules, PathSearchRunsALaterCandidateWithoutAShebangLineWithTheShell) {
  TempDir tmp;
  ASSERT_EQ(::mkdir((tmp / "a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tmp / "b").c_str(), 0755), 0);
  write_script(tmp / "a/tp-hostile-cmd", tmp / "no-such-interpreter");
  write_file(tmp / "b/tp-hostile-cmd", "exec '" + probe_path() + "' \"$@\"\n", 0755);
  Command cmd("tp-hostile-cmd");
  cmd.env("PATH", tmp / "a" + ":" + tmp / "b").arg("--report");
  EXPECT_TRUE(report_or_failure(cmd, "the second PATH entry did not run through /bin/sh").complete);
}

// ---- case 17: errors name what failed; PATH after env_clear ------------------------------------

TEST(HostileCommandRules, FailedChdirNamesTheDirectory) {
  TempDir tmp;
  const std::string dir = tmp / "no-such-directory";
  Command cmd = probe({"--exit", "0"});
  cmd.current_dir(dir);
  const auto error = spawn_error(cmd);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->errno_value(), ENOENT);
  EXPECT_NE(std::string(error->what()).find(dir), std::string::npos) << error->what();
}

// After env_clear() (and no PATH of the child's own) the search uses the
// platform's default path, not the parent's PATH.
TEST(HostileCommandRules, PathSearchAfterEnvClearUsesTheDefaultPathNotTheParents) {
  TempDir tmp;
  link_probe(tmp / "tp-hostile-only-here");
  const char* old = std::getenv("PATH");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("PATH", (tmp.path() + ":" + saved).c_str(), 1);
  Command cmd("tp-hostile-only-here");
  cmd.env_clear();
  const auto error = spawn_error(cmd);
  ::setenv("PATH", saved.c_str(), 1);
  ASSERT_TRUE(error.has_value()) << "found through the parent's PATH after env_clear()";
  EXPECT_EQ(error->errno_value(), ENOENT) << error->what();
}
