// SPDX-License-Identifier: MIT
// taskport — threads of a task and their registers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "taskport/export.hpp"

namespace taskport {

enum class ThreadState { running, sleeping, disk_sleep, stopped, traced, zombie, dead, idle, unknown };

TASKPORT_API const char* to_string(ThreadState state) noexcept;

struct ThreadInfo {
  pid_t tid = 0;     // Linux: the kernel thread id
  std::string name;  // thread name (Linux: comm, at most 15 bytes)
  ThreadState state = ThreadState::unknown;
  std::chrono::nanoseconds user_time{0};
  std::chrono::nanoseconds system_time{0};
};

// General-purpose registers of one stopped thread, in the layout of the
// kernel's NT_PRSTATUS (Linux user_regs_struct) on each architecture.
struct X86_64Registers {
  std::uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs,
      rflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs;
  std::uint64_t program_counter() const noexcept { return rip; }
  std::uint64_t stack_pointer() const noexcept { return rsp; }
  std::uint64_t frame_pointer() const noexcept { return rbp; }
};

struct Arm64Registers {
  std::uint64_t x[31];  // x0..x30 (x29 = frame pointer, x30 = link register)
  std::uint64_t sp, pc, pstate;
  std::uint64_t program_counter() const noexcept { return pc; }
  std::uint64_t stack_pointer() const noexcept { return sp; }
  std::uint64_t frame_pointer() const noexcept { return x[29]; }
};

#if defined(__x86_64__)
using Registers = X86_64Registers;
#elif defined(__aarch64__)
using Registers = Arm64Registers;
#endif

#if defined(__x86_64__) || defined(__aarch64__)
// One thread's registers, as Task::registers_all() returns them.
struct ThreadRegisters {
  pid_t tid = 0;  // as ThreadInfo::tid
  Registers registers{};
};
#endif

}  // namespace taskport
