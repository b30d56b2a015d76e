// SPDX-License-Identifier: MIT
// The conveniences of Child and Command built on spawn and wait, the same on
// every platform: Child::wait_with_output, Child::terminate,
// Command::output, Command::status.
#include <errno.h>
#include <signal.h>

#include <string>
#include <utility>

#include "common/command_access.hpp"
#include "posix/collect_output.hpp"
#include "taskport/child.hpp"
#include "taskport/command.hpp"
#include "taskport/error.hpp"

namespace taskport {

Output Child::wait_with_output() {
  if (!status_) check_usable(Step::wait);
  stdin_.reset();
  UniqueFd out = std::move(stdout_);
  UniqueFd err = std::move(stderr_);
  std::string out_text, err_text;
  // exit_fd() stays readable once the child has exited, reaped or not.
  const int error = posix::collect_output(handle_.get(), out.get(), err.get(), out_text, err_text);
  // Closed before the wait: a child still writing (reading failed) gets
  // EPIPE instead of blocking on a pipe nobody reads, so the wait ends.
  out.reset();
  err.reset();
  const ExitStatus status = wait();
  if (error != 0) throw Error(error, Step::read_output, program_, "reading the child's stdout and stderr");
  return Output{status, std::move(out_text), std::move(err_text)};
}

ExitStatus Child::terminate(std::chrono::nanoseconds grace) {
  if (status_) return *status_;
  try {
    signal(SIGTERM);
  } catch (const Error& e) {
    // Already gone (ESRCH): it only has to be reaped.
    if (e.errno_value() != ESRCH) throw;
  }
  if (const auto exited = wait_for(grace)) return *exited;
  kill();
  return wait();
}

Output Command::output() const {
  Command c = *this;
  if (!detail::CommandAccess::stdio_set(*this, 0)) c.standard_input(Stdio::null());
  if (!detail::CommandAccess::stdio_set(*this, 1)) c.standard_output(Stdio::piped());
  if (!detail::CommandAccess::stdio_set(*this, 2)) c.standard_error(Stdio::piped());
  return c.spawn().wait_with_output();
}

ExitStatus Command::status() const { return spawn().wait(); }

}  // namespace taskport
