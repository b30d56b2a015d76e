// SPDX-License-Identifier: MIT
// The clone3 entry stub (see clone3.hpp) and its C++ side.
#include "linux/clone3.hpp"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include <cstdint>

#ifndef SYS_clone3
#define SYS_clone3 435  // the same number on every architecture (the unified table of Linux 5.3+)
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

// long taskport_clone3_raw(const clone_args* args, size_t size, int (*fn)(void*), void* arg)
//
// Returns the system call's raw result: the child's pid, or -errno. In the
// child (result 0) it runs on the new stack: it clears the frame pointer
// and return address so that unwinders and debuggers stop there, calls
// fn(arg) and passes its value to exit (SYS_exit, this thread only — the
// child has no other).
//
// x86_64: the syscall instruction clobbers only rcx and r11 (and rax), and
// the child starts with the parent's registers but rax = 0 and rsp = the top
// of the new stack (page-aligned, so 16-byte aligned as a call needs); fn and
// arg are kept in r8 and r9 across it. aarch64: svc preserves every register
// but x0; fn and arg are kept in x10 and x11 (as glibc's clone3.S does).
#if defined(__x86_64__)
asm(R"(
  .pushsection .text
  .globl taskport_clone3_raw
  .hidden taskport_clone3_raw
  .type taskport_clone3_raw, @function
  .p2align 4
taskport_clone3_raw:
  .cfi_startproc
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jz 1f
  ret
1:
  .cfi_undefined rip
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
  .cfi_endproc
  .size taskport_clone3_raw, . - taskport_clone3_raw
  .popsection
)");
#define TASKPORT_HAVE_CLONE3_STUB 1
#elif defined(__aarch64__)
asm(R"(
  .pushsection .text
  .globl taskport_clone3_raw
  .hidden taskport_clone3_raw
  .type taskport_clone3_raw, %function
  .p2align 2
taskport_clone3_raw:
  .cfi_startproc
  mov x10, x2
  mov x11, x3
  mov x8, #435
  svc #0
  cbz x0, 1f
  ret
1:
  .cfi_undefined x30
  mov x29, xzr
  mov x30, xzr
  mov x0, x11
  blr x10
  mov x8, #93
  svc #0
  brk #0
  .cfi_endproc
  .size taskport_clone3_raw, . - taskport_clone3_raw
  .popsection
)");
#define TASKPORT_HAVE_CLONE3_STUB 1
#endif

namespace taskport::backend {
namespace {

// struct clone_args of <linux/sched.h>, its first version (CLONE_ARGS_SIZE_VER0,
// 64 bytes: every field we need; a kernel that knows more treats the rest as 0).
struct CloneArgs {
  std::uint64_t flags;
  std::uint64_t pidfd;
  std::uint64_t child_tid;
  std::uint64_t parent_tid;
  std::uint64_t exit_signal;
  std::uint64_t stack;  // lowest address: the kernel starts the child at stack + stack_size
  std::uint64_t stack_size;
  std::uint64_t tls;
};
static_assert(sizeof(CloneArgs) == 64, "CLONE_ARGS_SIZE_VER0");

// <linux/sched.h> (Linux 5.5); 64-bit, so only clone3 can take it.
constexpr std::uint64_t kCloneClearSighand = 0x100000000ULL;

}  // namespace
}  // namespace taskport::backend

#if defined(TASKPORT_HAVE_CLONE3_STUB)
extern "C" long taskport_clone3_raw(const taskport::backend::CloneArgs* args, std::size_t size,
                                    int (*fn)(void*), void* arg) noexcept;
#endif

namespace taskport::backend {

bool have_clone3() noexcept {
#if defined(TASKPORT_HAVE_CLONE3_STUB)
  return true;
#else
  return false;
#endif
}

pid_t clone3_vfork(int (*fn)(void*), void* arg, void* stack, std::size_t size, int* pidfd) noexcept {
#if defined(TASKPORT_HAVE_CLONE3_STUB)
  CloneArgs args{};
  args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | kCloneClearSighand;
  args.pidfd = reinterpret_cast<std::uintptr_t>(pidfd);
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<std::uintptr_t>(stack);
  args.stack_size = size;
  const long rc = taskport_clone3_raw(&args, sizeof args, fn, arg);
  if (rc < 0) {
    errno = static_cast<int>(-rc);
    return -1;
  }
  return static_cast<pid_t>(rc);
#else
  (void)fn, (void)arg, (void)stack, (void)size, (void)pidfd;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace taskport::backend
