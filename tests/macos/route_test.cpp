// SPDX-License-Identifier: MIT
// The registered-ports route of the rendezvous: the launchd-free way for a
// spawner in a Seatbelt sandbox without mach-register (where launchd
// refuses bootstrap_check_in: BOOTSTRAP_NOT_PRIVILEGED), chosen
// automatically there and selectable explicitly; the same validated receive
// as the launchd route.
#include <mach/mach.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include <taskport/rendezvous.hpp>
#include <taskport/taskport.hpp>

#include "mach_support.hpp"

namespace {

using namespace tp_mach;
using taskport::Command;
using taskport::Error;
using taskport::Step;

// This process's registered ports, for the tests that occupy slot 2.
class OwnSlots {
 public:
  OwnSlots() {
    mach_port_array_t ports = nullptr;
    mach_msg_type_number_t count = 0;
    EXPECT_EQ(::mach_ports_lookup(mach_task_self(), &ports, &count), KERN_SUCCESS);
    for (mach_msg_type_number_t i = 0; i < count && i < 3; ++i) saved_[i] = ports[i];
    ::vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(ports), count * sizeof(mach_port_t));
  }
  ~OwnSlots() {
    ::mach_ports_register(mach_task_self(), saved_, 3);
    for (mach_port_t p : saved_) {
      if (MACH_PORT_VALID(p)) ::mach_port_deallocate(mach_task_self(), p);
    }
  }
  mach_port_t slot(int i) const { return saved_[i]; }

 private:
  mach_port_t saved_[3] = {};
};

TEST(MachRoute, ASandboxWithoutMachRegisterSpawnsThroughRegisteredPorts) {
  const Ran ran = run({"/usr/bin/sandbox-exec", "-p", "(version 1)(allow default)(deny mach-register)",
                       sandboxed_spawner_path(), preload_path(), target_path()},
                      120s);
  ASSERT_TRUE(ran.status.success()) << "sandbox-exec: " << ran.status.to_string() << "\n" << ran.output;
  // launchd refused the sandboxed spawner...
  EXPECT_NE(ran.output.find("launchd 1 rendezvous"), std::string::npos) << ran.output;
  // ...and spawn_with_task() still worked: the marker, read through the Task.
  EXPECT_NE(ran.output.find("spawn ok "), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find(" 0x7461736b706f7274\n"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("explicit ok "), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("end"), std::string::npos) << ran.output;
}

TEST(MachRoute, TheRegisteredPortsRouteCanBeChosenAndLeavesTheChildsSlotEmpty) {
  Command cmd = target({"serve"});
  cmd.mach_route(Command::MachRoute::registered_ports);
  Served t(cmd.spawn_with_task());
  EXPECT_EQ(pid_of_port(t.task.native_handle()), t.child.pid());
  EXPECT_EQ(t.task.read_value<std::uint64_t>(t.address("address")), kMarker);
  // The preload emptied slot 2 before main, so the program's children
  // inherit nothing (the child's own mach_ports_lookup); slots 0 and 1 are
  // what this process has.
  OwnSlots own;
  auto held = [&own](int i) { return std::string(MACH_PORT_VALID(own.slot(i)) ? "1" : "0"); };
  EXPECT_EQ(t.ask("slots"), "slots " + held(0) + " " + held(1) + " 0");
}

TEST(MachRoute, TheExplicitRendezvousAcceptsOverRegisteredPorts) {
  taskport::Rendezvous rendezvous(taskport::Rendezvous::Start::at_once, Command::MachRoute::registered_ports);
  const taskport::Rendezvous::ChildSetup setup = rendezvous.child_setup();
  EXPECT_NE(setup.registered_port, 0u);
  taskport::Command cmd = target({"send"});
  taskport::Child child = rendezvous.prepare(cmd).spawn();
  child.kill_on_drop(true);
  taskport::Task task = rendezvous.accept(child, kLong);
  Lines lines(child.stdout_pipe().get());
  EXPECT_EQ(lines.next(), "sent 1");
  EXPECT_EQ(task.read_value<std::uint64_t>(parse_address(lines.next())), kMarker);
}

TEST(MachRoute, TheRouteIsRefusedWhenThisProcesssSlotTwoIsInUse) {
  OwnSlots saved;
  mach_port_t port = MACH_PORT_NULL;
  ASSERT_EQ(::mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port), KERN_SUCCESS);
  ASSERT_EQ(::mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND), KERN_SUCCESS);
  mach_port_t slots[3] = {saved.slot(0), saved.slot(1), port};
  ASSERT_EQ(::mach_ports_register(mach_task_self(), slots, 3), KERN_SUCCESS);
  try {
    taskport::Rendezvous rendezvous(taskport::Rendezvous::Start::at_once,
                                    Command::MachRoute::registered_ports);
    ADD_FAILURE() << "the registered-ports route took this process's slot 2";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EBUSY) << e.what();
    EXPECT_EQ(e.step(), Step::rendezvous);
    EXPECT_NE(std::string(e.what()).find("slot 2"), std::string::npos) << e.what();
  }
  ::mach_port_deallocate(mach_task_self(), port);
  ::mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
}

TEST(MachRoute, PreExecHooksAndTheRegisteredPortsRouteAreRefusedBeforeSpawning) {
  Command cmd = target({"serve"});
  cmd.mach_route(Command::MachRoute::registered_ports).pre_exec([] { return 0; });
  const std::set<pid_t> kids_before = tp_test::children_of_self();
  try {
    auto [child, task] = cmd.spawn_with_task();
    child.kill_on_drop(true);
    ADD_FAILURE() << "spawned with hooks on the registered-ports route";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL) << e.what();
    EXPECT_EQ(e.step(), Step::validate_command);
  }
  EXPECT_EQ(tp_test::children_of_self(), kids_before);
}

}  // namespace
