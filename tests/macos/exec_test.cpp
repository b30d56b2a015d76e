// SPDX-License-Identifier: MIT
// The exec finding, shown directly: exec gives the process a new Mach task
// and terminates the old one (xnu bsd/kern/kern_exec.c __mac_execve →
// cloneproc(CLONEPROC_EXEC), proc_exec_switch_task, task_terminate_internal
// of the old task), so a task port sent before exec is dead afterwards,
// although the pid lives on — and the port the preload sends after exec
// names the running program.
#include <mach/mach.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <string>

#include <taskport/rendezvous.hpp>
#include <taskport/taskport.hpp>

#include "mach_support.hpp"

namespace {

using namespace tp_mach;
using taskport::Child;
using taskport::Error;
using taskport::Task;

TEST(MachExec, APortSentBeforeExecNamesADeadTaskAfterwards) {
  // The target sends the port of its first image (as a pre-exec hook would),
  // then execs itself: the same process, a new task.
  taskport::Rendezvous rendezvous;
  taskport::Command cmd = target({"send-exec"});
  Child child = rendezvous.prepare(cmd).spawn();
  child.kill_on_drop(true);
  Task before = rendezvous.accept(child, kLong);
  Lines lines(child.stdout_pipe().get());
  EXPECT_EQ(lines.next(), "sent 1");
  EXPECT_TRUE(before.is_alive()) << "before the exec the port names the running image";
  EXPECT_EQ(pid_of_port(before.native_handle()), child.pid());
  tp_test::write_str(child.stdin_pipe().get(), "\n");  // now exec
  const auto report = lines.serve_report();            // printed by the new image: the exec is done
  ASSERT_FALSE(report.empty());

  EXPECT_EQ(child.try_wait(), std::nullopt) << "the process lives on";
  EXPECT_EQ(::kill(child.pid(), 0), 0);
  EXPECT_EQ(pid_of_port(before.native_handle()), std::nullopt)
      << "pid_for_task still answers for the old task";
  EXPECT_FALSE(before.is_alive()) << "the Task names the image that sent it";
  try {
    before.read_value<std::uint64_t>(first_hex(report.at("address")));
    ADD_FAILURE() << "read through the pre-exec port succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH) << e.what();
  }
  try {
    before.signal(0);
    ADD_FAILURE() << "Task::signal through the pre-exec port reached the new image";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ESRCH) << e.what();
  }
}

TEST(MachExec, ThePreloadsPortNamesTheProgramAndDiesWithItsNextExec) {
  // spawn_with_task: the preload sends after exec, before main.
  Served t = serve();
  EXPECT_TRUE(t.task.is_alive());
  EXPECT_EQ(pid_of_port(t.task.native_handle()), t.child.pid());
  EXPECT_EQ(t.task.read_value<std::uint64_t>(t.address("address")), kMarker);

  // The program execs again: its Task (of the previous image) is dead now.
  tp_test::write_str(t.child.stdin_pipe().get(), "exec\n");
  const auto report = t.lines.serve_report();
  ASSERT_FALSE(report.empty());
  EXPECT_EQ(t.child.try_wait(), std::nullopt);
  EXPECT_FALSE(t.task.is_alive()) << "is_alive() must follow the image, not the pid";
  EXPECT_FALSE(audit_identity(t.task.native_handle()).has_value())
      << "task_info(TASK_AUDIT_TOKEN) still answers for the old task";
}

}  // namespace
