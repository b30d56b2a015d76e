// SPDX-License-Identifier: MIT
// Compiled without sanitizers: see the invariant in child_exec.hpp.
#include "linux/child_exec.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "linux/sys.hpp"
#include "posix/command_env.hpp"
#include "posix/socket_message.hpp"

// close_range (Linux 5.9) has number 436 on every architecture (the unified
// numbering of new system calls since 5.1); glibc 2.36's headers know it,
// older ones may not.
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

namespace taskport::backend {
namespace {

// The kernel's struct sigaction for rt_sigaction (not glibc's: glibc's
// sigaction refuses the two real-time signals it reserves for itself, and
// the child must reset those too).
struct KernelSigaction {
  __sighandler_t handler;
  unsigned long flags;
  void* restorer;
  std::uint64_t mask;
};

constexpr int kMaxSignal = 64;

[[noreturn]] void fail(ChildContext* c, Step step, int error) noexcept {
  c->report->step = step;
  c->report->error = error;
  c->report->failed = true;
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

long sys(long nr, long a = 0, long b = 0, long c = 0, long d = 0) noexcept {
  return ::syscall(nr, a, b, c, d);
}

// CLONE_PIDFD was refused: send a pidfd of ourselves to the parent. Done
// first, so that the parent can reap us by pidfd even if a later step fails.
void send_own_pidfd(ChildContext* c) noexcept {
  c->report->step = Step::receive_pidfd;
  const long self = sys(SYS_getpid);
  const int pidfd = static_cast<int>(sys(SYS_pidfd_open, self, 0));
  if (pidfd < 0) fail(c, Step::receive_pidfd, errno);
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  std::memset(control, 0, sizeof control);
  char byte = 'p';
  struct iovec iov = {&byte, 1};
  struct msghdr msg = posix::message_header(&iov, 1, control, sizeof control);
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cm), &pidfd, sizeof(int));
  if (sys(SYS_sendmsg, c->pidfd_socket, reinterpret_cast<long>(&msg), MSG_NOSIGNAL) != 1) {
    fail(c, Step::receive_pidfd, errno);
  }
  sys(SYS_close, pidfd);
}

// Every handler the parent installed becomes SIG_DFL, so no parent handler
// can ever run in the child (signals are blocked now; they are unblocked
// just before execve). SIG_IGN stays, as execve itself would keep it.
void reset_signal_handlers(ChildContext* c) noexcept {
  c->report->step = Step::signal_reset;
  const KernelSigaction dfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig <= kMaxSignal; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction old{};
    if (sys(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&old), backend::kKernelSigsetSize) != 0)
      continue;
    if (old.handler == SIG_DFL || old.handler == SIG_IGN) continue;
    if (sys(SYS_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0, backend::kKernelSigsetSize) != 0) {
      fail(c, Step::signal_reset, errno);
    }
  }
}

// A close-on-exec copy of `source` on a number that is no placement's
// child_fd, for when there is no room above them all (F_DUPFD_CLOEXEC at the
// floor said EINVAL: floor >= RLIMIT_NOFILE, or EMFILE: nothing free from
// there): the lowest free number that is not a target. A copy that lands on
// a target is left there — the second phase overwrites every target — and
// the next lowest is tried; there are only as many such numbers as targets.
long park_below(ChildContext* c, int source) noexcept {
  const auto& targets = c->plan->child_fds_sorted;
  while (true) {
    const long fd = sys(SYS_fcntl, source, F_DUPFD_CLOEXEC, 0);
    if (fd < 0 || !std::binary_search(targets.begin(), targets.end(), static_cast<int>(fd))) return fd;
  }
}

// Two phases so that no mapping can clobber the source of another (e.g. a
// swap of fds 3 and 4): first every source is duplicated on a number that is
// no placement's target (close-on-exec, so the copies vanish at execve):
// above every number involved, or where there is no room above, below them,
// then each copy is placed at its number without close-on-exec.
void redirect_fds(ChildContext* c) noexcept {
  c->report->step = Step::redirect_fds;
  const auto& redirects = c->plan->redirects;
  int* scratch = c->scratch->data();
  for (size_t i = 0; i < redirects.size(); ++i) {
    long fd = sys(SYS_fcntl, redirects[i].source_fd, F_DUPFD_CLOEXEC, c->plan->scratch_fd_floor);
    if (fd < 0 && (errno == EINVAL || errno == EMFILE)) fd = park_below(c, redirects[i].source_fd);
    if (fd < 0) fail(c, Step::redirect_fds, errno);
    scratch[i] = static_cast<int>(fd);
  }
  for (size_t i = 0; i < redirects.size(); ++i) {
    if (sys(SYS_dup3, scratch[i], redirects[i].child_fd, 0) < 0) fail(c, Step::redirect_fds, errno);
  }
}

void run_hooks(ChildContext* c) noexcept {
  c->report->step = Step::pre_exec_hook;
  for (const auto& hook : *c->plan->hooks) {
    const int rc = hook();
    if (rc != 0) fail(c, Step::pre_exec_hook, rc);
  }
}

// ---- close_other_fds ---------------------------------------------------------
// The numbers to keep are the plan's (0-2 and every placement), plus the
// CLONE_PIDFD fallback socket: close-on-exec, so it goes at execve anyway.

bool kept(const ChildContext* c, unsigned fd) noexcept {
  if (c->pidfd_socket >= 0 && fd == static_cast<unsigned>(c->pidfd_socket)) return true;
  for (const int k : c->plan->options.keep_fds) {
    if (static_cast<unsigned>(k) == fd) return true;
  }
  return false;
}

// One close per open descriptor that is not kept, as /proc/self/fd lists
// them: for kernels without close_range (before 5.9) or a seccomp filter
// that refuses it. The listing follows descriptor numbers, so closing the
// ones already listed does not disturb it. Without /proc: every number below
// RLIMIT_NOFILE (at most fs.nr_open's default, 2^20).
void close_listed_fds(ChildContext* c) noexcept {
  struct Dirent64 {
    std::uint64_t ino;
    std::int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[1];
  };
  const long dir =
      sys(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/proc/self/fd"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    struct {
      std::uint64_t cur, max;
    } limit{};
    if (sys(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, reinterpret_cast<long>(&limit)) < 0)
      fail(c, Step::close_fds, errno);
    const std::uint64_t end = limit.cur < (1U << 20) ? limit.cur : (1U << 20);
    for (unsigned fd = 3; fd < end; ++fd) {
      if (!kept(c, fd)) sys(SYS_close, fd);
    }
    return;
  }
  alignas(8) char buf[4096];
  while (true) {
    const long n = sys(SYS_getdents64, dir, reinterpret_cast<long>(buf), sizeof buf);
    if (n < 0) fail(c, Step::close_fds, errno);
    if (n == 0) break;
    for (long at = 0; at < n;) {
      const auto* d = reinterpret_cast<const Dirent64*>(buf + at);
      at += d->reclen;
      unsigned fd = 0;
      const char* p = d->name;
      if (*p < '0' || *p > '9') continue;  // "." and ".."
      for (; *p >= '0' && *p <= '9'; ++p) fd = fd * 10 + static_cast<unsigned>(*p - '0');
      if (fd != static_cast<unsigned>(dir) && !kept(c, fd)) sys(SYS_close, fd);
    }
  }
  sys(SYS_close, dir);
}

// close_range over [first, last], around the fallback socket if it lies in
// between. Returns 0 or the errno of the refusal.
int close_span(ChildContext* c, unsigned first, unsigned last) noexcept {
  const int s = c->pidfd_socket;
  if (s >= 0 && static_cast<unsigned>(s) >= first && static_cast<unsigned>(s) <= last) {
    if (static_cast<unsigned>(s) > first) {
      if (const int error = close_span(c, first, static_cast<unsigned>(s) - 1); error != 0) return error;
    }
    return static_cast<unsigned>(s) < last ? close_span(c, static_cast<unsigned>(s) + 1, last) : 0;
  }
  return sys(SYS_close_range, first, last, 0) == 0 ? 0 : errno;
}

// Every gap between the kept numbers goes with one close_range.
void close_other_fds(ChildContext* c) noexcept {
  c->report->step = Step::close_fds;
  unsigned first = 0;
  for (size_t i = 0; i <= c->plan->options.keep_fds.size(); ++i) {
    const bool last_gap = i == c->plan->options.keep_fds.size();
    const auto keep = last_gap ? ~0U : static_cast<unsigned>(c->plan->options.keep_fds[i]);
    if (last_gap || keep > first) {
      const int error = close_span(c, first, last_gap ? ~0U : keep - 1);
      if (error == ENOSYS || error == EPERM) return close_listed_fds(c);
      if (error != 0) fail(c, Step::close_fds, error);
    }
    if (!last_gap) first = keep + 1;
  }
}

// ---- rlimit, groups, gid, uid -------------------------------------------------

void set_limits(ChildContext* c) noexcept {
  c->report->step = Step::setrlimit;
  for (const ChildOptions::Limit& l : c->plan->options.limits) {
    struct {
      std::uint64_t cur, max;
    } value{l.soft, l.hard};
    if (sys(SYS_prlimit64, 0, l.resource, reinterpret_cast<long>(&value), 0) < 0) {
      fail(c, Step::setrlimit, errno);
    }
  }
}

// Raw system calls on purpose: glibc's setgroups/setresgid/setresuid
// change the credentials of every thread of the process (they signal each
// one, SIGSETXID) — here that would be the parent's threads, whose memory
// and thread list we share. The raw calls change this task only.
void set_credentials(ChildContext* c) noexcept {
  const ChildOptions& o = c->plan->options;
  if (o.set_groups || o.drop_groups) {
    c->report->step = Step::setgroups;
    const long rc =
        sys(SYS_setgroups, static_cast<long>(o.groups.size()), reinterpret_cast<long>(o.groups.data()));
    // Dropping the groups for uid() is best effort: a spawner without
    // CAP_SETGID has no groups to give away beyond its own.
    if (rc < 0 && !(o.drop_groups && errno == EPERM)) fail(c, Step::setgroups, errno);
  }
  if (o.set_gid) {
    c->report->step = Step::setgid;
    if (sys(SYS_setresgid, o.gid, o.gid, o.gid) < 0) fail(c, Step::setgid, errno);
  }
  if (o.set_uid) {
    c->report->step = Step::setuid;
    if (sys(SYS_setresuid, o.uid, o.uid, o.uid) < 0) fail(c, Step::setuid, errno);
  }
}

// execve of `path`; a file the kernel cannot execute (ENOEXEC: no #! line,
// not ELF) is run by /bin/sh, as execvp does. Returns the errno (it returns
// only if both failed).
int exec_one(ExecPlan* plan, const char* path) noexcept {
  const long envp = reinterpret_cast<long>(plan->envp);
  sys(SYS_execve, reinterpret_cast<long>(path), reinterpret_cast<long>(plan->argv.data()), envp);
  if (errno == ENOEXEC) {
    plan->sh_argv[1] = const_cast<char*>(path);
    sys(SYS_execve, reinterpret_cast<long>(plan->sh_argv[0]), reinterpret_cast<long>(plan->sh_argv.data()),
        envp);
  }
  return errno;
}

// The program; for a PATH search, the later candidates too, each only when
// execve of the one before failed with an error execvp goes on after
// (posix::path_search_goes_on). The error is execvp's: the one that ended
// the search, or EACCES if a candidate said EACCES, else the last.
[[noreturn]] void exec_program(ChildContext* c) noexcept {
  c->report->step = Step::execve;
  ExecPlan* plan = c->plan;
  int error = exec_one(plan, plan->path.c_str());
  bool saw_eacces = plan->saw_eacces;
  for (const std::string& candidate : plan->later_candidates) {
    if (!posix::path_search_goes_on(error)) break;
    saw_eacces = saw_eacces || error == EACCES;
    error = exec_one(plan, candidate.c_str());
  }
  if (posix::path_search_goes_on(error) && (saw_eacces || error == EACCES)) error = EACCES;
  fail(c, Step::execve, error);
}

}  // namespace

extern "C" int taskport_child_entry(void* arg) noexcept {
  auto* c = static_cast<ChildContext*>(arg);
  TASKPORT_CHILD_STAMP(c->report, child_entry);
  const ExecPlan& plan = *c->plan;

  if (c->pidfd_socket >= 0) send_own_pidfd(c);
  if (!c->handlers_reset_by_kernel) reset_signal_handlers(c);
  TASKPORT_CHILD_STAMP(c->report, child_signals);
  if (plan.setsid) {
    c->report->step = Step::setsid;
    if (sys(SYS_setsid) < 0) fail(c, Step::setsid, errno);
  }
  if (plan.setpgid) {
    c->report->step = Step::setpgid;
    if (sys(SYS_setpgid, 0, plan.pgid) < 0) fail(c, Step::setpgid, errno);
  }
  if (plan.cwd != nullptr) {
    c->report->step = Step::chdir;
    if (sys(SYS_chdir, reinterpret_cast<long>(plan.cwd)) < 0) fail(c, Step::chdir, errno);
  }
  if (!plan.redirects.empty()) redirect_fds(c);
  if (plan.options.close_fds) close_other_fds(c);
  if (!plan.options.limits.empty()) set_limits(c);
  if (plan.options.set_groups || plan.options.set_uid || plan.options.set_gid) set_credentials(c);
  if (!plan.hooks->empty()) run_hooks(c);

  c->report->step = Step::signal_mask;
  if (plan.traceme) {
    // Start suspended: the post-exec SIGTRAP stops us before the program's
    // first instruction. Every other signal stays blocked through execve:
    // a traced child stops on *any* signal, and a stop before execve would
    // deadlock with the parent, which waits in clone(CLONE_VFORK) for our
    // execve. The parent restores the real mask (PTRACE_SETSIGMASK) while
    // we sit in the SIGTRAP stop.
    c->report->step = Step::ptrace_traceme;
    if (sys(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) < 0) fail(c, Step::ptrace_traceme, errno);
    std::uint64_t only_trap = 1ULL << (SIGTRAP - 1);
    if (sys(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&only_trap), 0,
            backend::kKernelSigsetSize) < 0) {
      fail(c, Step::signal_mask, errno);
    }
  } else if (sys(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&c->parent_mask), 0,
                 backend::kKernelSigsetSize) < 0) {
    fail(c, Step::signal_mask, errno);
  }
  TASKPORT_CHILD_STAMP(c->report, child_exec);
  exec_program(c);
}

}  // namespace taskport::backend
