// SPDX-License-Identifier: MIT
// The platform-neutral part of Child (taskport/child.hpp): construction,
// moves, destruction, waiting and kill(). Signalling (and dispose(), which
// the destructor calls) are per platform: child_linux.cpp, child_macos.cpp;
// reaping itself is the backend's (common/backend.hpp).
#include "taskport/child.hpp"

#include <errno.h>
#include <poll.h>
#include <signal.h>

#include <utility>

#include "common/backend.hpp"
#include "common/handover.hpp"
#include "posix/eintr.hpp"
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

std::optional<ExitStatus> Child::wait_for(std::chrono::nanoseconds timeout) {
  if (status_) return status_;
  // exit_fd() polls readable once the child has exited. poll(2) consumes
  // nothing (on macOS kevent would consume the kqueue's event), so it stays
  // readable for the caller's own event loop.
  pollfd p{handle_.get(), POLLIN, 0};
  const int rc = posix::poll_until(&p, 1, common::deadline_after(timeout));
  if (rc < 0) throw Error(errno, Step::poll, program_);
  if (rc == 0) return std::nullopt;
  // The child has exited (macOS: NOTE_EXIT fires as the exit begins, and the
  // reap returns as soon as the kernel has finished it). Not wait(): that
  // would close stdin_pipe().
  const backend::Reaped r = backend::reap_when_exited(*this);
  if (!r.status) throw Error(r.error, Step::wait, program_);
  status_ = r.status;
  return status_;
}

void Child::kill() {
  if (status_) return;
  signal(SIGKILL);
}

}  // namespace taskport
