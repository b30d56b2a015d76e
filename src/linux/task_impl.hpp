// The Linux Task: a pidfd plus the suspension count.
#pragma once

#include <sys/types.h>

#include <mutex>

#include "taskport/task.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport {

struct Task::Impl {
  Impl(UniqueFd fd, pid_t p, int suspensions) noexcept : pidfd(std::move(fd)), pid(p), suspend_count(suspensions) {}

  UniqueFd pidfd;
  pid_t pid;
  std::mutex mutex;  // guards suspend_count; Task methods run on any thread
  int suspend_count;
};

}  // namespace taskport
