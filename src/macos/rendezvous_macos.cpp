// SPDX-License-Identifier: MIT
// The Rendezvous (taskport/rendezvous.hpp) over Mach: a receive right
// registered with launchd under a random name (or passed in registered slot
// 2), the child's task port in a port-descriptor message, accepted only
// from the expected pid and naming the sending image (audit trailer and the
// port's audit token). See rendezvous_protocol.hpp for the wire protocol.
#include <errno.h>
#include <unistd.h>

#include <optional>

#include "common/command_access.hpp"
#include "common/pid_program.hpp"
#include "macos/exit_watch.hpp"
#include "macos/mach_error.hpp"
#include "macos/rendezvous_accept.hpp"
#include "macos/rendezvous_child.hpp"
#include "macos/rendezvous_protocol.hpp"
#include "macos/rendezvous_server.hpp"
#include "taskport/rendezvous.hpp"

namespace taskport {

struct Rendezvous::Impl {
  Start start = Start::at_once;
  std::optional<backend::rendezvous::Server> server;  // until accepted or ended
  backend::SendOnceRight reply;                       // where a waiting child is told to go on
  bool finished = false;                              // accepted, or let go
};

namespace {

backend::rendezvous::Server make_server(Command::MachRoute route, const std::string& program) {
  using backend::rendezvous::Server;
  switch (route) {
    case Command::MachRoute::launchd: return Server(Server::Route::launchd, program);
    case Command::MachRoute::registered_ports: return Server(Server::Route::registered_ports, program);
    case Command::MachRoute::automatic: break;
  }
  return Server::automatic(program);
}

}  // namespace

Rendezvous::Rendezvous(Start start) : Rendezvous(start, Command::MachRoute::automatic) {}

Rendezvous::Rendezvous(Start start, Command::MachRoute route) : impl_(std::make_unique<Impl>()) {
  impl_->start = start;
  impl_->server.emplace(make_server(route, common::pid_program(::getpid())));
}

// Where Impl is complete (move assignment: common/rendezvous.cpp).
Rendezvous::~Rendezvous() { let_go(); }
Rendezvous::Rendezvous(Rendezvous&&) noexcept = default;

Rendezvous::ChildSetup Rendezvous::child_setup() const {
  ChildSetup setup;
  if (!impl_ || !impl_->server)
    throw Error(EINVAL, Step::rendezvous, common::pid_program(::getpid()), "the rendezvous has ended");
  using backend::rendezvous::Server;
  if (impl_->server->route() == Server::Route::launchd) {
    setup.env.emplace_back(backend::rendezvous::kNameVariable, impl_->server->name());
  } else {
    setup.env.emplace_back(backend::rendezvous::kSlotVariable, backend::rendezvous::kRegisteredSlotValue);
    setup.registered_port = impl_->server->registered_port();
  }
  if (impl_->start == Start::when_let_go) setup.env.emplace_back(backend::rendezvous::kWaitVariable, "1");
  return setup;
}

Command& Rendezvous::prepare(Command& cmd) const {
  const ChildSetup setup = child_setup();
  for (auto& kv : setup.env) cmd.env(kv.first, kv.second);
  // An earlier prepare() of the other route must not leave its variable.
  cmd.env_remove(setup.registered_port != 0 ? backend::rendezvous::kNameVariable
                                            : backend::rendezvous::kSlotVariable);
  detail::CommandAccess::set_registered_port(cmd, setup.registered_port);
  return cmd;
}

namespace {

Task accept_task(Rendezvous::Impl& impl, backend::rendezvous::Expectation& expect,
                 std::chrono::nanoseconds timeout) {
  if (impl.finished || !impl.server) {
    throw Error(EINVAL, Step::accept_task, expect.name,
                "the rendezvous has already handed over a task or was ended");
  }
  expect.deadline = common::deadline_after(timeout);
  backend::rendezvous::Handoff handoff = backend::rendezvous::accept_handoff(*impl.server, expect);
  // The registration is no longer needed: nobody else may send now.
  impl.server.reset();
  impl.finished = true;
  impl.reply = std::move(handoff.reply);
  Task task = backend::rendezvous::make_task(std::move(handoff.task), handoff.identity, expect.name);
  // at_once: a child that waits anyway (it asked with a reply right) goes on now.
  if (impl.start == Rendezvous::Start::at_once && impl.reply.valid())
    backend::rendezvous::send_go(impl.reply);
  return task;
}

}  // namespace

Task Rendezvous::accept(const Child& child, std::chrono::nanoseconds timeout) {
  if (child.status())
    throw Error(ESRCH, Step::accept_task, child.program(), "the child has already been reaped");
  common::Expectation expect = common::expect_from(child);
  return accept_task(*impl_, expect, timeout);
}

Task Rendezvous::accept(pid_t pid, std::chrono::nanoseconds timeout) {
  backend::rendezvous::Expectation expect;
  expect.pid = pid;
  expect.name = common::pid_program(pid);
  UniqueFd watch = backend::watch_exit(pid);
  if (!watch) throw Error(errno, Step::accept_task, expect.name, "kqueue EVFILT_PROC on the child");
  expect.exit_fd = watch.get();
  return accept_task(*impl_, expect, timeout);
}

void Rendezvous::let_go() noexcept {
  if (!impl_) return;
  // A waiting child that was accepted gets go; one whose message is still
  // queued is woken by the send-once notification when the port (and the
  // message with its reply right) is destroyed.
  if (impl_->reply.valid()) backend::rendezvous::send_go(impl_->reply);
  impl_->server.reset();
  impl_->finished = true;
}

bool send_task_to_spawner() {
  backend::rendezvous::ChildOutcome outcome;
  if (!backend::rendezvous::send_from_environment(outcome)) return false;
  using backend::rendezvous::ChildStep;
  if (outcome.step == ChildStep::done) return true;  // also when the spawner dropped us: we were sent
  const char* what = "bootstrap_look_up";
  switch (outcome.step) {
    case ChildStep::look_up: what = "bootstrap_look_up of the spawner's port (has it gone?)"; break;
    case ChildStep::registered_port:
      what = "mach_ports_lookup of the spawner's port in registered slot 2";
      break;
    case ChildStep::reply_port: what = "mach_port_allocate"; break;
    case ChildStep::send: what = "mach_msg send of the task port"; break;
    case ChildStep::await_go: what = "mach_msg receive of the spawner's go"; break;
    case ChildStep::done: break;
  }
  throw Error(backend::errno_from_kern(outcome.kr), Step::send_task, common::pid_program(::getpid()),
              backend::kern_text(what, outcome.kr));
}

}  // namespace taskport
