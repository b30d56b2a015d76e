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
#include "common/fork_generation.hpp"
#include "common/handover.hpp"
#include "common/usable.hpp"
#include "posix/eintr.hpp"
#include "taskport/error.hpp"

namespace taskport {
namespace {

// The status a reap gave, nothing if the child still runs, or the Error of
// a failed wait. ECHILD from a wait on our own child's handle means it has
// ended and someone else has its status: the kernel (SIGCHLD ignored,
// SA_NOCLDWAIT) or another wait in this process (waitpid(-1) in an
// application's SIGCHLD handler) — the unknown status, not a failure.
std::optional<ExitStatus> status_of(const backend::Reaped& r, const std::string& program) {
  if (r.status) return r.status;
  if (r.error == ECHILD) return ExitStatus::unknown();
  if (r.error != 0) throw Error(r.error, Step::wait, program);
  return std::nullopt;
}

}  // namespace

Child::Child(pid_t pid, UniqueFd handle, std::string program, UniqueFd in, UniqueFd out,
             UniqueFd err) noexcept
    : pid_(pid),
      handle_(std::move(handle)),
      program_(std::move(program)),
      stdin_(std::move(in)),
      stdout_(std::move(out)),
      stderr_(std::move(err)),
      fork_generation_(common::fork_generation()) {}

// The moved-from Child keeps no pid and no status: on macOS, where the pid
// is the handle dispose() reaps by, it must not reap or signal it again, and
// every method of it throws EBADF.
Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      handle_(std::move(other.handle_)),
      program_(std::move(other.program_)),
      stdin_(std::move(other.stdin_)),
      stdout_(std::move(other.stdout_)),
      stderr_(std::move(other.stderr_)),
      status_(std::exchange(other.status_, std::nullopt)),
      kill_on_drop_(other.kill_on_drop_),
      fork_generation_(other.fork_generation_) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    drop();
    pid_ = std::exchange(other.pid_, -1);
    handle_ = std::move(other.handle_);
    program_ = std::move(other.program_);
    stdin_ = std::move(other.stdin_);
    stdout_ = std::move(other.stdout_);
    stderr_ = std::move(other.stderr_);
    status_ = std::exchange(other.status_, std::nullopt);
    kill_on_drop_ = other.kill_on_drop_;
    fork_generation_ = other.fork_generation_;
  }
  return *this;
}

Child::~Child() { drop(); }

void Child::drop() noexcept {
  if (fork_generation_ == common::fork_generation()) {
    dispose();
    return;
  }
  // A copy made by fork(): the child is the parent's to kill and reap.
  stdin_.reset();
  stdout_.reset();
  stderr_.reset();
  handle_.reset();
}

void Child::check_usable(Step step) const {
  if (pid_ < 0) throw common::moved_from(step, "Child");
  if (fork_generation_ != common::fork_generation()) throw common::copied_by_fork(step, program_, "Child");
}

ExitStatus Child::wait() {
  if (status_) return *status_;
  check_usable(Step::wait);
  stdin_.reset();
  status_ = status_of(backend::reap_when_exited(*this), program_);
  if (!status_) throw Error(EIO, Step::wait, program_, "a blocking wait came back without a status");
  return *status_;
}

std::optional<ExitStatus> Child::try_wait() {
  if (status_) return status_;
  check_usable(Step::wait);
  status_ = status_of(backend::reap_if_exited(*this), program_);
  return status_;
}

std::optional<ExitStatus> Child::wait_for(std::chrono::nanoseconds timeout) {
  if (status_) return status_;
  check_usable(Step::wait);
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
  status_ = status_of(backend::reap_when_exited(*this), program_);
  if (!status_) throw Error(EIO, Step::wait, program_, "a blocking wait came back without a status");
  return status_;
}

void Child::kill() {
  if (status_) return;
  check_usable(Step::send_signal);
  signal(SIGKILL);
}

}  // namespace taskport
