// SPDX-License-Identifier: MIT
// Many rendezvous, start to end: a child that sends its port and exits at
// once is a Task or ESRCH — never EPROTO (pid_for_task fails for an exited
// task exactly as for a non-task port: the port's kobject type tells them
// apart) —, and 500 spawn/accept/destroy cycles leave this process's Mach
// port names as they were and no launchd registration behind.
#include <mach/mach.h>
#include <servers/bootstrap.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include <taskport/rendezvous.hpp>
#include <taskport/taskport.hpp>

#include "mach_support.hpp"

namespace {

using namespace tp_mach;
using taskport::Error;

// bootstrap_look_up of `name`: KERN_SUCCESS while registered,
// BOOTSTRAP_UNKNOWN_SERVICE (1102, launchd-842.92.1 liblaunch/bootstrap.h)
// once gone.
kern_return_t look_up(const std::string& name) {
  name_t service;
  std::memset(service, 0, sizeof service);
  std::strncpy(service, name.c_str(), sizeof service - 1);
  mach_port_t port = MACH_PORT_NULL;
  const kern_return_t kr = ::bootstrap_look_up(bootstrap_port, service, &port);
  if (MACH_PORT_VALID(port)) ::mach_port_deallocate(mach_task_self(), port);
  return kr;
}

TEST(MachLifecycle, AQuickExitIsATaskOrEsrchNeverEproto) {
  std::map<std::string, int> outcomes;
  for (int i = 0; i < 200; ++i) {
    try {
      auto [child, task] = target({"exit", "0"}).spawn_with_task();
      child.kill_on_drop(true);
      ++outcomes["task"];
      EXPECT_TRUE(tp_test::wait_exit(child).success());
    } catch (const Error& e) {
      EXPECT_EQ(e.errno_value(), ESRCH) << "spawn " << i << ": " << e.what();
      EXPECT_EQ(e.step(), taskport::Step::accept_task) << e.what();
      ++outcomes[e.errno_value() == ESRCH ? "ESRCH" : "other"];
    }
  }
  EXPECT_EQ(outcomes["task"] + outcomes["ESRCH"], 200)
      << "task " << outcomes["task"] << ", ESRCH " << outcomes["ESRCH"] << ", other " << outcomes["other"];
}

TEST(MachLifecycle, FiveHundredCyclesLeaveNoPortNameAndNoRegistration) {
  auto cycle = [](bool check_registration) {
    std::string name;
    {
      taskport::Rendezvous rendezvous(taskport::Rendezvous::Start::at_once,
                                      taskport::Command::MachRoute::launchd);
      for (const auto& [key, value] : rendezvous.child_setup().env) {
        if (key == "TASKPORT_RENDEZVOUS_NAME") name = value;
      }
      if (check_registration) EXPECT_EQ(look_up(name), KERN_SUCCESS) << name << " was never registered";
      taskport::Command cmd = target({"send"});
      taskport::Child child = rendezvous.prepare(cmd).spawn();
      child.kill_on_drop(true);
      {
        taskport::Task task = rendezvous.accept(child, kLong);
        EXPECT_EQ(pid_of_port(task.native_handle()), child.pid());
      }
      child.stdin_pipe().reset();
      EXPECT_TRUE(tp_test::wait_exit(child).success());
    }
    // The receive right is gone, and with it the registration (launchd
    // drops a checked-in service whose port dies; asynchronously).
    if (check_registration) {
      EXPECT_TRUE(tp_test::eventually([&] { return look_up(name) == BOOTSTRAP_UNKNOWN_SERVICE; }, 5s))
          << name << ": bootstrap_look_up gives " << look_up(name) << ", not BOOTSTRAP_UNKNOWN_SERVICE";
    }
  };
  // Warm up: whatever libSystem and taskport set up once per process
  // (reply ports, the reaper) exists before counting.
  for (int i = 0; i < 10; ++i) cycle(false);
  const std::size_t names_before = port_name_count();
  for (int i = 0; i < 500 && !::testing::Test::HasFailure(); ++i) cycle(true);
  EXPECT_EQ(port_name_count(), names_before) << "Mach port names leaked over 500 cycles";
}

}  // namespace
