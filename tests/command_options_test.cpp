// SPDX-License-Identifier: MIT
// Command options as the child sees them: argv, argv[0], environment,
// working directory, and which program runs (PATH search).
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Stdio;

// ---- arguments ---------------------------------------------------------------

TEST(Arguments, ChildReceivesArgumentsVerbatimAndInOrder) {
  const std::vector<std::string> data = {"plain",    "with space", "",          "tab\there", "new\nline",
                                         "quote\"'", "ünïcødé",    "%percent%", "$HOME",     "*"};
  Command cmd(probe_path());
  cmd.arg("--report").args(data);
  ProbeReport r = report_via_stdout(cmd);

  std::vector<std::string> expected = {probe_path(), "--report"};
  expected.insert(expected.end(), data.begin(), data.end());
  EXPECT_EQ(r.argv, expected);
}

TEST(Arguments, ArgAndArgsAppendInCallOrder) {
  Command cmd(probe_path());
  cmd.arg("--report").args({"a", "b"}).arg("c").args(std::vector<std::string>{"d", "e"});
  EXPECT_EQ(cmd.get_args(), (std::vector<std::string>{"--report", "a", "b", "c", "d", "e"}));
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.argv, (std::vector<std::string>{probe_path(), "--report", "a", "b", "c", "d", "e"}));
}

TEST(Arguments, ArgvZeroDefaultsToTheProgramAsGiven) {
  ProbeReport r = report_via_stdout(probe({"--report"}));
  ASSERT_FALSE(r.argv.empty());
  EXPECT_EQ(r.argv[0], probe_path());
}

TEST(Arguments, Arg0ReplacesArgvZeroButNotTheProgram) {
  Command cmd = probe({"--report"});
  cmd.arg0("a-name-of-my-choosing");
  ProbeReport r = report_via_stdout(cmd);
  ASSERT_FALSE(r.argv.empty());
  EXPECT_EQ(r.argv[0], "a-name-of-my-choosing");
  EXPECT_EQ(r.exe, real_path(probe_path())) << "the probe itself must still be what runs";
}

TEST(Arguments, ACommandCanBeSpawnedAgainWithTheSameResult) {
  const Command cmd = probe({"--report", "x", "y"});
  ProbeReport first = report_via_stdout(cmd);
  ProbeReport second = report_via_stdout(cmd);
  EXPECT_NE(first.pid, second.pid);
  EXPECT_EQ(first.argv, second.argv);
  EXPECT_EQ(first.env, second.env);
}

// ---- environment ---------------------------------------------------------------

// Sets a variable in the test process for the test's duration.
class ScopedEnv {
 public:
  ScopedEnv(const char* key, const char* value) : key_(key) {
    if (const char* old = ::getenv(key)) old_ = old;
    ::setenv(key, value, 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(key_.c_str(), old_->c_str(), 1);
    else ::unsetenv(key_.c_str());
  }

 private:
  std::string key_;
  std::optional<std::string> old_;
};

TEST(Environment, ChildInheritsTheParentEnvironmentByDefault) {
  ScopedEnv e("TP_TEST_INHERITED", "from the parent");
  ProbeReport r = report_via_stdout(probe({"--report"}));
  EXPECT_EQ(r.env_values("TP_TEST_INHERITED"), std::vector<std::string>{"from the parent"});
}

TEST(Environment, InheritanceHappensAtSpawnTimeNotWhenTheCommandIsBuilt) {
  Command cmd = probe({"--report"});
  ScopedEnv e("TP_TEST_LATE", "set after the Command was built");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.env_value("TP_TEST_LATE"), "set after the Command was built");
}

TEST(Environment, EnvAddsAVariable) {
  Command cmd = probe({"--report"});
  cmd.env("TP_TEST_ADDED", "value with spaces = and equals");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.env_values("TP_TEST_ADDED"), std::vector<std::string>{"value with spaces = and equals"});
}

TEST(Environment, EnvOverridesAnInheritedVariableWithoutDuplicatingIt) {
  ScopedEnv e("TP_TEST_OVERRIDE", "parent");
  Command cmd = probe({"--report"});
  cmd.env("TP_TEST_OVERRIDE", "child");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.env_values("TP_TEST_OVERRIDE"), std::vector<std::string>{"child"});
}

TEST(Environment, TheLastEnvForAKeyWins) {
  Command cmd = probe({"--report"});
  cmd.env("TP_TEST_TWICE", "first").env("TP_TEST_TWICE", "second");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.env_values("TP_TEST_TWICE"), std::vector<std::string>{"second"});
}

TEST(Environment, AnEmptyValueIsKeptAsEmpty) {
  Command cmd = probe({"--report"});
  cmd.env("TP_TEST_EMPTY", "");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.env_values("TP_TEST_EMPTY"), std::vector<std::string>{""});
}

TEST(Environment, EnvRemoveDropsAnInheritedVariable) {
  ScopedEnv e("TP_TEST_REMOVED", "parent");
  Command cmd = probe({"--report"});
  cmd.env_remove("TP_TEST_REMOVED");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_TRUE(r.env_values("TP_TEST_REMOVED").empty());
  EXPECT_TRUE(r.env_value("PATH").has_value()) << "other variables stay";
}

TEST(Environment, EditsApplyInOrder) {
  Command cmd = probe({"--report"});
  cmd.env("TP_TEST_A", "1").env_remove("TP_TEST_A");
  cmd.env_remove("TP_TEST_B").env("TP_TEST_B", "2");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_TRUE(r.env_values("TP_TEST_A").empty());
  EXPECT_EQ(r.env_values("TP_TEST_B"), std::vector<std::string>{"2"});
}

TEST(Environment, EnvClearStartsFromAnEmptyEnvironment) {
  ScopedEnv e("TP_TEST_NOT_WANTED", "parent");
  Command cmd = probe({"--report"});
  cmd.env_clear().env("ONLY", "this").env("AND", "that");
  ProbeReport r = report_via_stdout(cmd);
  std::vector<std::string> sorted = r.env;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::string>{"AND=that", "ONLY=this"}));
}

TEST(Environment, EnvClearAloneGivesAnEmptyEnvironment) {
  Command cmd = probe({"--report"});
  cmd.env_clear();
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_TRUE(r.env.empty()) << "first entry: " << (r.env.empty() ? "" : r.env[0]);
}

TEST(Environment, TheParentEnvironmentIsUnchangedBySpawning) {
  ScopedEnv e("TP_TEST_PARENT_ONLY", "untouched");
  Command cmd = probe({"--report"});
  cmd.env("TP_TEST_PARENT_ONLY", "changed").env("TP_TEST_CHILD_ONLY", "x");
  report_via_stdout(cmd);
  EXPECT_STREQ(::getenv("TP_TEST_PARENT_ONLY"), "untouched");
  EXPECT_EQ(::getenv("TP_TEST_CHILD_ONLY"), nullptr);
}

// ---- working directory ---------------------------------------------------------

TEST(WorkingDirectory, ChildStartsInTheParentDirectoryByDefault) {
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ProbeReport r = report_via_stdout(probe({"--report"}));
  EXPECT_EQ(r.cwd, cwd);
}

TEST(WorkingDirectory, CurrentDirSetsTheChildDirectory) {
  TempDir dir;
  Command cmd = probe({"--report"});
  cmd.current_dir(dir.path());
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.cwd, real_path(dir.path()));
}

TEST(WorkingDirectory, CurrentDirDoesNotChangeTheParentDirectory) {
  char before[4096], after[4096];
  ASSERT_NE(::getcwd(before, sizeof before), nullptr);
  TempDir dir;
  Command cmd = probe({"--report"});
  cmd.current_dir(dir.path());
  report_via_stdout(cmd);
  ASSERT_NE(::getcwd(after, sizeof after), nullptr);
  EXPECT_STREQ(before, after);
}

// ---- program lookup ------------------------------------------------------------

// A directory holding a link to the probe under another name, to be found
// through PATH.
class ProgramLookup : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::symlink(probe_path().c_str(), (bin / "tp-probe-alias").c_str()), 0); }
  TempDir bin;
  TempDir other;
};

TEST_F(ProgramLookup, ANameIsFoundInThePathSetForTheChild) {
  Command cmd("tp-probe-alias");
  cmd.env("PATH", other.path() + ":" + bin.path()).arg("--report");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.exe, real_path(probe_path()));
  ASSERT_FALSE(r.argv.empty());
  EXPECT_EQ(r.argv[0], "tp-probe-alias") << "argv[0] is the name as given, not the resolved path";
  EXPECT_EQ(r.env_value("PATH"), other.path() + ":" + bin.path());
}

TEST_F(ProgramLookup, ANameIsFoundInTheParentPathWhenTheChildGetsNone) {
  const char* old = ::getenv("PATH");
  ScopedEnv path("PATH", (bin.path() + ":" + (old ? old : "/bin:/usr/bin")).c_str());
  Command cmd("tp-probe-alias");
  cmd.arg("--report");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.exe, real_path(probe_path()));
}

TEST_F(ProgramLookup, ANonExecutableCandidateIsSkippedForALaterOne) {
  write_file(other / "tp-probe-alias", "not a program\n", 0644);
  Command cmd("tp-probe-alias");
  cmd.env("PATH", other.path() + ":" + bin.path()).arg("--report");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.exe, real_path(probe_path()));
}

TEST_F(ProgramLookup, AScriptWithoutShebangFoundInPathRunsWithBinSh) {
  write_file(other / "tp-plain-script", "printf 'script ran with %s\\n' \"$1\"\n", 0755);
  Command cmd("tp-plain-script");
  cmd.env("PATH", other.path()).arg("an-argument").standard_output(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(read_all(child.stdout_pipe().get()), "script ran with an-argument\n");
  EXPECT_TRUE(wait_exit(child).success());
}

TEST_F(ProgramLookup, AScriptWithoutShebangGivenByPathRunsWithBinSh) {
  write_file(other / "plain-script", "printf 'script ran with %s\\n' \"$1\"\n", 0755);
  Command cmd(other / "plain-script");
  cmd.arg("an-argument").standard_output(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(read_all(child.stdout_pipe().get()), "script ran with an-argument\n");
  EXPECT_TRUE(wait_exit(child).success());
}

TEST_F(ProgramLookup, ARelativePathEntryIsResolvedInTheChildsWorkingDirectory) {
  // execvp semantics: a relative PATH entry is relative to the working
  // directory the program is executed in — the child's.
  ASSERT_EQ(::mkdir((other / "bin").c_str(), 0755), 0);
  ASSERT_EQ(::symlink(probe_path().c_str(), (other / "bin/tp-rel-probe").c_str()), 0);
  Command cmd("tp-rel-probe");
  cmd.env("PATH", "bin").current_dir(other.path()).arg("--report");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.exe, real_path(probe_path()));
  EXPECT_EQ(r.cwd, real_path(other.path()));
}

TEST_F(ProgramLookup, ARelativePathEntryWorksWithARelativeWorkingDirectory) {
  // Both relative: PATH=bin, current_dir("<dir>"), so the program is
  // <dir>/bin/<name> seen from here — and bin/<name> seen from the child's
  // working directory, where it is executed.
  TempDir here(".");                                   // a directory below our working directory
  const std::string relative = here.path().substr(2);  // drop "./"
  ASSERT_EQ(::mkdir((here / "bin").c_str(), 0755), 0);
  ASSERT_EQ(::symlink(probe_path().c_str(), (here / "bin/tp-rel-probe").c_str()), 0);
  Command cmd("tp-rel-probe");
  cmd.env("PATH", "bin").current_dir(relative).arg("--report");
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.exe, real_path(probe_path()));
  EXPECT_EQ(r.cwd, real_path(here.path()));
}

TEST_F(ProgramLookup, ARelativePathIsNotSearchedInPath) {
  // "./tp-probe-alias" contains a '/', so it names a file relative to the
  // working directory of the parent, even though PATH has such a program.
  Command cmd("./tp-probe-alias");
  cmd.env("PATH", bin.path()).arg("--report");
  auto err = spawn_error(cmd);
  ASSERT_TRUE(err.has_value()) << "spawned ./tp-probe-alias although the cwd has none";
  EXPECT_EQ(err->errno_value(), ENOENT);
}
