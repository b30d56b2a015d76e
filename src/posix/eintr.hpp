// SPDX-License-Identifier: MIT
// Retrying system calls that a signal interrupted (EINTR), the zero-timeout
// poll taskport uses to ask "has this descriptor fired?", and a poll bounded
// by a deadline.
//
// Not for the code between fork/clone and exec (linux/child_exec.cpp, the C
// rendezvous child): that keeps its own raw system calls.
#pragma once

#include <errno.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <optional>

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

// poll(2) of `fds` until `deadline` (none: no limit), the time left computed
// again after EINTR; never returns 0 before the deadline (Linux: ppoll, to
// the nanosecond; elsewhere the timeout is rounded up to whole
// milliseconds). Returns what poll returns: the number of ready descriptors,
// 0 once the deadline has passed, or -1 with errno set.
inline int poll_until(pollfd* fds, nfds_t count,
                      std::optional<std::chrono::steady_clock::time_point> deadline) noexcept {
  using clock = std::chrono::steady_clock;
  constexpr auto kSlice = std::chrono::hours(1);  // fits every timeout type; longer waits loop
  while (true) {
    const auto left = deadline ? std::clamp(*deadline - clock::now(), clock::duration::zero(),
                                            std::chrono::duration_cast<clock::duration>(kSlice))
                               : clock::duration::zero();
#if defined(__linux__)
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    const int rc = ::ppoll(fds, count, deadline ? &ts : nullptr, nullptr);
#else
    const int rc =
        ::poll(fds, count,
               deadline ? static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count()) : -1);
#endif
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0 && deadline && clock::now() < *deadline) continue;  // a slice of a longer wait
    return rc;
  }
}

}  // namespace taskport::posix
