// SPDX-License-Identifier: MIT
// Rendezvous on Linux: a socketpair per child (transport and checks in
// rendezvous_accept.cpp), and the C++ face of the child side
// (rendezvous_child.c).
#include <errno.h>
#include <unistd.h>

#include <algorithm>

#include "common/pid_program.hpp"
#include "linux/rendezvous_accept.hpp"
#include "linux/rendezvous_child.h"
#include "linux/rendezvous_wire.h"
#include "linux/sys.hpp"
#include "taskport/rendezvous.hpp"

namespace taskport {

using backend::rendezvous::Expectation;

struct Rendezvous::Impl {
  UniqueFd ours;    // SO_PASSCRED; kept until the child is let go
  UniqueFd theirs;  // the child's end: open until the child has been spawned
  Start start = Start::at_once;
  bool done = false;  // accepted, or let go
};

namespace {

// Errors about the Rendezvous itself concern no child yet: they name this
// process (Error::program(), taskport/error.hpp).
std::string self() { return common::pid_program(::getpid()); }

Rendezvous::Impl& usable(const std::unique_ptr<Rendezvous::Impl>& impl, const char* what) {
  if (!impl) throw Error(EINVAL, Step::rendezvous, self(), std::string(what) + " on a moved-from Rendezvous");
  if (impl->done) {
    throw Error(EINVAL, Step::rendezvous, self(),
                std::string(what) + " after the rendezvous was accepted or ended");
  }
  return *impl;
}

void add_env(Rendezvous::ChildSetup& setup, Rendezvous::Start start, int child_fd) {
  setup.env.emplace_back(TP_RDV_ENV_FD, std::to_string(child_fd));
  if (start == Rendezvous::Start::when_let_go) setup.env.emplace_back(TP_RDV_ENV_WAIT, "1");
}

}  // namespace

Rendezvous::Rendezvous(Start start) : impl_(std::make_unique<Impl>()) {
  impl_->start = start;
  backend::rendezvous::make_socket_pair(impl_->ours, impl_->theirs, Step::rendezvous, self());
}

// Where Impl is complete (move assignment: common/rendezvous.cpp).
Rendezvous::~Rendezvous() { let_go(); }
Rendezvous::Rendezvous(Rendezvous&&) noexcept = default;

Rendezvous::ChildSetup Rendezvous::child_setup() const {
  Impl& impl = usable(impl_, "child_setup");
  if (!impl.theirs) throw Error(EINVAL, Step::rendezvous, self(), "child_setup after accept began");
  ChildSetup setup;
  add_env(setup, impl.start, impl.theirs.get());
  setup.fds.push_back({impl.theirs.get(), impl.theirs.get()});
  return setup;
}

Command& Rendezvous::prepare(Command& cmd) const {
  Impl& impl = usable(impl_, "prepare");
  if (!impl.theirs) throw Error(EINVAL, Step::rendezvous, self(), "prepare after accept began");
  const int child_fd = backend::rendezvous::free_child_fd(cmd, impl.theirs.get());

  ChildSetup setup;
  add_env(setup, impl.start, child_fd);
  // A variable this process inherited must not make the child wait.
  if (impl.start == Start::at_once) cmd.env_remove(TP_RDV_ENV_WAIT);
  for (auto& [key, value] : setup.env) cmd.env(key, value);
  cmd.inherit_fd(child_fd, impl.theirs.get());
  return cmd;
}

namespace {

Task accept_from(Rendezvous::Impl& impl, const Expectation& expect) {
  // The child has been spawned: our copy of its end must go, or the child's
  // closing its own would never be noticed.
  impl.theirs.reset();
  backend::rendezvous::Handover handover;
  try {
    handover = backend::rendezvous::receive_handover(impl.ours.get(), expect);
  } catch (const Error& e) {
    if (e.errno_value() != ETIMEDOUT) {
      impl.done = true;
      impl.ours.reset();
    }
    throw;
  }
  impl.done = true;
  if (impl.start == Rendezvous::Start::at_once) {
    backend::rendezvous::let_child_go(impl.ours.get());
    impl.ours.reset();
  }
  return backend::rendezvous::make_task(std::move(handover), expect.pid, expect.name, /*mem_first=*/true);
}

constexpr const char* kHint = "the program must call taskport::send_task_to_spawner()";

}  // namespace

Task Rendezvous::accept(const Child& child, std::chrono::nanoseconds timeout) {
  Impl& impl = usable(impl_, "accept");
  Expectation expect = common::expect_from(child);
  expect.deadline = common::deadline_after(timeout);
  expect.hint = kHint;
  return accept_from(impl, expect);
}

Task Rendezvous::accept(pid_t pid, std::chrono::nanoseconds timeout) {
  Impl& impl = usable(impl_, "accept");
  const auto deadline = common::deadline_after(timeout);
  const std::string name = common::pid_program(pid);
  if (pid <= 0) throw Error(EINVAL, Step::accept_task, name, "not a process id");
  // Safe from pid reuse while the caller does not reap the child (contract).
  UniqueFd watch(backend::pidfd_open(pid));
  if (!watch) throw Error(errno, Step::accept_task, name, "pidfd_open of the expected process");
  Expectation expect;
  expect.pid = pid;
  expect.exit_fd = watch.get();
  expect.is_our_child = false;
  expect.deadline = deadline;
  expect.name = name;
  expect.hint = kHint;
  return accept_from(impl, expect);
}

void Rendezvous::let_go() noexcept {
  if (!impl_) return;
  impl_->done = true;
  backend::rendezvous::let_child_go(impl_->ours.get());
  impl_->ours.reset();
  impl_->theirs.reset();
}

// ---- child side --------------------------------------------------------------

bool send_task_to_spawner() {
  const int rc = tp_rdv_send_from_environment(0);
  if (rc < 0) return false;
  if (rc != 0) {
    std::string detail;
    switch (rc) {
      case EBADF:
      case ENOTSOCK:
        detail =
            std::string(TP_RDV_ENV_FD) + " names no rendezvous socket (variable inherited from elsewhere?)";
        break;
      case ENOSYS: detail = "pidfd_open is not available (Linux 5.3 or later needed)"; break;
      case EPIPE:
      case ECONNRESET: detail = "the spawner closed the rendezvous"; break;
      default: break;
    }
    throw Error(rc, Step::send_task, common::pid_program(::getpid()), detail);
  }
  return true;
}

int send_task_to_spawner_signal_safe(int rendezvous_fd, bool wait_until_let_go) noexcept {
  return tp_rdv_send(rendezvous_fd, wait_until_let_go ? TP_RDV_SEND_WAIT : 0u);
}

}  // namespace taskport
