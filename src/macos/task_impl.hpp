// SPDX-License-Identifier: MIT
// The macOS Task: the child's Mach task port, its pid, a kqueue that fires
// at its exit, and the count of suspensions this Task made. One struct so
// that each concern's .cpp (memory, regions, threads, info) works on it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "common/fork_generation.hpp"
#include "macos/mach_port.hpp"
#include "taskport/error.hpp"
#include "taskport/task.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport {

struct Task::Impl {
  Impl(backend::SendRight p, pid_t id, int version, std::string name, UniqueFd kq) noexcept
      : port(std::move(p)), pid(id), pid_version(version), program(std::move(name)), exit_kq(std::move(kq)) {}

  // The task port: names exactly the task that sent it (the program image
  // running when it was sent; an exec replaces the task and the port then
  // names a dead one: README "macOS: the exec finding"). Every Mach call
  // takes it; the pid is for messages, proc_regionfilename and signals.
  backend::SendRight port;
  pid_t pid;
  // The pid version of that image (its audit token's val[7]), checked at
  // accept against the sender's: it changes at every exec, so it tells this
  // image from a later one of the same process (rendezvous_server.hpp
  // task_identity.hpp).
  int pid_version;
  // Error::program() of every error about this task: the program it was
  // spawned from, or "pid <N>" (taskport/error.hpp).
  std::string program;
  // The process generation that made it (common/usable.hpp): fork() passes
  // on no Mach rights, so a copy made by fork() names nothing of its own.
  const std::uint64_t fork_generation = common::fork_generation();
  // EVFILT_PROC/NOTE_EXIT on the pid (exit_watch.hpp); invalid if the
  // process could not be watched.
  UniqueFd exit_kq;

  // task_suspend/task_resume are counted by the kernel per task, across
  // every holder of the port; this counts ours, so that resume() never
  // undoes someone else's suspension and ~Impl undoes exactly ours.
  mutable std::mutex suspend_mutex;
  int suspend_count = 0;

  // True while the task the port names still runs: task_info(
  // TASK_AUDIT_TOKEN) answers with this pid and pid version. False once it
  // exited or exec'd. Throws Error(step) if the kernel gives another answer.
  bool image_alive(Step step) const;
  // The Error for a failed call `call` on the port: kern_error's, except
  // that KERN_INVALID_ARGUMENT from a control-flavour call (mach_vm_write,
  // mach_vm_protect) on a task that is alive is EPERM — Developer Mode is
  // off (see task_macos.cpp) — rather than ESRCH.
  Error call_error(kern_return_t kr, Step step, const char* call, const std::string& what = {}) const;

  ~Impl();
};

}  // namespace taskport
