// SPDX-License-Identifier: MIT
// Retrying system calls that a signal interrupted (EINTR), and the
// zero-timeout poll taskport uses to ask "has this descriptor fired?".
//
// Not for the code between fork/clone and exec (linux/child_exec.cpp, the C
// rendezvous child): that keeps its own raw system calls.
#pragma once

#include <errno.h>
#include <poll.h>

namespace taskport::posix {

// Calls `call` until it does not fail with EINTR; returns its last result.
// For calls that report failure as -1 with errno set (read, waitid, poll,
// ioctl, kevent, …).
template <class Call>
auto retry_on_eintr(Call&& call) noexcept(noexcept(call())) -> decltype(call()) {
  while (true) {
    const auto rc = call();
    if (!(rc == -1 && errno == EINTR)) return rc;
  }
}

// One poll(2) of `fd` for POLLIN with a zero timeout, retried on EINTR: the
// revents (0 if nothing is pending), or -1 with errno set. Does not consume
// anything (a kqueue stays readable, a pidfd too).
inline int poll_now(int fd) noexcept {
  pollfd p{fd, POLLIN, 0};
  const int rc = retry_on_eintr([&] { return ::poll(&p, 1, 0); });
  if (rc < 0) return -1;
  return rc == 0 ? 0 : p.revents;
}

}  // namespace taskport::posix
