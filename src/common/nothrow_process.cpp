// SPDX-License-Identifier: MIT
// The non-throwing forms of Command, Child, Rendezvous and fork_with_task
// (taskport/error.hpp, "Without exceptions"): each is its throwing form
// inside common::guarded.
#include <unistd.h>

#include "common/guarded.hpp"
#include "taskport/child.hpp"
#include "taskport/command.hpp"
#include "taskport/fork_with_task.hpp"
#include "taskport/rendezvous.hpp"

namespace taskport {

using common::guarded;

// ---- Command -----------------------------------------------------------------

std::optional<Child> Command::spawn(std::error_code& ec) const noexcept {
  return guarded(ec, Step::validate_command, get_program().c_str(), [&] { return spawn(); });
}

std::optional<std::pair<Child, Task>> Command::spawn_with_task(std::error_code& ec) const noexcept {
  return guarded(ec, Step::validate_command, get_program().c_str(), [&] { return spawn_with_task(); });
}

std::optional<Output> Command::output(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_output, get_program().c_str(), [&] { return output(); });
}

std::optional<ExitStatus> Command::status(std::error_code& ec) const noexcept {
  return guarded(ec, Step::wait, get_program().c_str(), [&] { return status(); });
}

// ---- Child -------------------------------------------------------------------

std::optional<ExitStatus> Child::wait(std::error_code& ec) noexcept {
  return guarded(ec, Step::wait, program_.c_str(), [&] { return wait(); });
}

std::optional<ExitStatus> Child::try_wait(std::error_code& ec) noexcept {
  return guarded(ec, Step::wait, program_.c_str(), [&] { return try_wait(); });
}

std::optional<ExitStatus> Child::wait_for(std::chrono::nanoseconds timeout, std::error_code& ec) noexcept {
  return guarded(ec, Step::poll, program_.c_str(), [&] { return wait_for(timeout); });
}

std::optional<Output> Child::wait_with_output(std::error_code& ec) noexcept {
  return guarded(ec, Step::read_output, program_.c_str(), [&] { return wait_with_output(); });
}

std::optional<ExitStatus> Child::terminate(std::chrono::nanoseconds grace, std::error_code& ec) noexcept {
  return guarded(ec, Step::send_signal, program_.c_str(), [&] { return terminate(grace); });
}

bool Child::signal(int sig, std::error_code& ec) noexcept {
  return guarded(ec, Step::send_signal, program_.c_str(), [&] { signal(sig); });
}

bool Child::kill(std::error_code& ec) noexcept {
  return guarded(ec, Step::send_signal, program_.c_str(), [&] { kill(); });
}

// ---- Rendezvous, fork_with_task ---------------------------------------------------

std::optional<Rendezvous> Rendezvous::create(Start start, std::error_code& ec) noexcept {
  return guarded(ec, Step::rendezvous, common::PidName(::getpid()).text, [&] { return Rendezvous(start); });
}

bool Rendezvous::prepare(Command& cmd, std::error_code& ec) const noexcept {
  return guarded(ec, Step::rendezvous, common::PidName(::getpid()).text, [&] { prepare(cmd); });
}

std::optional<Rendezvous::ChildSetup> Rendezvous::child_setup(std::error_code& ec) const noexcept {
  return guarded(ec, Step::rendezvous, common::PidName(::getpid()).text, [&] { return child_setup(); });
}

std::optional<Task> Rendezvous::accept(const Child& child, std::chrono::nanoseconds timeout,
                                       std::error_code& ec) noexcept {
  return guarded(ec, Step::accept_task, child.program().c_str(), [&] { return accept(child, timeout); });
}

std::optional<Task> Rendezvous::accept(pid_t pid, std::chrono::nanoseconds timeout,
                                       std::error_code& ec) noexcept {
  return guarded(ec, Step::accept_task, common::PidName(pid).text, [&] { return accept(pid, timeout); });
}

std::optional<bool> send_task_to_spawner(std::error_code& ec) noexcept {
  return guarded(ec, Step::send_task, common::PidName(::getpid()).text,
                 [&] { return send_task_to_spawner(); });
}

std::optional<std::pair<Child, Task>> fork_with_task(const std::function<int()>& fn,
                                                     std::error_code& ec) noexcept {
  return guarded(ec, Step::fork, common::PidName(::getpid()).text, [&] { return fork_with_task(fn); });
}

}  // namespace taskport
