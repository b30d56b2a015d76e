// SPDX-License-Identifier: MIT
// The macOS Task: the child's Mach task port, its pid, a kqueue that fires
// at its exit, and the count of suspensions this Task made. One struct so
// that each concern's .cpp (memory, regions, threads, info) works on it.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>

#include "macos/mach_port.hpp"
#include "taskport/task.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport {

struct Task::Impl {
  Impl(backend::SendRight p, pid_t id, std::string name, UniqueFd kq) noexcept
      : port(std::move(p)), pid(id), program(std::move(name)), exit_kq(std::move(kq)) {}

  // The task port: names exactly the task that sent it (the program image
  // running when it was sent; an exec replaces the task and the port then
  // names a dead one). Every Mach call takes it; the pid is for messages,
  // proc_regionfilename and signals.
  backend::SendRight port;
  pid_t pid;
  // Error::program() of every error about this task: the program it was
  // spawned from, or "pid <N>" (taskport/error.hpp).
  std::string program;
  // EVFILT_PROC/NOTE_EXIT on the pid (exit_watch.hpp); invalid if the
  // process could not be watched.
  UniqueFd exit_kq;

  // task_suspend/task_resume are counted by the kernel per task, across
  // every holder of the port; this counts ours, so that resume() never
  // undoes someone else's suspension and ~Impl undoes exactly ours.
  mutable std::mutex suspend_mutex;
  int suspend_count = 0;

  ~Impl();
};

}  // namespace taskport
