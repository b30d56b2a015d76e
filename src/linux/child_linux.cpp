// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

#include <algorithm>

#include "linux/reaper.hpp"
#include "linux/sys.hpp"
#include "linux/wait_status.hpp"
#include "taskport/child.hpp"
#include "taskport/error.hpp"

namespace taskport {

using backend::reap;

void Child::dispose() noexcept {
  stdin_.reset();
  stdout_.reset();
  stderr_.reset();
  if (status_ || !handle_) return;
  if (kill_on_drop_) backend::pidfd_send_signal(handle_.get(), SIGKILL);
  int err = 0;
  if (reap(handle_.get(), false, err) || err != 0) return;
  backend::reap_in_background(std::move(handle_));
}

ExitStatus Child::wait() {
  if (status_) return *status_;
  stdin_.reset();
  int err = 0;
  auto status = reap(handle_.get(), true, err);
  if (!status) throw Error(err, Step::wait, program_);
  status_ = status;
  return *status_;
}

std::optional<ExitStatus> Child::try_wait() {
  if (status_) return status_;
  int err = 0;
  auto status = reap(handle_.get(), false, err);
  if (err != 0) throw Error(err, Step::wait, program_);
  status_ = status;
  return status_;
}

std::optional<ExitStatus> Child::wait_for(std::chrono::nanoseconds timeout) {
  if (status_) return status_;
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::max(timeout, std::chrono::nanoseconds(0));
  while (true) {
    const auto left = std::max(deadline - clock::now(), clock::duration(0));
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    pollfd p{handle_.get(), POLLIN, 0};
    const int rc = ::ppoll(&p, 1, &ts, nullptr);
    if (rc < 0 && errno != EINTR) throw Error(errno, Step::poll, program_);
    if (rc > 0) return try_wait();
    if (rc == 0) return std::nullopt;
  }
}

void Child::signal(int sig) {
  if (status_) throw Error(ESRCH, Step::send_signal, program_, "child already reaped");
  if (backend::pidfd_send_signal(handle_.get(), sig) != 0) throw Error(errno, Step::send_signal, program_);
}

void Child::kill() {
  if (status_) return;
  signal(SIGKILL);
}

}  // namespace taskport
