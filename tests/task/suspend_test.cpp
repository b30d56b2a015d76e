// SPDX-License-Identifier: MIT
// Counted suspend/resume and registers, observed from outside: thread states
// in /proc, the target's own output, gdb's view of the same thread, and the
// kernel's auxiliary vector.
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <taskport/taskport.hpp>

using namespace std::chrono_literals;
using taskport::Command;
using taskport::Stdio;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

char state_of(const std::string& stat_path) {
  const std::string s = read_file(stat_path);
  const auto close = s.rfind(')');
  return close == std::string::npos || close + 2 >= s.size() ? '?' : s[close + 2];
}

// tid -> state letter, for every thread the kernel lists.
std::map<pid_t, char> thread_states(pid_t pid) {
  std::map<pid_t, char> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    out[std::atoi(e->d_name)] = state_of(dir + "/" + e->d_name + "/stat");
  }
  closedir(d);
  return out;
}

// Drains whatever the pipe holds within `wait`; returns the bytes read.
std::string drain(int fd, std::chrono::milliseconds wait) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// Reads until `needle` appears or `wait` passes.
std::string read_until(int fd, const std::string& needle, std::chrono::milliseconds wait) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (out.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    out += drain(fd, 20ms);
  }
  return out;
}

struct Target {
  taskport::Child child;
  taskport::Task task;
};

Target spawn_target(const char* mode, bool suspended = false) {
  auto [child, task] = Command(TASKPORT_SUSPEND_TARGET)
                           .arg(mode)
                           .standard_input(Stdio::piped())
                           .standard_output(Stdio::piped())
                           .start_suspended(suspended)
                           .spawn_with_task();
  child.kill_on_drop(true);
  return Target{std::move(child), std::move(task)};
}

// Every thread is in a ptrace stop — or has already exited: a thread that
// ends while the task is suspended stays listed as a zombie until the tracer
// reaps it, and it runs no more code either way.
bool all_traced_stopped(pid_t pid) {
  const auto states = thread_states(pid);
  if (states.empty()) return false;
  bool any_stopped = false;
  for (const auto& [tid, state] : states) {
    if (state == 't') {
      any_stopped = true;
    } else if (state != 'Z' && state != 'X' && state != '?') {
      return false;
    }
  }
  return any_stopped;
}

bool none_stopped(pid_t pid) {
  for (const auto& [tid, state] : thread_states(pid)) {
    if (state == 't' || state == 'T') return false;
  }
  return true;
}

}  // namespace

TEST(Suspend, StopsEveryThreadIncludingThreadsBornWhileSuspending) {
  Target t = spawn_target("--thread-churn");
  read_until(t.child.stdout_pipe().get(), "\n", 5s);
  for (int round = 0; round < 20; ++round) {
    t.task.suspend();
    EXPECT_TRUE(all_traced_stopped(t.child.pid())) << "round " << round;
    t.task.resume();
  }
}

TEST(Suspend, SuspendedTaskMakesNoProgressAndResumesAfterward) {
  Target t = spawn_target("--ticker");
  const int out = t.child.stdout_pipe().get();
  ASSERT_FALSE(read_until(out, "\n", 5s).empty());
  t.task.suspend();
  drain(out, 50ms);  // what was written before the stop
  EXPECT_EQ(drain(out, 300ms), "");
  t.task.resume();
  EXPECT_NE(read_until(out, "\n", 5s), "");
}

TEST(Suspend, NestedSuspendsNeedAsManyResumes) {
  Target t = spawn_target("--ticker");
  const int out = t.child.stdout_pipe().get();
  read_until(out, "\n", 5s);
  t.task.suspend();
  t.task.suspend();
  EXPECT_EQ(t.task.suspend_count(), 2);
  t.task.resume();
  EXPECT_EQ(t.task.suspend_count(), 1);
  drain(out, 50ms);
  EXPECT_EQ(drain(out, 200ms), "") << "one resume of two must leave the task stopped";
  EXPECT_TRUE(all_traced_stopped(t.child.pid()));
  t.task.resume();
  EXPECT_NE(read_until(out, "\n", 5s), "");
  EXPECT_TRUE(none_stopped(t.child.pid()));
}

TEST(Suspend, ResumeWithoutSuspendIsAnError) {
  Target t = spawn_target("--block");
  try {
    t.task.resume();
    FAIL() << "resume() of a running task must throw";
  } catch (const taskport::Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
    EXPECT_EQ(e.step(), taskport::Step::resume);
  }
}

TEST(Suspend, ResumeFromAnotherThread) {
  Target t = spawn_target("--ticker");
  const int out = t.child.stdout_pipe().get();
  read_until(out, "\n", 5s);
  std::thread([&] { t.task.suspend(); }).join();
  EXPECT_TRUE(all_traced_stopped(t.child.pid()));
  std::thread([&] { t.task.resume(); }).join();
  drain(out, 50ms);
  EXPECT_NE(read_until(out, "\n", 5s), "");
  EXPECT_TRUE(none_stopped(t.child.pid()));
}

TEST(Suspend, KilledWhileSuspendedIsReapedAndResumeStillBalances) {
  Target t = spawn_target("--thread-churn");
  read_until(t.child.stdout_pipe().get(), "\n", 5s);
  t.task.suspend();
  t.child.kill();
  auto status = t.child.wait_for(10s);
  ASSERT_TRUE(status.has_value()) << "a killed suspended task must be reapable";
  EXPECT_EQ(status->signal(), SIGKILL);
  EXPECT_NO_THROW(t.task.resume());
  EXPECT_EQ(t.task.suspend_count(), 0);
}

TEST(Suspend, DestroyingTheTaskReleasesTheTarget) {
  auto [child, task] =
      Command(TASKPORT_SUSPEND_TARGET).arg("--ticker").standard_output(Stdio::piped()).spawn_with_task();
  child.kill_on_drop(true);
  const int out = child.stdout_pipe().get();
  read_until(out, "\n", 5s);
  {
    taskport::Task moved = std::move(task);
    moved.suspend();
    moved.suspend();
    EXPECT_TRUE(all_traced_stopped(child.pid()));
  }
  drain(out, 50ms);
  EXPECT_NE(read_until(out, "\n", 5s), "");
  EXPECT_TRUE(none_stopped(child.pid()));
}

TEST(Suspend, SignalsSentWhileSuspendedArriveAfterResumeInOrder) {
  Target t = spawn_target("--rt-signals");
  const int out = t.child.stdout_pipe().get();
  ASSERT_NE(read_until(out, "ready\n", 5s).find("ready"), std::string::npos);
  t.task.suspend();
  for (int v = 1; v <= 5; ++v) {
    sigval value{};
    value.sival_int = v;
    ASSERT_EQ(sigqueue(t.child.pid(), SIGRTMIN + 1, value), 0);
  }
  EXPECT_EQ(drain(out, 200ms), "") << "no handler may run while suspended";
  t.task.resume();
  EXPECT_EQ(read_until(out, "sig 5\n", 5s), "sig 1\nsig 2\nsig 3\nsig 4\nsig 5\n");
}

TEST(Registers, RequireASuspendedTask) {
  Target t = spawn_target("--block");
  try {
    t.task.registers(t.child.pid());
    FAIL() << "registers() of a running task must throw";
  } catch (const taskport::Error& e) {
    EXPECT_EQ(e.errno_value(), EBUSY);
  }
}

#if defined(__x86_64__)
// gdb reads the same stopped thread through its own ptrace attach after we
// let go; a thread blocked in read(2) keeps these registers unchanged.
TEST(Registers, MatchGdbsViewOfTheSameBlockedThread) {
  Target t = spawn_target("--block");
  const pid_t pid = t.child.pid();
  // Let it reach read(2).
  for (int i = 0; i < 500 && state_of("/proc/" + std::to_string(pid) + "/stat") != 'S'; ++i) {
    std::this_thread::sleep_for(2ms);
  }
  t.task.suspend();
  const taskport::Registers ours = t.task.registers(pid);
  t.task.resume();

  const std::string cmd = "gdb -nx -batch -p " + std::to_string(pid) +
                          " -ex 'info registers rip rsp rbp rbx r12 r13 r14 r15 fs_base' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::map<std::string, unsigned long long> gdb;
  char line[512];
  while (fgets(line, sizeof line, p) != nullptr) {
    char name[32];
    unsigned long long value;
    if (sscanf(line, "%31s 0x%llx", name, &value) == 2) gdb[name] = value;
  }
  pclose(p);
  ASSERT_EQ(gdb.size(), 9u) << "gdb did not print the registers";
  EXPECT_EQ(gdb["rip"], ours.rip);
  EXPECT_EQ(gdb["rsp"], ours.rsp);
  EXPECT_EQ(gdb["rbp"], ours.rbp);
  EXPECT_EQ(gdb["rbx"], ours.rbx);
  EXPECT_EQ(gdb["r12"], ours.r12);
  EXPECT_EQ(gdb["r13"], ours.r13);
  EXPECT_EQ(gdb["r14"], ours.r14);
  EXPECT_EQ(gdb["r15"], ours.r15);
  EXPECT_EQ(gdb["fs_base"], ours.fs_base);
}
#endif

#if defined(__x86_64__) || defined(__aarch64__)
// The first instruction of a dynamically linked program is its interpreter's
// entry point: AT_BASE (from the kernel's auxv) + e_entry of that ELF file.
TEST(SuspendedStart, StopsAtTheProgramsFirstInstruction) {
  Target t = spawn_target("--block", /*suspended=*/true);
  const pid_t pid = t.child.pid();
  EXPECT_EQ(t.task.suspend_count(), 1);
  EXPECT_TRUE(all_traced_stopped(pid));

  const std::string auxv = read_file("/proc/" + std::to_string(pid) + "/auxv");
  unsigned long base = 0, entry = 0;
  for (size_t off = 0; off + 16 <= auxv.size(); off += 16) {
    unsigned long key, value;
    memcpy(&key, auxv.data() + off, 8);
    memcpy(&value, auxv.data() + off + 8, 8);
    if (key == AT_BASE) base = value;
    if (key == AT_ENTRY) entry = value;
  }
  unsigned long expected = entry;
  if (base != 0) {
    // Find the interpreter file mapped at AT_BASE.
    std::istringstream maps(read_file("/proc/" + std::to_string(pid) + "/maps"));
    std::string line, interp;
    while (std::getline(maps, line)) {
      if (std::stoul(line.substr(0, line.find('-')), nullptr, 16) == base) {
        interp = line.substr(line.find('/'));
        break;
      }
    }
    ASSERT_FALSE(interp.empty());
    Elf64_Ehdr eh{};
    std::ifstream f(interp, std::ios::binary);
    f.read(reinterpret_cast<char*>(&eh), sizeof eh);
    expected = base + eh.e_entry;
  }
  EXPECT_EQ(t.task.registers(pid).program_counter(), expected);

  t.task.resume();
  EXPECT_TRUE(none_stopped(pid));
  t.child.stdin_pipe().reset();
  auto status = t.child.wait_for(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->success());
}
#endif

TEST(SuspendedStart, SuspendAndResumeNestOnTopOfTheInitialSuspension) {
  Target t = spawn_target("--ticker", /*suspended=*/true);
  const int out = t.child.stdout_pipe().get();
  t.task.suspend();
  EXPECT_EQ(t.task.suspend_count(), 2);
  t.task.resume();
  EXPECT_EQ(drain(out, 200ms), "") << "still one suspension left: the program must not have started";
  t.task.resume();
  EXPECT_NE(read_until(out, "\n", 5s), "");
}

// Permission for real: an unprivileged process may not suspend a task of
// another user; the error says why.
TEST(Suspend, RefusedForAnotherUsersTaskWithAnExplanation) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create the users";
  auto [child, task] = Command(TASKPORT_SUSPEND_TARGET)
                           .arg("--block")
                           .standard_input(Stdio::piped())
                           .pre_exec([] {
                             if (syscall(SYS_setresgid, 65534, 65534, 65534) != 0) return errno;
                             if (syscall(SYS_setresuid, 65534, 65534, 65534) != 0) return errno;
                             return 0;
                           })
                           .spawn_with_task();
  child.kill_on_drop(true);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const pid_t sub = fork();
  if (sub == 0) {
    close(pipefd[0]);
    // uid 1000 with no capabilities (a root→non-root setresuid clears them).
    if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) _exit(2);
    std::string msg = "no error";
    int code = 1;
    try {
      task.suspend();
    } catch (const taskport::Error& e) {
      msg = e.what();
      code = (e.errno_value() == EPERM || e.errno_value() == EACCES) ? 0 : 3;
    }
    [[maybe_unused]] ssize_t n = write(pipefd[1], msg.data(), msg.size());
    _exit(code);
  }
  close(pipefd[1]);
  const std::string msg = drain(pipefd[0], 10s);
  close(pipefd[0]);
  int status = 0;
  ASSERT_EQ(waitpid(sub, &status, 0), sub);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << msg;
  EXPECT_NE(msg.find("uid 65534"), std::string::npos) << msg;
  EXPECT_NE(msg.find("CAP_SYS_PTRACE"), std::string::npos) << msg;
  EXPECT_TRUE(none_stopped(child.pid()));
}
