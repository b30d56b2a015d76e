// SPDX-License-Identifier: MIT
// sendmsg/recvmsg plumbing shared by the descriptor-passing code.
//
// Header-only and `static inline` on purpose: linux/child_exec.cpp uses it
// between clone and execve, where only async-signal-safe code may run and
// which is compiled without sanitizers. Internal linkage gives that file its
// own uninstrumented copy (an `inline` function could be merged at link time
// with an instrumented copy from another file). No allocation, no libc state.
#pragma once

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

namespace taskport::posix {

// A msghdr for `iov_count` iovecs and a control buffer; no address, no flags.
static inline struct msghdr message_header(struct iovec* iov, std::size_t iov_count, void* control,
                                           std::size_t control_size) noexcept {
  struct msghdr msg {};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(iov_count);
  msg.msg_control = control;
  msg.msg_controllen = static_cast<decltype(msg.msg_controllen)>(control_size);
  return msg;
}

}  // namespace taskport::posix
