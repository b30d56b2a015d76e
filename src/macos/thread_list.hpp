// SPDX-License-Identifier: MIT
// The threads of a task as task_threads() returns them, owned: every thread
// port and the out-of-line array itself are deallocated on every path.
#pragma once

#include <mach/mach.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "taskport/error.hpp"

namespace taskport::backend {

class ThreadList {
 public:
  // task_threads(task); throws Error(step, program) on failure.
  ThreadList(mach_port_t task, const std::string& program, Step step);
  ThreadList(const ThreadList&) = delete;
  ThreadList& operator=(const ThreadList&) = delete;
  ~ThreadList();

  std::size_t size() const noexcept { return count_; }
  thread_act_t operator[](std::size_t i) const noexcept { return threads_[i]; }

 private:
  thread_act_array_t threads_ = nullptr;
  mach_msg_type_number_t count_ = 0;
};

// The thread's system-wide 64-bit id (THREAD_IDENTIFIER_INFO; what
// pthread_threadid_np gives), or 0 if the thread is gone.
std::uint64_t thread_id(thread_act_t thread) noexcept;

// The id as ThreadInfo::tid reports it: the low 32 bits (pid_t is 32 bits;
// macOS thread ids count up from boot and stay far below 2^31 in practice).
pid_t tid_of(std::uint64_t id) noexcept;

}  // namespace taskport::backend
