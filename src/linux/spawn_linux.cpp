// SPDX-License-Identifier: MIT
// The Linux spawn path: clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) on a private
// stack, never fork. Cost does not grow with the parent's memory: no page
// tables are copied, and the spawning thread sleeps until the child has
// exec'd (or failed), so when spawn returns the exec outcome is known.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "common/child_access.hpp"
#include "common/child_guard.hpp"
#include "common/command_access.hpp"
#include "common/fork_generation.hpp"
#include "common/validate_command.hpp"
#include "linux/child_exec.hpp"
#include "linux/clone3.hpp"
#include "linux/exec_plan.hpp"
#include "linux/preload_spawn.hpp"
#include "linux/proc_access.hpp"
#include "linux/reaper.hpp"
#include "linux/spawn_timing.hpp"
#include "linux/sys.hpp"
#include "linux/task_impl.hpp"
#include "linux/tracer.hpp"
#include "linux/wait_status.hpp"
#include "posix/eintr.hpp"
#include "posix/socket_message.hpp"
#include "taskport/command.hpp"

namespace taskport {
namespace {

using backend::ChildContext;
using backend::ChildReport;
using backend::ExecPlan;

// Room for our frames plus a user hook's (the hook contract promises 64 KiB),
// with slack for sanitizer builds. Reserved, not committed: untouched pages
// cost nothing. A guard page below catches an overflow.
constexpr size_t kStackSize = 256 * 1024;

// How long a start-suspended child may take from its execve to the
// post-exec stop (microseconds, normally; a bound, not an estimate).
constexpr auto kExecStopTimeout = std::chrono::seconds(10);
// How long await_exec_stop yields between looks before it naps.
constexpr auto kExecStopYield = std::chrono::microseconds(200);

// One stack per spawning thread, reused: while the child runs on it, this
// thread is suspended in clone(CLONE_VFORK), and once clone returns the child
// has left it (exec'd into a new address space, or exited).
class ChildStack {
 public:
  ChildStack() = default;
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  ~ChildStack() {
    if (base_ != nullptr) ::munmap(base_, kStackSize + page_);
  }

  // The lowest address of the kStackSize bytes above the guard page (clone3
  // takes that and the size), or nullptr with errno set.
  char* bottom() {
    if (base_ == nullptr) {
      page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      void* p = ::mmap(nullptr, kStackSize + page_, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
      if (p == MAP_FAILED) return nullptr;
      ::mprotect(p, page_, PROT_NONE);
      base_ = p;
    }
    return static_cast<char*>(base_) + page_;
  }

 private:
  void* base_ = nullptr;
  size_t page_ = 0;
};

thread_local ChildStack t_stack;

}  // namespace
}  // namespace taskport

#if defined(TASKPORT_SPAWN_TIMING)
std::uint64_t taskport_spawn_stamps[taskport::backend::timing::kPoints];
#endif

// glibc's clone() under its internal name: ThreadSanitizer intercepts clone()
// and treats it like fork, which breaks on CLONE_VM|CLONE_VFORK; __clone is
// the same function and is not intercepted.
extern "C" int __clone(int (*fn)(void*), void* stack, int flags, void* arg, ...);

namespace taskport {
namespace {

// Set once clone3 has been refused (clone3_refused: an old kernel, a seccomp
// filter): later spawns go straight to clone.
std::atomic<bool> g_clone3_refused{false};

// Set once clone(CLONE_PIDFD) has been refused (ENOSYS, EINVAL, or EPERM from
// a seccomp filter) and the fallback worked: later spawns go straight to it.
std::atomic<bool> g_clone_pidfd_refused{false};

bool is_refusal(int error) { return error == ENOSYS || error == EINVAL || error == EPERM; }

// Blocks every signal in the calling thread for the lifetime of the object.
// The child starts with this mask, so no signal can reach it before it has
// reset the parent's handlers; it restores `saved` before execve. Raw
// rt_sigprocmask: glibc's wrappers would leave its two internal signals open.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() {
    const std::uint64_t all = ~std::uint64_t{0};
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, backend::kKernelSigsetSize);
  }
  ~AllSignalsBlocked() {
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, nullptr, backend::kKernelSigsetSize);
  }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;
  std::uint64_t saved = 0;
};

struct Cloned {
  pid_t pid = -1;
  UniqueFd pidfd;
};

// Fallback when CLONE_PIDFD is refused: the child opens a pidfd of itself and
// sends it over a socket (the socket is in the child's fd table already).
// Receiving it here cannot block: the child sent before exec, and clone has
// returned, so the message is there or never will be.
UniqueFd receive_pidfd(int socket) {
  char byte;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&byte, 1};
  struct msghdr msg = posix::message_header(&iov, 1, control, sizeof control);
  const ssize_t n =
      posix::retry_on_eintr([&] { return ::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC); });
  if (n != 1) return UniqueFd();
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  if (cm == nullptr || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
      cm->cmsg_len != CMSG_LEN(sizeof(int))) {
    return UniqueFd();
  }
  int fd;
  std::memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return UniqueFd(fd);
}

// The first choice: clone3, which also resets the child's handlers
// (clone3.hpp). Returns false if clone3 is refused (then nothing was created
// and clone is the way); throws any other failure.
bool clone3_child(ChildContext& ctx, char* stack, Cloned& out, const std::string& program) {
  if (g_clone3_refused.load(std::memory_order_relaxed)) return false;
  int pidfd = -1;
  ctx.handlers_reset_by_kernel = true;
  TASKPORT_STAMP(cloning);
  out.pid = backend::clone3_vfork(backend::taskport_child_entry, &ctx, stack, kStackSize, &pidfd);
  TASKPORT_STAMP(cloned);
  if (out.pid > 0) {
    out.pidfd.reset(pidfd);
    return true;
  }
  if (!backend::clone3_refused(errno)) throw Error(errno, Step::clone, program);
  g_clone3_refused.store(true, std::memory_order_relaxed);
  ctx.handlers_reset_by_kernel = false;
  return false;
}

Cloned clone_child(ChildContext& ctx, const std::string& program) {
  char* const bottom = t_stack.bottom();
  if (bottom == nullptr) throw Error(errno, Step::allocate_stack, program);
  void* const stack = bottom + kStackSize;  // clone takes the top

  constexpr int kFlags = CLONE_VM | CLONE_VFORK | SIGCHLD;
  Cloned out;
  AllSignalsBlocked blocked;
  ctx.parent_mask = blocked.saved;

  if (clone3_child(ctx, bottom, out, program)) return out;
  if (!g_clone_pidfd_refused.load(std::memory_order_relaxed)) {
    int pidfd = -1;
    TASKPORT_STAMP(cloning);
    out.pid = ::__clone(backend::taskport_child_entry, stack, kFlags | CLONE_PIDFD, &ctx, &pidfd);
    TASKPORT_STAMP(cloned);
    if (out.pid > 0) {
      out.pidfd.reset(pidfd);
      return out;
    }
    if (!is_refusal(errno)) throw Error(errno, Step::clone, program);
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw Error(errno, Step::receive_pidfd, program);
  UniqueFd ours(sv[0]), theirs(sv[1]);
  ctx.pidfd_socket = theirs.get();
  out.pid = ::__clone(backend::taskport_child_entry, stack, kFlags, &ctx, nullptr);
  if (out.pid < 0) throw Error(errno, Step::clone, program);
  g_clone_pidfd_refused.store(true, std::memory_order_relaxed);
  out.pidfd = receive_pidfd(ours.get());
  return out;
}

// Reaps a child that failed before execve (it has exited or is exiting).
std::optional<ExitStatus> reap_failed(const Cloned& c) {
  return c.pidfd ? backend::reap_when_exited(c.pidfd.get()).status
                 : backend::reap_pid_when_exited(c.pid).status;
}

// "exit code 3", "killed by SIGSEGV": how our exited child ended, without
// reaping it (WNOWAIT: its status stays for Child).
std::string how_it_ended(const Child& child) {
  siginfo_t info{};
  if (posix::retry_on_eintr(
          [&] { return backend::waitid_pidfd(child.pidfd(), &info, WEXITED | WNOHANG | WNOWAIT); }) != 0 ||
      info.si_pid == 0) {
    return "status unknown";
  }
  return backend::to_exit_status(info).to_string();
}

// Start suspended, after a successful execve: the child was traced by this
// (the tracer) thread and stops at the post-exec SIGTRAP, before the
// program's first instruction. That stop *is* the first suspension of the
// Task: the tracer keeps it, and the last Task::resume() gives the child its
// signal mask back and detaches, suppressing the SIGTRAP.
//
// The stop is seen as such (PTRACE_GETSIGINFO), not by its wait report: an
// application's SIGCHLD handler calling waitpid(-1) may take that report
// (the tracer's rules, tracer.hpp). The wait is short: the kernel queues the
// SIGTRAP as execve completes, and every other signal stays blocked.
//
// The rest of execve after the vfork wake-up (the new program's mappings,
// then the SIGTRAP) takes ~20-40 us here (a raw PTRACE_TRACEME child waited
// for with a blocking waitpid: stop 38 us after the clone, 18 us after the
// vfork wake-up, one CPU). The looks first yield the CPU, for up to
// kExecStopYield: on a shared CPU the child runs at once and this thread is
// back when it stops; with a CPU to spare, the looks spin that long at most.
// Then naps, growing. Naps alone made the start-suspended spawn 155 us on
// one CPU (bench/run's taskport_suspended: each wake-up took the CPU from
// the child mid-exec); yielding, ~50 us.
std::unique_ptr<backend::Suspension> await_exec_stop(const Child& child, std::uint64_t mask,
                                                     const std::string& program) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + kExecStopTimeout;
  auto nap = std::chrono::microseconds(2);
  // Takes the stop's report, so that no later wait of the application or
  // of Child (a WEXITED wait reports a ptrace stop too) takes it for an
  // exit; WSTOPPED alone never reaps.
  const auto take_report = [&] {
    siginfo_t info{};
    posix::retry_on_eintr(
        [&] { return backend::waitid_pidfd(child.pidfd(), &info, WSTOPPED | WNOHANG | __WNOTHREAD); });
  };
  while (true) {
    take_report();
    int signal = 0;
    if (backend::in_ptrace_stop(child.pid(), &signal)) {
      take_report();  // the report, if the stop came after the first look
      break;
    }
    if (backend::exited(child.pidfd())) {
      throw Error(ECHILD, Step::await_exec_stop, program,
                  "child ended right after execve: " + how_it_ended(child));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now > deadline) throw Error(ETIMEDOUT, Step::await_exec_stop, program, "no post-exec stop");
    if (now - start < kExecStopYield) {
      ::sched_yield();
      continue;
    }
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(500));
  }
  auto s = std::make_unique<backend::Suspension>();
  s->pid = child.pid();
  s->pidfd = child.pidfd();
  s->leader_is_child = true;
  s->threads[child.pid()];
  s->from_exec = true;
  s->exec_mask = mask;
  backend::adopt(*s, program);
  return s;
}

// clone + the child's report: returns a child that has exec'd, or reaps the
// child and throws what it reported.
Cloned launch(ChildContext& ctx, ChildReport& report, const std::string& program) {
  Cloned c = clone_child(ctx, program);
#if defined(TASKPORT_SPAWN_TIMING)
  for (auto p : {backend::timing::child_entry, backend::timing::child_signals, backend::timing::child_exec})
    taskport_spawn_stamps[p] = report.stamps[p];
#endif
  if (!c.pidfd && !report.failed) {
    // Fallback path, and the child got past sending its pidfd without the
    // message arriving: only a broken socket could do that.
    report.failed = true;
    report.step = Step::receive_pidfd;
    report.error = EPROTO;
  }
  if (report.failed) {
    reap_failed(c);
    // A working directory that cannot be entered is named (as CPython does).
    if (report.step == Step::chdir && ctx.plan->cwd != nullptr)
      throw Error(report.error, report.step, program, ctx.plan->cwd);
    throw Error(report.error, report.step, program);
  }
  if (report.step != Step::execve) {
    // The child died (a signal, or a hook called _exit) before execve.
    auto status = reap_failed(c);
    std::string how = status ? status->to_string() : std::string("unknown status");
    throw Error(ECANCELED, Step::child_died, program,
                std::string("during ") + to_string(report.step) + ": " + how);
  }
  return c;
}

std::uint64_t current_signal_mask() {
  std::uint64_t mask = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &mask, backend::kKernelSigsetSize);
  return mask;
}

// The Task's own pidfd: a second descriptor, so that Child and Task close
// theirs independently.
UniqueFd duplicate_pidfd(int pidfd, const std::string& program) {
  UniqueFd fd(::fcntl(pidfd, F_DUPFD_CLOEXEC, 3));
  if (!fd) throw Error(errno, Step::duplicate_handle, program);
  return fd;
}

// The child, and what spawn_with_task makes its Task of.
struct Spawned {
  Child child;
  UniqueFd task_pidfd;                              // with a Task
  std::unique_ptr<backend::Suspension> suspension;  // start suspended: the post-exec stop
};

// Clones the child and, once it has exec'd, takes what the Task needs; a
// failure after the exec kills and reaps the child.
Spawned start(ChildContext& ctx, ChildReport& report, ExecPlan& plan, bool want_task, std::uint64_t mask,
              const std::string& program) {
  Cloned c = launch(ctx, report, program);
  Spawned s{detail::ChildAccess::make(c.pid, std::move(c.pidfd), program, std::move(plan.parent_ends[0]),
                                      std::move(plan.parent_ends[1]), std::move(plan.parent_ends[2])),
            UniqueFd(), nullptr};
  common::ChildGuard guard(s.child);
  if (want_task) s.task_pidfd = duplicate_pidfd(s.child.pidfd(), program);
  TASKPORT_STAMP(child_made);
  if (plan.traceme) s.suspension = await_exec_stop(s.child, mask, program);
  guard.dismiss();
  return s;
}

Spawned spawn_linux(const Command& cmd, bool want_task) {
  const std::string& program = cmd.get_program();
  common::validate_command(cmd, want_task);
  backend::retry_background_reaps();  // the reaper's fallback (reaper.hpp)
  TASKPORT_STAMP(validated);

  ExecPlan plan;
  backend::build_exec_plan(cmd, plan);
  std::vector<int> scratch(plan.redirects.size(), -1);
  ChildReport report;
  ChildContext ctx;
  ctx.plan = &plan;
  ctx.report = &report;
  ctx.scratch = &scratch;
  TASKPORT_STAMP(planned);

  if (!plan.traceme) return start(ctx, report, plan, want_task, 0, program);
  // Start suspended: the child arms PTRACE_TRACEME and keeps every signal
  // but SIGTRAP blocked through execve (child_exec.cpp says why); the
  // thread that clones becomes its tracer, so clone on the tracer thread,
  // which keeps the post-exec SIGTRAP stop as the Task's first suspension.
  // The last Task::resume() restores the signal mask and detaches.
  const std::uint64_t mask = current_signal_mask();
  std::optional<Spawned> s;
  backend::run_on_tracer([&] { s.emplace(start(ctx, report, plan, want_task, mask, program)); }, Step::clone,
                         program);
  return std::move(*s);
}

}  // namespace

Child Command::spawn() const { return std::move(spawn_linux(*this, false).child); }

std::pair<Child, Task> Command::spawn_with_task() const {
  if (detail::CommandAccess::task_via_preload(*this))
    return backend::rendezvous::spawn_with_task_via_preload(*this);
  TASKPORT_STAMP(entry);
  Spawned s = spawn_linux(*this, true);
  auto impl = std::make_unique<Task::Impl>(std::move(s.task_pidfd), s.child.pid(), get_program());
  if (s.suspension) {
    impl->suspend_count = 1;
    impl->suspension = std::move(s.suspension);
    impl->suspension_generation = common::fork_generation();
  }
  TASKPORT_STAMP(done);
  return {std::move(s.child), Task(std::move(impl))};
}

}  // namespace taskport
