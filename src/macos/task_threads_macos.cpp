// SPDX-License-Identifier: MIT
// Task::threads() and Task::registers() through task_threads,
// thread_info(THREAD_EXTENDED_INFO, THREAD_IDENTIFIER_INFO) and
// thread_get_state (x86_THREAD_STATE64 / ARM_THREAD_STATE64).
#include <errno.h>
#include <mach/mach.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "common/usable.hpp"
#include "macos/mach_error.hpp"
#include "macos/task_impl.hpp"
#include "macos/thread_list.hpp"

namespace taskport {

namespace backend {

ThreadList::ThreadList(mach_port_t task, const std::string& program, Step step) {
  const kern_return_t kr = ::task_threads(task, &threads_, &count_);
  if (kr != KERN_SUCCESS) {
    threads_ = nullptr;
    count_ = 0;
    throw kern_error(kr, step, program, "task_threads");
  }
}

ThreadList::~ThreadList() {
  if (threads_ == nullptr) return;
  // One send right per thread, and the array the kernel allocated for them
  // in our address space.
  for (mach_msg_type_number_t i = 0; i < count_; ++i) ::mach_port_deallocate(mach_task_self(), threads_[i]);
  ::vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(threads_), count_ * sizeof(thread_act_t));
}

std::uint64_t thread_id(thread_act_t thread) noexcept {
  thread_identifier_info_data_t info{};
  mach_msg_type_number_t count = THREAD_IDENTIFIER_INFO_COUNT;
  if (::thread_info(thread, THREAD_IDENTIFIER_INFO, reinterpret_cast<thread_info_t>(&info), &count) !=
      KERN_SUCCESS) {
    return 0;
  }
  return info.thread_id;
}

pid_t tid_of(std::uint64_t id) noexcept { return static_cast<pid_t>(id & 0x7fffffff); }

}  // namespace backend

namespace {

ThreadState state_of(int run_state) {
  switch (run_state) {
    case TH_STATE_RUNNING: return ThreadState::running;
    case TH_STATE_STOPPED: return ThreadState::stopped;
    case TH_STATE_WAITING: return ThreadState::sleeping;
    case TH_STATE_UNINTERRUPTIBLE: return ThreadState::disk_sleep;
    case TH_STATE_HALTED: return ThreadState::dead;
    default: return ThreadState::unknown;
  }
}

// The arm64 accessors return pointers where the state is opaque (arm64e,
// pointer authentication) and integers where it is not.
template <class T>
std::uint64_t to_u64(T value) {
  if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<std::uintptr_t>(value);
  } else {
    return static_cast<std::uint64_t>(value);
  }
}

}  // namespace

std::vector<ThreadInfo> Task::threads() const {
  common::usable(impl_, Step::read_threads);
  const backend::ThreadList list(impl_->port.get(), impl_->program, Step::read_threads);
  std::vector<ThreadInfo> threads;
  threads.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    thread_extended_info_data_t ext{};
    mach_msg_type_number_t count = THREAD_EXTENDED_INFO_COUNT;
    // A thread that ended since task_threads fails here: skip it.
    if (::thread_info(list[i], THREAD_EXTENDED_INFO, reinterpret_cast<thread_info_t>(&ext), &count) !=
        KERN_SUCCESS) {
      continue;
    }
    const std::uint64_t id = backend::thread_id(list[i]);
    if (id == 0) continue;
    ThreadInfo info;
    info.tid = backend::tid_of(id);
    info.name.assign(ext.pth_name, strnlen(ext.pth_name, sizeof ext.pth_name));
    info.state = state_of(ext.pth_run_state);
    if (info.state != ThreadState::dead && ext.pth_curpri == 0 && ext.pth_run_state == TH_STATE_WAITING &&
        (ext.pth_flags & TH_FLAGS_IDLE) != 0) {
      info.state = ThreadState::idle;
    }
    info.user_time = std::chrono::nanoseconds(ext.pth_user_time);
    info.system_time = std::chrono::nanoseconds(ext.pth_system_time);
    threads.push_back(std::move(info));
  }
  return threads;
}

#if defined(__x86_64__) || defined(__aarch64__)
namespace {

// thread_get_state of one thread, in the layout of Registers.
kern_return_t state_of_thread(thread_act_t thread, Registers& regs) {
  regs = Registers{};
#if defined(__x86_64__)
  x86_thread_state64_t state{};
  mach_msg_type_number_t count = x86_THREAD_STATE64_COUNT;
  const kern_return_t kr =
      ::thread_get_state(thread, x86_THREAD_STATE64, reinterpret_cast<thread_state_t>(&state), &count);
  if (kr != KERN_SUCCESS) return kr;
  // Mach's x86_THREAD_STATE64 has no orig_rax, ss, ds, es or segment
  // bases: those stay 0.
  regs.rax = state.__rax;
  regs.rbx = state.__rbx;
  regs.rcx = state.__rcx;
  regs.rdx = state.__rdx;
  regs.rdi = state.__rdi;
  regs.rsi = state.__rsi;
  regs.rbp = state.__rbp;
  regs.rsp = state.__rsp;
  regs.r8 = state.__r8;
  regs.r9 = state.__r9;
  regs.r10 = state.__r10;
  regs.r11 = state.__r11;
  regs.r12 = state.__r12;
  regs.r13 = state.__r13;
  regs.r14 = state.__r14;
  regs.r15 = state.__r15;
  regs.rip = state.__rip;
  regs.rflags = state.__rflags;
  regs.cs = state.__cs;
  regs.fs = state.__fs;
  regs.gs = state.__gs;
#else
  arm_thread_state64_t state{};
  mach_msg_type_number_t count = ARM_THREAD_STATE64_COUNT;
  const kern_return_t kr =
      ::thread_get_state(thread, ARM_THREAD_STATE64, reinterpret_cast<thread_state_t>(&state), &count);
  if (kr != KERN_SUCCESS) return kr;
  for (int r = 0; r < 29; ++r) regs.x[r] = state.__x[r];
  // The accessors strip pointer authentication where the state is opaque
  // (arm64e); on arm64 they read the fields as they are.
  regs.x[29] = to_u64(arm_thread_state64_get_fp(state));
  regs.x[30] = to_u64(arm_thread_state64_get_lr(state));
  regs.sp = to_u64(arm_thread_state64_get_sp(state));
  regs.pc = to_u64(arm_thread_state64_get_pc(state));
  regs.pstate = state.__cpsr;
#endif
  return KERN_SUCCESS;
}

// A thread that ended after task_threads listed it: thread_get_state says
// KERN_TERMINATED once the thread is no longer active (xnu
// osfmk/kern/thread_act.c thread_get_state_internal: "else result =
// KERN_TERMINATED"), and once it has terminated its control port is
// destroyed (osfmk/kern/ipc_tt.c ipc_thread_terminate:
// ipc_kobject_dealloc_port of the THREAD_FLAVOR_CONTROL port), so our send
// right is a dead name and the call fails with MACH_SEND_INVALID_DEST.
bool thread_ended(kern_return_t kr) { return kr == KERN_TERMINATED || kr == MACH_SEND_INVALID_DEST; }

}  // namespace

Registers Task::registers(pid_t tid) const {
  common::usable(impl_, Step::read_registers);
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  if (impl_->suspend_count == 0) {
    throw Error(EBUSY, Step::read_registers, impl_->program, "the task must be suspended to read registers");
  }
  const backend::ThreadList list(impl_->port.get(), impl_->program, Step::read_registers);
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (backend::tid_of(backend::thread_id(list[i])) != tid) continue;
    Registers regs{};
    const kern_return_t kr = state_of_thread(list[i], regs);
    if (kr != KERN_SUCCESS)
      throw backend::kern_error(kr, Step::read_registers, impl_->program, "thread_get_state");
    return regs;
  }
  throw Error(ESRCH, Step::read_registers, impl_->program, "no thread " + std::to_string(tid));
}

std::vector<ThreadRegisters> Task::registers_all() const {
  common::usable(impl_, Step::read_registers);
  std::lock_guard<std::mutex> lock(impl_->suspend_mutex);
  if (impl_->suspend_count == 0) {
    throw Error(EBUSY, Step::read_registers, impl_->program, "the task must be suspended to read registers");
  }
  const backend::ThreadList list(impl_->port.get(), impl_->program, Step::read_registers);
  std::vector<ThreadRegisters> all;
  all.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::uint64_t id = backend::thread_id(list[i]);
    if (id == 0) continue;  // ended since task_threads
    ThreadRegisters t;
    t.tid = backend::tid_of(id);
    const kern_return_t kr = state_of_thread(list[i], t.registers);
    if (thread_ended(kr)) continue;
    if (kr != KERN_SUCCESS)
      throw backend::kern_error(kr, Step::read_registers, impl_->program, "thread_get_state");
    all.push_back(t);
  }
  if (all.empty()) throw Error(ESRCH, Step::read_registers, impl_->program, "the task has exited");
  std::sort(all.begin(), all.end(),
            [](const ThreadRegisters& a, const ThreadRegisters& b) { return a.tid < b.tid; });
  return all;
}
#endif

}  // namespace taskport
