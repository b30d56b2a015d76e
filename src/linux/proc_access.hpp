// SPDX-License-Identifier: MIT
// Access to /proc/<pid> that cannot be redirected by pid reuse, and errors
// that explain why access was refused.
//
// The kernel fact relied on: a pid is only recycled after the process has
// been reaped, and a pidfd polls POLLHUP once its process is reaped. So a
// pid-based call (process_vm_readv, open("/proc/<pid>/…")) whose result is
// followed by a check that the pidfd is *not yet* POLLHUP reached the right
// process. A /proc/<pid> directory fd, once verified, stays bound to that
// process (lookups fail with ESRCH/ENOENT after it is gone).
#pragma once

#include <sys/types.h>

#include <string>

#include "linux/task_impl.hpp"
#include "taskport/error.hpp"

namespace taskport::backend {

// True once the process the pidfd names has been reaped (its pid may now
// belong to another process). One poll(2).
bool reaped(int pidfd);

// True once the process the pidfd names has exited (a zombie, or reaped):
// the pidfd polls readable. One poll(2).
bool exited(int pidfd);

// The verified /proc/<pid> directory fd of the task (opened on first call).
// Throws Error(ESRCH, step) if the task is gone, Error(errno, step) if the
// open fails otherwise (EMFILE: no descriptor free).
int proc_dir(const Task::Impl& task, Step step);

// Opens /proc/<pid>/<name> relative to proc_dir. Returns -1 with errno set.
int open_proc_file(const Task::Impl& task, const char* name, int flags, Step step);

// Opens task/<tid>/<name> of a thread other than the main one, relative to
// proc_dir: the way to the address space once the main thread has exited
// while others run on. Such a zombie main thread has no mm (kernel/exit.c
// exit_mm), so /proc/<pid>/mem reads nothing, /proc/<pid>/maps is empty and
// process_vm_readv of the pid fails with ESRCH, though the process and its
// memory live. task/<tid> resolves under the verified /proc/<pid> only for
// threads of that process, so a recycled tid cannot lead elsewhere. Returns
// -1 with errno set (ESRCH: no other thread).
int open_other_thread_file(const Task::Impl& task, const char* name, int flags, Step step);

// Reads the whole of /proc/<pid>/<name>. Throws Error(errno, step, …) with
// an explanation on failure.
std::string read_proc_file(const Task::Impl& task, const char* name, Step step);

// Like read_proc_file, but returns false instead of throwing on EACCES/EPERM
// (for optional data such as /proc/<pid>/io).
bool try_read_proc_file(const Task::Impl& task, const char* name, std::string& out, Step step);

// Builds the Error for a refused or failed access to the task: for EPERM and
// EACCES the detail says why (other uid, target not dumpable, no
// CAP_SYS_PTRACE, seccomp, Yama) and what would help; for ESRCH that the task
// has exited. `what` names the call, e.g. "process_vm_readv 0x1000+8".
Error access_error(const Task::Impl& task, int error, Step step, const std::string& what);

}  // namespace taskport::backend
