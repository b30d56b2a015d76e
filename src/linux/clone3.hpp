// SPDX-License-Identifier: MIT
// clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND): the
// spawn path's first choice (spawn_linux.cpp), with the kernel resetting the
// child's signal handlers.
//
// Why clone3: CLONE_CLEAR_SIGHAND (Linux 5.5) exists only there. With it the
// kernel sets every handler that is not SIG_IGN to SIG_DFL while it copies
// the signal table for the child (kernel/fork.c copy_sighand ->
// kernel/signal.c flush_signal_handlers(tsk, 0)) — exactly what execve will
// do and what the child would otherwise do with 62 rt_sigaction queries
// (child_exec.cpp reset_signal_handlers). The handlers are never the
// parent's in the child for a single instruction, so no parent handler can
// run there even before the child's first step.
//
// Why assembly: clone3 has no glibc wrapper (glibc 2.36), and with CLONE_VM
// and a stack the child returns from the system call on that new stack,
// where no C++ frame of the caller exists; the entry stub calls the child's
// function there and exits if it ever returns. It is a raw system call, so
// no sanitizer interceptor sees it (ThreadSanitizer's clone interceptor
// assumes fork semantics, see spawn_linux.cpp) — the child's code is built
// without instrumentation anyway (child_exec.hpp).
#pragma once

#include <errno.h>
#include <sys/types.h>

#include <cstddef>

namespace taskport::backend {

// Whether this build has the clone3 entry stub (x86_64 and aarch64).
bool have_clone3() noexcept;

// clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND, exit
// signal SIGCHLD) with the child running fn(arg) on [stack, stack + size)
// until it execs or exits; fn must never return (if it does the child exits
// with its value). Returns the child's pid with *pidfd set (close-on-exec),
// once the child has exec'd or exited (CLONE_VFORK); or -1 with errno set:
// ENOSYS (kernel before 5.3, no stub for this architecture, or a seccomp
// filter), EPERM (seccomp profiles of container runtimes), EINVAL (Linux 5.3
// and 5.4 do not know CLONE_CLEAR_SIGHAND), E2BIG, or what clone gives.
pid_t clone3_vfork(int (*fn)(void*), void* arg, void* stack, std::size_t size, int* pidfd) noexcept;

// True for the errors after which the caller should use clone instead: the
// kernel or a filter refused clone3 or one of its flags.
inline bool clone3_refused(int error) noexcept {
  return error == ENOSYS || error == EPERM || error == EINVAL || error == E2BIG;
}

}  // namespace taskport::backend
