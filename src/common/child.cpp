// SPDX-License-Identifier: MIT
// The platform-neutral part of Child (taskport/child.hpp): construction,
// moves, destruction and waiting. Timed waits and signalling (and dispose(),
// which the destructor calls) are per platform: child_linux.cpp,
// child_macos.cpp; reaping itself is the backend's (common/backend.hpp).
#include "taskport/child.hpp"

#include <utility>

#include "common/backend.hpp"
#include "taskport/error.hpp"

namespace taskport {

Child::Child(pid_t pid, UniqueFd handle, std::string program, UniqueFd in, UniqueFd out,
             UniqueFd err) noexcept
    : pid_(pid),
      handle_(std::move(handle)),
      program_(std::move(program)),
      stdin_(std::move(in)),
      stdout_(std::move(out)),
      stderr_(std::move(err)) {}

// The moved-from Child keeps no pid: on macOS, where the pid is the handle
// dispose() reaps by, it must not reap or signal it again.
Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      handle_(std::move(other.handle_)),
      program_(std::move(other.program_)),
      stdin_(std::move(other.stdin_)),
      stdout_(std::move(other.stdout_)),
      stderr_(std::move(other.stderr_)),
      status_(other.status_),
      kill_on_drop_(other.kill_on_drop_) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    dispose();
    pid_ = std::exchange(other.pid_, -1);
    handle_ = std::move(other.handle_);
    program_ = std::move(other.program_);
    stdin_ = std::move(other.stdin_);
    stdout_ = std::move(other.stdout_);
    stderr_ = std::move(other.stderr_);
    status_ = other.status_;
    kill_on_drop_ = other.kill_on_drop_;
  }
  return *this;
}

Child::~Child() { dispose(); }

ExitStatus Child::wait() {
  if (status_) return *status_;
  stdin_.reset();
  const backend::Reaped r = backend::reap_when_exited(*this);
  if (!r.status) throw Error(r.error, Step::wait, program_);
  status_ = r.status;
  return *status_;
}

std::optional<ExitStatus> Child::try_wait() {
  if (status_) return status_;
  const backend::Reaped r = backend::reap_if_exited(*this);
  if (r.error != 0) throw Error(r.error, Step::wait, program_);
  status_ = r.status;
  return status_;
}

}  // namespace taskport
