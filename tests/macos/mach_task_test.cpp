// SPDX-License-Identifier: MIT
// The macOS backend seen from outside: the task port names the running
// program (after exec: the port's pid and audit token are the child's own),
// memory, regions, threads and registers go through it, suspension is
// counted, the rendezvous believes only the child, and a child that dies
// or never sends ends the wait with an error instead of a hang.
//
// Runs only on a Mac (tests/macos is built only for APPLE); the cross-build
// check on Linux compiles and links it without running it.
#include <mach/mach.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include <taskport/fork_with_task.hpp>
#include <taskport/macos.hpp>
#include <taskport/rendezvous.hpp>
#include <taskport/taskport.hpp>

#include "mach_support.hpp"

namespace {

using namespace tp_mach;
using taskport::Child;
using taskport::Error;
using taskport::Step;
using taskport::Task;

TEST(MachTask, ThePortNamesTheChildByPidAndAuditToken) {
  Served t = serve();
  EXPECT_EQ(pid_of_port(t.task.native_handle()), t.child.pid());
  const auto identity = audit_identity(t.task.native_handle());
  ASSERT_TRUE(identity.has_value());
  // The child's own view of its audit token (task_info on mach_task_self()).
  EXPECT_EQ(t.report["token"], std::to_string(identity->pid) + " " + std::to_string(identity->version));
  EXPECT_EQ(identity->pid, t.child.pid());
  EXPECT_TRUE(t.task.is_alive());
}

TEST(MachTask, AMarkerIsReadFromTheChildsMemory) {
  Served t = serve();
  EXPECT_EQ(t.task.read_value<std::uint64_t>(t.address("address")), kMarker);
  taskport::ReadRequest requests[2];
  std::uint64_t a = 0, b = 0;
  requests[0].address = t.address("address");
  requests[0].buffer = &a;
  requests[0].size = sizeof a;
  requests[1].address = 8;  // never mapped (the __PAGEZERO segment)
  requests[1].buffer = &b;
  requests[1].size = sizeof b;
  EXPECT_EQ(t.task.read_many(requests, 2), 1u);
  EXPECT_EQ(a, kMarker);
  EXPECT_EQ(requests[1].error, EFAULT);
}

TEST(MachTask, TheRegionsIncludeTheChildsExecutable) {
  Served t = serve();
  const std::string exe = tp_test::real_path(t.report["exe"]);
  bool found = false;
  for (const taskport::Region& r : t.task.regions()) {
    if (!r.path.empty() && tp_test::real_path(r.path) == exe) found = true;
  }
  EXPECT_TRUE(found) << "no region maps " << exe;
  const auto marker = t.task.region_at(t.address("address"));
  ASSERT_TRUE(marker.has_value());
  EXPECT_TRUE(marker->protection.read);
  EXPECT_TRUE(marker->protection.write);
  const auto code = t.task.region_at(t.address("code"));
  ASSERT_TRUE(code.has_value());
  EXPECT_TRUE(code->protection.execute);
}

TEST(MachTask, ThreadsAreTheOnesTheChildCounts) {
  Served t = serve();
  const auto threads = t.task.threads();
  EXPECT_EQ(std::to_string(threads.size()), t.report["threads"]);
  const taskport::TaskInfo info = t.task.info();
  EXPECT_EQ(info.thread_count.value_or(0), threads.size());
  ASSERT_TRUE(info.resident_size.has_value());
  EXPECT_GT(*info.resident_size, 0u);
}

TEST(MachTask, RegistersOfASuspendedThreadPointIntoCode) {
  Served t = serve();
  t.task.suspend();
  const auto threads = t.task.threads();
  ASSERT_FALSE(threads.empty());
  for (const taskport::ThreadInfo& thread : threads) {
    const taskport::Registers regs = t.task.registers(thread.tid);
    const auto region = t.task.region_at(regs.program_counter());
    ASSERT_TRUE(region.has_value()) << "pc " << std::hex << regs.program_counter() << " is in no region";
    EXPECT_TRUE(region->protection.execute) << "pc " << std::hex << regs.program_counter();
  }
  t.task.resume();
}

TEST(MachTask, RegistersAllIsEveryThreadTheTaskListsWithItsOwnRegisters) {
  Served t = serve();
  std::error_code ec;
  EXPECT_FALSE(t.task.registers_all(ec));
  EXPECT_EQ(ec.value(), EBUSY);
  t.task.suspend();
  const auto threads = t.task.threads();
  const auto all = t.task.registers_all();
  ASSERT_EQ(all.size(), threads.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0) EXPECT_LT(all[i - 1].tid, all[i].tid);
    const taskport::Registers one = t.task.registers(all[i].tid);
    EXPECT_EQ(std::memcmp(&one, &all[i].registers, sizeof one), 0) << "thread " << all[i].tid;
  }
  t.task.resume();
}

TEST(MachTask, SuspensionIsCountedAndStopsProgress) {
  Served t = serve();
  const std::uint64_t counter = t.address("counter");
  const auto before = kernel_suspend_count(t.task.native_handle());
  ASSERT_TRUE(before.has_value());
  t.task.suspend();
  t.task.suspend();
  EXPECT_EQ(t.task.suspend_count(), 2);
  EXPECT_EQ(kernel_suspend_count(t.task.native_handle()), *before + 2) << "the kernel's own count";
  const auto frozen = t.task.read_value<std::uint64_t>(counter);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(t.task.read_value<std::uint64_t>(counter), frozen) << "the worker ran while suspended";
  t.task.resume();
  EXPECT_EQ(kernel_suspend_count(t.task.native_handle()), *before + 1);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(t.task.read_value<std::uint64_t>(counter), frozen) << "one resume of two let it run";
  t.task.resume();
  EXPECT_EQ(kernel_suspend_count(t.task.native_handle()), *before);
  EXPECT_TRUE(tp_test::eventually([&] { return t.task.read_value<std::uint64_t>(counter) != frozen; }))
      << "the worker did not run on after the last resume";
}

TEST(MachTask, DestroyingASuspendedTaskResumesTheChild) {
  Served t = serve();
  const std::uint64_t counter = t.address("counter");
  std::optional<Task> holder(std::move(t.task));
  holder->suspend();
  const auto frozen = holder->read_value<std::uint64_t>(counter);
  holder.reset();  // undoes its suspension
  EXPECT_TRUE(tp_test::eventually([&] { return t.ask("counter") != "counter " + std::to_string(frozen); }))
      << "the child stayed frozen after its Task was destroyed";
}

TEST(MachTask, StartSuspendedHoldsTheProgramBeforeMain) {
  taskport::Command cmd = target({"print"});
  cmd.start_suspended();
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  EXPECT_EQ(task.suspend_count(), 1);
  EXPECT_GE(kernel_suspend_count(task.native_handle()).value_or(0), 1);
  // Suspended in the preload's initializer: main has not printed anything.
  EXPECT_FALSE(tp_test::poll_readable(child.stdout_pipe().get(), 200ms));
  task.resume();
  Lines lines(child.stdout_pipe().get());
  EXPECT_EQ(task.read_value<std::uint64_t>(parse_address(lines.next())), kMarker);
  child.stdin_pipe().reset();
  EXPECT_TRUE(tp_test::wait_exit(child).success());
}

TEST(MachTask, TheExtmodExampleRunsWithoutTaskForPid) {
  const Ran ran = run({extmod_example_path()}, 60s, {{"TASKPORT_PRELOAD_LIBRARY", preload_path()}});
  EXPECT_TRUE(ran.status.success()) << ran.status.to_string() << "\n" << ran.output;
  EXPECT_NE(ran.output.find("task_for_pid_count: 0,"), std::string::npos) << ran.output;
}

TEST(MachTask, ExtmodInfoOfTheChildCountsNoTaskForPid) {
  Served t = serve();
  const taskport::macos::ExtmodInfo extmod = taskport::macos::extmod_info(t.task);
  EXPECT_EQ(extmod.task_for_pid_count, 0);
}

TEST(MachRendezvous, ASpoofedSenderIsRejected) {
  // The child to be accepted waits for a line before it sends; a second
  // process, handed the same rendezvous name, sends its own task port first.
  taskport::Rendezvous rendezvous;
  taskport::Command expected = target({"line-send"});
  Child child = rendezvous.prepare(expected).spawn();
  child.kill_on_drop(true);
  taskport::Command spoofer = target({"send"});
  Child impostor = rendezvous.prepare(spoofer).spawn();
  impostor.kill_on_drop(true);
  Lines impostor_lines(impostor.stdout_pipe().get());
  EXPECT_EQ(impostor_lines.next(), "sent 1");  // its message is queued

  try {
    rendezvous.accept(child, 500ms);
    FAIL() << "accepted a task port before the child sent one";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ETIMEDOUT);
    EXPECT_EQ(e.step(), Step::accept_task);
    EXPECT_NE(std::string(e.what()).find("from pid " + std::to_string(impostor.pid())), std::string::npos)
        << e.what();
  }

  // Now the real child sends: accepted, and it is the child's task.
  tp_test::write_str(child.stdin_pipe().get(), "\n");
  Task task = rendezvous.accept(child, 10s);
  EXPECT_EQ(pid_of_port(task.native_handle()), child.pid());
  Lines lines(child.stdout_pipe().get());
  EXPECT_EQ(lines.next(), "sent 1");
  EXPECT_EQ(task.read_value<std::uint64_t>(parse_address(lines.next())), kMarker);
}

TEST(MachRendezvous, ChildDeathDuringTheRendezvousIsAnErrorNotAHang) {
  taskport::Rendezvous rendezvous;
  taskport::Command cmd = target({"exit", "3"});
  Child child = rendezvous.prepare(cmd).spawn();
  const auto start = std::chrono::steady_clock::now();
  try {
    rendezvous.accept(child, 30s);
    FAIL() << "accepted a task port from a child that never sent one";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH);
    EXPECT_NE(std::string(e.what()).find("exit code 3"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // the exit, not the deadline, ended it
  EXPECT_EQ(child.wait().code(), 3);
}

TEST(MachForkWithTask, TheTaskReadsTheForkedChild) {
  static volatile std::uint64_t value = 0;
  value = kMarker ^ 0xff;
  auto [child, task] = taskport::fork_with_task([] {
    ::pause();
    return 0;
  });
  EXPECT_EQ(pid_of_port(task.native_handle()), child.pid());
  EXPECT_EQ(task.read_value<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&value)), kMarker ^ 0xff);
  child.kill();
  EXPECT_EQ(child.wait().signal(), SIGKILL);
}

}  // namespace
