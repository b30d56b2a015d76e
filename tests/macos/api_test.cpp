// SPDX-License-Identifier: MIT
// The macOS side of issue 13's API: Task::open (task_for_pid, and the error
// that explains a refusal), Command::output(), close_other_fds()
// (POSIX_SPAWN_CLOEXEC_DEFAULT; the fork path with pre_exec hooks),
// uid()/gid()/groups() (posix_spawnattr_set_*_np: root only), rlimit()
// (ENOTSUP), and executable()/command_line()/current_dir()/environment()
// (proc_pidpath, KERN_PROCARGS2, PROC_PIDVNODEPATHINFO).
//
// Runs only on a Mac; the workflow runs it as a user and with sudo. The
// cross-build check on Linux compiles and links it without running it.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <taskport/taskport.hpp>

#ifndef TP_MACH_TARGET
#error "TP_MACH_TARGET must name the helper program"
#endif
#ifndef TP_PRELOAD_LIBRARY
#error "TP_PRELOAD_LIBRARY must name the built preload dylib"
#endif

namespace {

using namespace std::chrono_literals;
using taskport::Command;
using taskport::Error;
using taskport::Step;
using taskport::Task;

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

// What spawning or opening throws, or nullopt.
template <class Call>
std::optional<Error> error_of(Call&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

class MacApi : public ::testing::Test {
 protected:
  void SetUp() override { taskport::set_preload_library(TP_PRELOAD_LIBRARY); }
};

// A child that waits for its stdin to close.
taskport::Child waiting_child() {
  taskport::Child child =
      Command(TP_MACH_TARGET).arg("wait").standard_input(taskport::Stdio::piped()).spawn();
  child.kill_on_drop(true);
  return child;
}

}  // namespace

// ---- Task::open ------------------------------------------------------------------------

TEST_F(MacApi, OpenExplainsWhatIsMissingOrWorksAsRoot) {
  taskport::Child child = waiting_child();
  if (::geteuid() == 0) {
    Task task = Task::open(child.pid());
    EXPECT_EQ(task.pid(), child.pid());
    EXPECT_TRUE(task.is_alive());
    EXPECT_FALSE(task.threads().empty());
    EXPECT_EQ(Task::open(child.pid(), {task.start_time()}).pid(), child.pid());
    EXPECT_EQ(error_of([&] { Task::open(child.pid(), {task.start_time() + 1}); })->errno_value(), ESRCH);
  } else {
    const auto e = error_of([&] { Task::open(child.pid()); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->errno_value(), EPERM);
    EXPECT_EQ(e->step(), Step::open_task);
    EXPECT_EQ(e->program(), "pid " + std::to_string(child.pid()));
    const std::string what = e->what();
    EXPECT_NE(what.find("task_for_pid"), std::string::npos) << what;
    EXPECT_NE(what.find("not root"), std::string::npos) << what;
    EXPECT_NE(what.find("spawn_with_task"), std::string::npos) << what;
  }
  child.stdin_pipe().reset();
  EXPECT_TRUE(child.wait().success());
}

TEST_F(MacApi, OpenFailsCleanlyForNoProcessAZombieAndTheKernel) {
  EXPECT_EQ(error_of([] { Task::open(0); })->errno_value(), EINVAL);
  EXPECT_EQ(error_of([] { Task::open(-5); })->errno_value(), EINVAL);
  const pid_t zombie = ::fork();
  ASSERT_GE(zombie, 0);
  if (zombie == 0) ::_exit(0);
  std::this_thread::sleep_for(200ms);
  const auto e = error_of([&] { Task::open(zombie); });
  ::waitpid(zombie, nullptr, 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->errno_value(), ESRCH);
  EXPECT_NE(std::string(e->what()).find("has exited"), std::string::npos) << e->what();
  // The zombie's pid, now reaped, names no process.
  EXPECT_EQ(error_of([&] { Task::open(zombie); })->errno_value(), ESRCH);
  std::error_code ec;
  EXPECT_FALSE(Task::open(0, ec));
  EXPECT_EQ(ec, std::errc::invalid_argument);
  EXPECT_EQ(taskport::last_error().step(), Step::open_task);
}

// ---- output(), close_other_fds() -----------------------------------------------------------

TEST_F(MacApi, OutputCapturesBothStreamsAndTheStatus) {
  const taskport::Output out = Command("/bin/sh").args({"-c", "echo out; echo err >&2; exit 3"}).output();
  EXPECT_EQ(out.status.code(), 3);
  EXPECT_EQ(out.out, "out\n");
  EXPECT_EQ(out.err, "err\n");
}

TEST_F(MacApi, CloseOtherFdsClosesWhatIsNotCloseOnExec) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);  // no FD_CLOEXEC: inherited unless closed
  const std::string probe =
      "if (: >&" + std::to_string(p[1]) + ") 2>/dev/null; then echo open; else echo closed; fi";
  EXPECT_EQ(Command("/bin/sh").args({"-c", probe}).output().out, "open\n") << "the control";
  EXPECT_EQ(Command("/bin/sh").args({"-c", probe}).close_other_fds().output().out, "closed\n");
  // With a pre_exec hook (fork + exec) too.
  EXPECT_EQ(Command("/bin/sh").args({"-c", probe}).close_other_fds().pre_exec([] { return 0; }).output().out,
            "closed\n");
  // An inherit_fd target stays.
  EXPECT_EQ(Command("/bin/sh")
                .args({"-c", "if (: >&9) 2>/dev/null; then echo open; else echo closed; fi"})
                .inherit_fd(9, p[1])
                .close_other_fds()
                .output()
                .out,
            "open\n");
  ::close(p[0]);
  ::close(p[1]);
}

// ---- uid, gid, groups, rlimit ----------------------------------------------------------------

TEST_F(MacApi, CredentialsNeedRootAndAreWhatTheChildRunsWith) {
  Command id("/bin/sh");
  id.args({"-c", "id -u; id -g; id -G"}).uid(1).gid(1).groups({1, 2});
  if (::geteuid() != 0) {
    const auto e = error_of([&] { id.output(); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->errno_value(), EPERM);
    EXPECT_EQ(e->step(), Step::setgid);  // the kernel's first credential step
    return;
  }
  const taskport::Output out = id.output();
  EXPECT_TRUE(out.status.success()) << out.err;
  EXPECT_EQ(out.out, "1\n1\n1 2\n");
}

TEST_F(MacApi, RlimitIsNotSupported) {
  const auto e = error_of([] { Command("/usr/bin/true").rlimit(RLIMIT_CORE, 0, 0).spawn(); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->errno_value(), ENOTSUP);
  EXPECT_EQ(e->step(), Step::validate_command);
}

// ---- what the task runs -----------------------------------------------------------------------

TEST_F(MacApi, TellsTheExecutableArgumentsDirectoryAndEnvironment) {
  auto spawned = Command(TP_MACH_TARGET)
                     .arg("wait")
                     .current_dir("/tmp")
                     .env("TP_MAC_MARK", "spawned")
                     .standard_input(taskport::Stdio::piped())
                     .spawn_with_task();
  taskport::Child& child = spawned.first;
  const Task& task = spawned.second;
  child.kill_on_drop(true);
  EXPECT_EQ(task.executable(), real(TP_MACH_TARGET));
  EXPECT_EQ(task.command_line(), (std::vector<std::string>{TP_MACH_TARGET, "wait"}));
  EXPECT_EQ(task.current_dir(), real("/tmp"));
  const auto env = task.environment();
  EXPECT_NE(std::find(env.begin(), env.end(), "TP_MAC_MARK=spawned"), env.end());
  EXPECT_GT(task.start_time(), 0u);
  child.stdin_pipe().reset();
  EXPECT_TRUE(child.wait().success());
  EXPECT_EQ(error_of([&] { task.executable(); })->errno_value(), ESRCH);
}
