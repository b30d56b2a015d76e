// SPDX-License-Identifier: MIT
// The Linux Task: a pidfd, lazily opened /proc handles, and the suspension
// state. One struct so that each concern's .cpp (memory, regions, threads,
// info, suspension) works on the same object.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/fork_generation.hpp"
#include "linux/exit_hold.hpp"
#include "linux/suspension.hpp"
#include "taskport/task.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport {

struct Task::Impl {
  Impl(UniqueFd fd, pid_t p, std::string name) noexcept
      : pidfd(std::move(fd)), pid(p), program(std::move(name)) {}

  UniqueFd pidfd;
  pid_t pid;
  // Error::program() of every error about this task: the program it was
  // spawned from, or "pid <N>" (taskport/error.hpp).
  std::string program;

  // /proc/<pid> as a directory fd, opened once and proven to name this task
  // (see proc_access.hpp); files are opened relative to it, so a recycled pid
  // can never redirect them. Guarded by proc_mutex.
  mutable std::mutex proc_mutex;
  mutable UniqueFd proc_dir;
  // proc_dir's descriptor once it is open (-1 before): read without the
  // lock, so that a Task that has opened it never takes proc_mutex for it
  // again — not even a copy made by fork() while another thread held it.
  mutable std::atomic<int> proc_dir_fd{-1};
  // /proc/<pid>/mem, opened O_RDWR on first need (writes, or reads when
  // process_vm_* is refused); or handed over by a rendezvous. Guarded by
  // proc_mutex for opening; pread/pwrite on it need no lock.
  mutable UniqueFd mem_fd;
  // Set once process_vm_readv was refused (EPERM from seccomp, ENOSYS) while
  // /proc/<pid>/mem works: later reads go straight to the mem fd.
  mutable std::atomic<bool> use_mem_fd{false};
  // /proc/<pid>/maps handed over by the task itself (rendezvous,
  // fork_with_task): opened by the task, so it works where this process may
  // not open the file (other uid, no CAP_SYS_PTRACE). Invalid otherwise.
  // Readable again and again with pread at offset 0, and PROCMAP_QUERY works
  // on it; its file position is shared, so serialize readers.
  UniqueFd maps_fd;
  // Task::start_time(), once read (task_open_linux.cpp). Guarded by proc_mutex.
  mutable std::optional<std::uint64_t> start_time;

  // Counted suspension (tracer.hpp). Guarded by suspend_mutex.
  mutable std::mutex suspend_mutex;
  int suspend_count = 0;
  std::unique_ptr<backend::Suspension> suspension;
  // The fork generation (common/fork_generation.hpp) of the process whose
  // tracer holds the suspension. In a process forked from it the copy of
  // this Task has none: the threads stay the parent's tracer's, and the
  // parent's Task resumes them (task_linux.cpp).
  std::uint64_t suspension_generation = 0;

  // Held at exit (Task::hold_at_exit; tracer.hpp). Guarded by suspend_mutex,
  // like the suspension, and forgotten the same way in a forked copy.
  std::unique_ptr<backend::ExitHold> hold;
  std::uint64_t hold_generation = 0;
  // The hold's eventfd (held_at_exit_fd): made at the first hold and kept
  // for the Task's life, so that a waiter never polls a closed descriptor.
  UniqueFd hold_event;

  ~Impl();
};

}  // namespace taskport
