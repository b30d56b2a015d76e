// SPDX-License-Identifier: MIT
// The macOS backend seen from outside: the task port names the running
// program (after exec), memory reads and writes go through it, the
// rendezvous believes only the child, and a child that dies or never sends
// ends the wait with an error instead of a hang.
//
// Runs only on a Mac (tests/macos is built only for APPLE); the cross-build
// check on Linux compiles and links it without running it.
#include <mach/mach.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>

#include <taskport/fork_with_task.hpp>
#include <taskport/macos.hpp>
#include <taskport/rendezvous.hpp>
#include <taskport/taskport.hpp>

#ifndef TP_MACH_TARGET
#error "TP_MACH_TARGET must name the helper program"
#endif
#ifndef TP_PRELOAD_LIBRARY
#error "TP_PRELOAD_LIBRARY must name the built preload dylib"
#endif

namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t kMarker = 0x7461736b706f7274ULL;

class MachTask : public ::testing::Test {
 protected:
  void SetUp() override { taskport::set_preload_library(TP_PRELOAD_LIBRARY); }
};

// One line from the child's stdout pipe.
std::string read_line(taskport::Child& child) {
  std::string line;
  char c;
  while (::read(child.stdout_pipe().get(), &c, 1) == 1 && c != '\n') line += c;
  return line;
}

// "address 0x… value 0x…" → the address.
std::uint64_t parse_address(const std::string& line) {
  unsigned long long address = 0, value = 0;
  if (std::sscanf(line.c_str(), "address 0x%llx value 0x%llx", &address, &value) != 2) {
    ADD_FAILURE() << "unexpected line from the target: '" << line << "'";
  }
  EXPECT_EQ(value, kMarker);
  return address;
}

taskport::Command target(std::initializer_list<std::string> args) {
  taskport::Command cmd(TP_MACH_TARGET);
  cmd.args(args).standard_input(taskport::Stdio::piped()).standard_output(taskport::Stdio::piped());
  return cmd;
}

TEST_F(MachTask, TaskPortNamesTheProgramAfterExec) {
  auto [child, task] = target({"print"}).spawn_with_task();
  int pid = -1;
  ASSERT_EQ(pid_for_task(task.native_handle(), &pid), KERN_SUCCESS);
  EXPECT_EQ(pid, child.pid());
  // The port is the program's own (sent after exec by the preload): its
  // memory holds the value the program prints.
  const std::uint64_t address = parse_address(read_line(child));
  EXPECT_EQ(task.read_value<std::uint64_t>(address), kMarker);
  EXPECT_TRUE(task.is_alive());
  child.stdin_pipe().reset();
  EXPECT_TRUE(child.wait().success());
  EXPECT_FALSE(task.is_alive());
}

TEST_F(MachTask, ReadsAndWritesKnownValue) {
  auto [child, task] = target({"print"}).spawn_with_task();
  const std::uint64_t address = parse_address(read_line(child));
  std::uint64_t value = 0;
  task.read(address, &value, sizeof value);
  EXPECT_EQ(value, kMarker);

  taskport::ReadRequest requests[2];
  std::uint64_t a = 0, b = 0;
  requests[0].address = address;
  requests[0].buffer = &a;
  requests[0].size = sizeof a;
  requests[1].address = 8;  // never mapped (the __PAGEZERO segment)
  requests[1].buffer = &b;
  requests[1].size = sizeof b;
  EXPECT_EQ(task.read_many(requests, 2), 1u);
  EXPECT_EQ(a, kMarker);
  EXPECT_EQ(requests[1].error, EFAULT);

  const std::uint64_t replaced = 0x1122334455667788ULL;
  task.write(address, &replaced, sizeof replaced);
  EXPECT_EQ(task.read_value<std::uint64_t>(address), replaced);
  child.stdin_pipe().reset();
  child.wait();
}

TEST_F(MachTask, RegionsThreadsAndInfo) {
  auto [child, task] = target({"print"}).spawn_with_task();
  const std::uint64_t address = parse_address(read_line(child));
  const auto region = task.region_at(address);
  ASSERT_TRUE(region.has_value());
  EXPECT_TRUE(region->protection.read);
  EXPECT_FALSE(task.regions().empty());
  const auto threads = task.threads();
  ASSERT_FALSE(threads.empty());
  const taskport::TaskInfo info = task.info();
  ASSERT_TRUE(info.resident_size.has_value());
  EXPECT_GT(*info.resident_size, 0u);
  EXPECT_EQ(info.thread_count.value_or(0), threads.size());
  const taskport::macos::ExtmodInfo extmod = taskport::macos::extmod_info(task);
  EXPECT_GE(extmod.task_for_pid_count, 0);

  task.suspend();
  const taskport::Registers regs = task.registers(threads.front().tid);
  EXPECT_NE(regs.program_counter(), 0u);
  task.resume();
  child.stdin_pipe().reset();
  child.wait();
}

TEST_F(MachTask, StartSuspendedStopsBeforeMain) {
  auto [child, task] = target({"print"}).start_suspended().spawn_with_task();
  EXPECT_EQ(task.suspend_count(), 1);
  // Suspended in the preload's initializer: main has not printed anything.
  EXPECT_FALSE(child.wait_for(200ms).has_value());
  task.resume();
  EXPECT_EQ(parse_address(read_line(child)) != 0, true);
  child.stdin_pipe().reset();
  EXPECT_TRUE(child.wait().success());
}

TEST_F(MachTask, SpoofedSenderIsRejected) {
  // The child to be accepted waits for a line before it sends; a second
  // process, handed the same rendezvous name, sends its own task port first.
  taskport::Rendezvous rendezvous;
  taskport::Command expected = target({"line-send"});
  taskport::Child child = rendezvous.prepare(expected).spawn();
  taskport::Command spoofer = target({"send"});
  taskport::Child impostor = rendezvous.prepare(spoofer).spawn();
  EXPECT_EQ(read_line(impostor), "sent 1");  // its message is queued

  try {
    rendezvous.accept(child, 500ms);
    FAIL() << "accepted a task port before the child sent one";
  } catch (const taskport::Error& e) {
    EXPECT_EQ(e.errno_value(), ETIMEDOUT);
    EXPECT_EQ(e.step(), taskport::Step::accept_task);
    EXPECT_NE(std::string(e.what()).find("from pid " + std::to_string(impostor.pid())), std::string::npos)
        << e.what();
  }

  // Now the real child sends: accepted, and it is the child's task.
  ASSERT_EQ(::write(child.stdin_pipe().get(), "\n", 1), 1);
  taskport::Task task = rendezvous.accept(child, 10s);
  int pid = -1;
  ASSERT_EQ(pid_for_task(task.native_handle(), &pid), KERN_SUCCESS);
  EXPECT_EQ(pid, child.pid());
  EXPECT_EQ(read_line(child), "sent 1");
  EXPECT_EQ(task.read_value<std::uint64_t>(parse_address(read_line(child))), kMarker);
  child.stdin_pipe().reset();
  impostor.stdin_pipe().reset();
  child.wait();
  impostor.wait();
}

TEST_F(MachTask, ChildDeathDuringRendezvousIsAnErrorNotAHang) {
  taskport::Rendezvous rendezvous;
  taskport::Command cmd = target({"exit", "3"});
  taskport::Child child = rendezvous.prepare(cmd).spawn();
  const auto start = std::chrono::steady_clock::now();
  try {
    rendezvous.accept(child, 30s);
    FAIL() << "accepted a task port from a child that never sent one";
  } catch (const taskport::Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH);
    EXPECT_NE(std::string(e.what()).find("exit code 3"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // the exit, not the deadline, ended it
  EXPECT_EQ(child.wait().code(), 3);
}

TEST_F(MachTask, StrippedPreloadIsReportedNotAHang) {
  // /usr/bin/true is a platform binary: with SIP on, dyld ignores
  // DYLD_INSERT_LIBRARIES, nothing is sent and the program just exits.
  const auto start = std::chrono::steady_clock::now();
  try {
    taskport::Command("/usr/bin/true").preload_timeout(20s).spawn_with_task();
    GTEST_SKIP() << "dyld loaded the preload into /usr/bin/true (SIP disabled?)";
  } catch (const taskport::Error& e) {
    EXPECT_EQ(e.step(), taskport::Step::accept_task);
    EXPECT_NE(std::string(e.what()).find("DYLD_INSERT_LIBRARIES"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
}

TEST_F(MachTask, ForkWithTaskReadsTheChild) {
  static volatile std::uint64_t value = 0;
  value = kMarker ^ 0xff;
  auto [child, task] = taskport::fork_with_task([] {
    ::pause();
    return 0;
  });
  EXPECT_EQ(task.read_value<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&value)), kMarker ^ 0xff);
  child.kill();
  EXPECT_EQ(child.wait().signal(), SIGKILL);
}

TEST_F(MachTask, ChildWaitForTimesOutAndExitFdFires) {
  taskport::Child child = target({"wait"}).spawn();
  EXPECT_FALSE(child.wait_for(100ms).has_value());
  child.stdin_pipe().reset();
  const auto status = child.wait_for(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->success());
}

}  // namespace
