// SPDX-License-Identifier: MIT
// Failed spawns: each failure is thrown as Error with the errno, the Step
// that failed and the program; nothing is left behind (no zombie, no
// descriptor). And pre-exec hooks: order, what they observe, their errors.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::Stdio;
using taskport::Step;

namespace {

// Spawns `cmd`, expecting it to fail with `err` at `step`; checks that the
// failure left no child process and no descriptor behind.
void expect_clean_failure(const Command& cmd, int err, Step step) {
  {  // warm-up: anything the library opens once per process is opened now
    Child warm = probe().spawn();
    warm.kill_on_drop(true);
    wait_exit(warm);
  }
  const std::set<int> fds_before = open_fds();
  const std::set<pid_t> kids_before = children_of_self();

  std::optional<Error> e = spawn_error(cmd);
  ASSERT_TRUE(e.has_value()) << "spawn of " << cmd.get_program() << " did not fail";
  EXPECT_EQ(e->errno_value(), err) << e->what();
  EXPECT_EQ(e->step(), step) << "step " << taskport::to_string(e->step()) << ": " << e->what();
  EXPECT_EQ(e->program(), cmd.get_program());
  EXPECT_NE(std::string(e->what()).find(cmd.get_program()), std::string::npos)
      << "what() should name the program: " << e->what();

  EXPECT_EQ(open_fds(), fds_before) << "descriptors leaked by the failed spawn";
  for (pid_t kid : children_of_self())
    EXPECT_TRUE(kids_before.count(kid))
        << "child " << kid << " left behind (state " << (proc_stat(kid) ? proc_stat(kid)->state : '?') << ")";
}

}  // namespace

// ---- the program ---------------------------------------------------------------------

TEST(SpawnErrors, ANameNotFoundInPathIsResolveProgramEnoent) {
  TempDir empty;
  Command cmd("tp-no-such-program");
  cmd.env("PATH", empty.path());
  expect_clean_failure(cmd, ENOENT, Step::resolve_program);
}

TEST(SpawnErrors, ANameFoundOnlyAsANonExecutableFileIsResolveProgramEacces) {
  TempDir bin;
  write_file(bin / "tp-not-executable", "#!/bin/sh\nexit 0\n", 0644);
  Command cmd("tp-not-executable");
  cmd.env("PATH", bin.path());
  expect_clean_failure(cmd, EACCES, Step::resolve_program);
}

TEST(SpawnErrors, AMissingPathIsExecveEnoent) {
  TempDir dir;
  expect_clean_failure(Command(dir / "missing"), ENOENT, Step::execve);
}

TEST(SpawnErrors, ANonExecutableFileIsExecveEacces) {
  TempDir dir;
  write_file(dir / "data", "#!/bin/sh\nexit 0\n", 0644);
  expect_clean_failure(Command(dir / "data"), EACCES, Step::execve);
}

TEST(SpawnErrors, ADirectoryIsExecveEacces) {
  TempDir dir;
  expect_clean_failure(Command(dir.path()), EACCES, Step::execve);
}

TEST(SpawnErrors, ErrorCodeComparesWithStdErrc) {
  TempDir dir;
  auto e = spawn_error(Command(dir / "missing"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), std::errc::no_such_file_or_directory);
}

// ---- steps in the child ------------------------------------------------------------

TEST(SpawnErrors, AMissingWorkingDirectoryIsChdirEnoent) {
  TempDir dir;
  Command cmd = probe();
  cmd.current_dir(dir / "does-not-exist");
  expect_clean_failure(cmd, ENOENT, Step::chdir);
}

TEST(SpawnErrors, JoiningAGroupThatDoesNotExistIsSetpgidEperm) {
  // setpgid to a group that does not exist in our session: EPERM.
  // Find a pid that is surely free: one of our children, already reaped.
  Child gone = probe().spawn();
  gone.kill_on_drop(true);
  ASSERT_TRUE(wait_exit(gone).success());
  ASSERT_FALSE(proc_stat(gone.pid()).has_value()) << "pid reused too fast to run this test";
  Command cmd = probe();
  cmd.process_group(gone.pid());
  expect_clean_failure(cmd, EPERM, Step::setpgid);
}

TEST(SpawnErrors, AnInheritFdOfAClosedDescriptorIsRedirectFdsEbadf) {
  int closed_fd;
  {
    Pipe p = make_pipe();
    closed_fd = p.write.get();
  }
  Command cmd = probe();
  cmd.inherit_fd(5, closed_fd);
  expect_clean_failure(cmd, EBADF, Step::redirect_fds);
}

TEST(SpawnErrors, AStdioFdOfAClosedDescriptorIsRedirectFdsEbadf) {
  int closed_fd;
  {
    Pipe p = make_pipe();
    closed_fd = p.write.get();
  }
  Command cmd = probe();
  cmd.standard_output(Stdio::fd(closed_fd));
  expect_clean_failure(cmd, EBADF, Step::redirect_fds);
}

TEST(SpawnErrors, TheCommandCanBeSpawnedAgainAfterAFailure) {
  TempDir dir;
  Command cmd = probe({"--report"});
  cmd.current_dir(dir / "later");
  ASSERT_TRUE(spawn_error(cmd).has_value());
  ASSERT_EQ(::mkdir((dir / "later").c_str(), 0755), 0);
  ProbeReport r = report_via_stdout(cmd);
  EXPECT_EQ(r.cwd, real_path(dir / "later"));
}

TEST(SpawnErrors, SpawnWithTaskFailsTheSameWayAndLeaksNothing) {
  TempDir dir;
  const Command cmd(dir / "missing");
  const std::set<int> fds_before = open_fds();
  try {
    auto [child, task] = cmd.spawn_with_task();
    child.kill_on_drop(true);
    ADD_FAILURE() << "spawn_with_task of a missing program succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_EQ(e.step(), Step::execve);
  }
  EXPECT_EQ(open_fds(), fds_before);
}

// ---- pre-exec hooks ------------------------------------------------------------------

TEST(PreExecHook, AnErrorReturnedByAHookIsThrownAsPreExecHook) {
  Command cmd = probe();
  cmd.pre_exec([] { return EPERM; });
  expect_clean_failure(cmd, EPERM, Step::pre_exec_hook);
}

TEST(PreExecHook, AFailingHookStopsLaterHooksAndTheProgram) {
  TempDir dir;
  Pipe p = make_pipe();
  const int wfd = p.write.get();
  Command cmd = probe({"--touch", dir / "ran"});
  cmd.pre_exec([wfd] { return ::write(wfd, "1", 1) == 1 ? 0 : EIO; });
  cmd.pre_exec([] { return EPERM; });
  cmd.pre_exec([wfd] { return ::write(wfd, "3", 1) == 1 ? 0 : EIO; });
  auto e = spawn_error(cmd);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->errno_value(), EPERM);
  p.write.reset();
  EXPECT_EQ(read_all(p.read.get()), "1");
  EXPECT_FALSE(file_exists(dir / "ran"));
}

TEST(PreExecHook, HooksRunInTheOrderAdded) {
  Pipe p = make_pipe();
  const int wfd = p.write.get();
  Command cmd = probe();
  for (const char* c : {"a", "b", "c"}) cmd.pre_exec([wfd, c] { return ::write(wfd, c, 1) == 1 ? 0 : EIO; });
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  p.write.reset();
  EXPECT_EQ(read_all(p.read.get()), "abc");
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(PreExecHook, AHookRunsInTheChildProcess) {
  Pipe p = make_pipe();
  const int wfd = p.write.get();
  Command cmd = probe();
  cmd.pre_exec([wfd] {
    long ids[2] = {hook_getpid(), hook_getppid()};
    return ::write(wfd, ids, sizeof ids) == sizeof ids ? 0 : EIO;
  });
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  p.write.reset();
  long ids[2] = {};
  ASSERT_EQ(::read(p.read.get(), ids, sizeof ids), static_cast<ssize_t>(sizeof ids));
  EXPECT_EQ(ids[0], child.pid());
  EXPECT_EQ(ids[1], ::getpid());
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(PreExecHook, AHookRunsAfterTheWorkingDirectoryAndDescriptorsAreSetUp) {
  TempDir dir;
  Pipe p = make_pipe();
  Command cmd = probe();
  cmd.current_dir(dir.path()).standard_output(Stdio::null()).new_session();
  // The hook writes its findings through fd 5, placed there by inherit_fd.
  cmd.inherit_fd(5, p.write.get());
  cmd.pre_exec([] {
    char cwd[512] = {};
    struct stat out {};
    long cwd_len = hook_getcwd(cwd, sizeof cwd);
    if (cwd_len <= 0 || ::fstat(1, &out) != 0) return EIO;
    long sid = hook_getsid(), pid = hook_getpid();
    char line[700];
    int n = 0;
    // Minimal formatting without stdio: "<sid==pid> <dev>:<ino> <cwd>".
    auto put_num = [&](unsigned long long v) {
      char tmp[24];
      int k = 0;
      do tmp[k++] = static_cast<char>('0' + v % 10);
      while ((v /= 10) != 0);
      while (k > 0) line[n++] = tmp[--k];
    };
    line[n++] = sid == pid ? '1' : '0';
    line[n++] = ' ';
    put_num(out.st_dev);
    line[n++] = ':';
    put_num(out.st_ino);
    line[n++] = ' ';
    for (long i = 0; i < cwd_len && n < static_cast<int>(sizeof line); ++i) line[n++] = cwd[i];
    return ::write(5, line, static_cast<size_t>(n)) == n ? 0 : EIO;
  });
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  p.write.reset();
  EXPECT_EQ(read_all(p.read.get()), "1 " + path_identity("/dev/null") + " " + real_path(dir.path()));
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(PreExecHook, AChildKilledInAHookIsChildDiedAndLeavesNothingBehind) {
  // error.hpp: child_died — "the child died (signal, or _exit in a hook)
  // before execve; errno ECANCELED".
  Command cmd = probe();
  cmd.pre_exec([] {
    hook_kill_self(SIGKILL);
    return 0;
  });
  expect_clean_failure(cmd, ECANCELED, Step::child_died);
}

TEST(PreExecHook, AHookThatExitsIsChildDied) {
  TempDir dir;
  Command cmd = probe({"--touch", dir / "ran"});
  cmd.pre_exec([] {
    ::_exit(0);
    return 0;
  });
  expect_clean_failure(cmd, ECANCELED, Step::child_died);
  EXPECT_FALSE(file_exists(dir / "ran"));
}
