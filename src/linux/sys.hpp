// SPDX-License-Identifier: MIT
// Thin wrappers for the Linux system calls glibc 2.36 does not wrap, or that
// taskport issues raw on purpose. All return -1 and set errno on failure.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace taskport::backend {

inline int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

inline int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// waitid(P_PIDFD) (Linux 5.4): waits for exactly the process the pidfd names;
// ECHILD if it is not our child or is already reaped.
inline int waitid_pidfd(int pidfd, siginfo_t* info, int options) {
  return ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), info, options);
}

// The kernel's signal set is 64 bits on every Linux ABI taskport supports;
// rt_sigprocmask/rt_sigaction take its size explicitly.
inline constexpr unsigned long kKernelSigsetSize = 8;

}  // namespace taskport::backend
