// SPDX-License-Identifier: MIT
#include "linux/tracer.hpp"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/never_destroyed.hpp"
#include "linux/proc_access.hpp"
#include "linux/proc_parse.hpp"
#include "linux/sys.hpp"
#include "posix/eintr.hpp"

namespace taskport::backend {
namespace {

// A thread that does not reach its stop within this time (e.g. stuck in an
// uninterruptible sleep) fails the suspend instead of hanging the caller.
constexpr auto kStopTimeout = std::chrono::seconds(5);
// While anything is suspended, the tracer looks this often for threads of
// suspended tasks that exited: a traced thread stays a zombie until its
// tracer reaps it, and would keep the whole process from being reaped.
constexpr auto kExitScanInterval = std::chrono::milliseconds(20);

class Tracer {
 public:
  void run(const std::function<void()>& job) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (std::this_thread::get_id() == thread_id_ && owner_ == ::getpid()) {
      lock.unlock();
      job();
      return;
    }
    Pending pending{&job, false, nullptr};
    start_locked();
    queue_.push_back(&pending);
    wake_.notify_one();
    done_.wait(lock, [&] { return pending.finished; });
    if (pending.error) std::rethrow_exception(pending.error);
  }

  // Tracer thread only.
  void watch(Suspension* s) { active_.insert(s); }
  void unwatch(Suspension* s) { active_.erase(s); }

 private:
  struct Pending {
    const std::function<void()>* job;
    bool finished = false;
    std::exception_ptr error;
  };

  void start_locked() {
    // After fork() the child process has this object but not the thread.
    if (owner_ == ::getpid()) return;
    owner_ = ::getpid();
    queue_.clear();
    active_.clear();
    // The thread runs with every signal blocked: process-directed signals
    // must go to the application's threads, never run a handler here.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    std::thread t([this] { loop(); });
    thread_id_ = t.get_id();
    t.detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      if (active_.empty()) {
        wake_.wait(lock, [&] { return !queue_.empty(); });
      } else {
        wake_.wait_for(lock, kExitScanInterval, [&] { return !queue_.empty(); });
      }
      while (!queue_.empty()) {
        Pending* p = queue_.front();
        queue_.pop_front();
        lock.unlock();
        try {
          (*p->job)();
        } catch (...) {
          p->error = std::current_exception();
        }
        lock.lock();
        p->finished = true;
        done_.notify_all();
      }
      lock.unlock();
      for (Suspension* s : active_) reap_exited_threads(*s);
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::deque<Pending*> queue_;
  std::set<Suspension*> active_;  // tracer thread only
  pid_t owner_ = 0;
  std::thread::id thread_id_;

 public:
  static void reap_exited_threads(Suspension& s);
};

// Never destroyed: the detached thread may run until the process exits.
Tracer& tracer() { return common::never_destroyed<Tracer>(); }

long ptrace_raw(long request, pid_t tid, long addr, long data) {
  return ::syscall(SYS_ptrace, request, tid, addr, data);
}

// A traced thread that exited is a zombie only its tracer can reap. The main
// thread of our own child is left alone: its exit status belongs to Child.
bool reap_exited_thread(const Suspension& s, pid_t tid) {
  if (tid == s.pid && s.leader_is_child) return false;
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(tid), &info, WEXITED | WNOHANG | __WALL) == 0 && info.si_pid != 0;
}

void Tracer::reap_exited_threads(Suspension& s) {
  for (auto it = s.threads.begin(); it != s.threads.end();) {
    it = reap_exited_thread(s, it->first) ? s.threads.erase(it) : std::next(it);
  }
}

std::vector<pid_t> list_threads(const Task::Impl& task) {
  const int dir = backend::open_proc_file(task, "task", O_RDONLY | O_DIRECTORY, Step::suspend);
  if (dir < 0) throw backend::access_error(task, errno, Step::suspend, "/proc/<pid>/task");
  DIR* d = ::fdopendir(dir);
  if (d == nullptr) {
    const int error = errno;
    ::close(dir);
    throw backend::access_error(task, error, Step::suspend, "/proc/<pid>/task");
  }
  std::vector<pid_t> tids;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
      tids.push_back(static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)));
  }
  ::closedir(d);
  return tids;
}

// True if the kernel no longer lists the thread as running: its
// /proc/<pid>/task/<tid> is gone, or it is a zombie.
bool thread_exited(const Task::Impl& task, pid_t tid) {
  const int saved = errno;
  std::string stat;
  const std::string name = "task/" + std::to_string(tid) + "/stat";
  bool exited = true;
  try {
    if (backend::try_read_proc_file(task, name.c_str(), stat, Step::suspend)) {
      const auto parsed = parse_stat(stat);
      exited = !parsed || parsed->state == 'Z' || parsed->state == 'X';
    } else {
      exited = false;  // readable only with access we lack: a real refusal
    }
  } catch (const Error&) {
    exited = true;  // gone
  }
  errno = saved;
  return exited;
}

// True if /proc names the calling thread as the thread's tracer.
bool traced_by_this_thread(const Task::Impl& task, pid_t tid) {
  std::string status;
  const std::string name = "task/" + std::to_string(tid) + "/status";
  try {
    if (!backend::try_read_proc_file(task, name.c_str(), status, Step::suspend)) return false;
  } catch (const Error&) {
    return false;
  }
  const auto tracer = key_value(status, "TracerPid");
  return tracer && static_cast<long>(*tracer) == ::syscall(SYS_gettid);
}

enum class Stop { stopped, exited, timed_out };

// Waits for the ptrace stop of a just-interrupted thread (or its exit).
// Records a signal-delivery stop's signal so that resume_all() can deliver
// it: suspending must not steal the target's signals.
Stop wait_for_stop(const Task::Impl& task, Suspension& s, pid_t tid) {
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  auto nap = std::chrono::microseconds(5);
  while (true) {
    siginfo_t info{};
    if (posix::retry_on_eintr([&] {
          return ::waitid(P_PID, static_cast<id_t>(tid), &info, WSTOPPED | WNOHANG | __WALL);
        }) != 0) {
      // Only /proc decides that a thread is gone: waitid's ECHILD alone has
      // been seen here for a thread that was attached and alive.
      if (thread_exited(task, tid)) return Stop::exited;
      info.si_pid = 0;
    }
    if (info.si_pid != 0) {
      const int sig = info.si_status & 0xff;
      const int event = info.si_status >> 8;
      // Event stops (the interrupt, or a group stop) carry no signal to
      // deliver; a signal-delivery stop carries the signal being delivered.
      if (event == 0 && sig != SIGTRAP) s.threads[tid].pending_signal = sig;
      return Stop::stopped;
    }
    if (reap_exited_thread(s, tid)) return Stop::exited;
    if (tid == s.pid && backend::reaped(s.pidfd)) return Stop::exited;
    if (std::chrono::steady_clock::now() > deadline) return Stop::timed_out;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(1000));
  }
}

bool is_our_child(const Task::Impl& task) {
  std::string stat;
  if (!backend::try_read_proc_file(task, "stat", stat, Step::suspend)) return false;
  const auto parsed = parse_stat(stat);
  return parsed && static_cast<pid_t>(parsed->ppid) == ::getpid();
}

// PTRACE_SEIZE + PTRACE_INTERRUPT of a thread seen for the first time.
// Returns 0 (interrupted, or gone: then in `gone`), or the errno of a
// refusal.
int interrupt_thread(const Task::Impl& task, Suspension& s, pid_t tid, std::set<pid_t>& gone) {
  if (ptrace_raw(PTRACE_SEIZE, tid, 0, 0) != 0) {
    const int error = errno;
    // ESRCH: exited between the listing and now. EPERM is also what the
    // kernel answers for a thread that has exited but is still listed
    // (exit_state set), and for one this thread already traces (then it is
    // ours to stop); only other EPERMs are refusals.
    if (error == ESRCH || (error == EPERM && thread_exited(task, tid))) {
      gone.insert(tid);
      return 0;
    }
    if (error != EPERM || !traced_by_this_thread(task, tid)) return error;
  }
  s.threads[tid];
  if (ptrace_raw(PTRACE_INTERRUPT, tid, 0, 0) != 0 && errno != ESRCH) return errno;
  return 0;
}

// One round of suspend_all: interrupts every thread listed now that is
// neither stopped yet nor gone, then waits for each one's stop. `more`:
// there were such threads (a thread may have started others meanwhile).
// Returns 0, or the errno that ends the suspend.
int stop_new_threads(const Task::Impl& task, Suspension& s, std::set<pid_t>& gone, bool& more) {
  std::vector<pid_t> fresh;
  for (pid_t tid : list_threads(task)) {
    if (s.threads.count(tid) == 0 && gone.count(tid) == 0) fresh.push_back(tid);
  }
  more = !fresh.empty();
  for (pid_t tid : fresh) {
    if (const int error = interrupt_thread(task, s, tid, gone); error != 0) return error;
  }
  for (pid_t tid : fresh) {
    if (s.threads.count(tid) == 0) continue;
    switch (wait_for_stop(task, s, tid)) {
      case Stop::stopped: break;
      case Stop::exited:
        s.threads.erase(tid);
        gone.insert(tid);
        break;
      case Stop::timed_out: return ETIMEDOUT;
    }
  }
  return 0;
}

}  // namespace

void run_on_tracer(const std::function<void()>& job) { tracer().run(job); }

void adopt(Suspension& s) { tracer().watch(&s); }

std::unique_ptr<Suspension> suspend_all(const Task::Impl& task) {
  auto s = std::make_unique<Suspension>();
  s->pid = task.pid;
  s->pidfd = task.pidfd.get();
  s->leader_is_child = is_our_child(task);
  std::set<pid_t> gone;
  int error = 0;
  try {
    // Until a listing shows no thread left running.
    for (bool more = true; more && error == 0;) error = stop_new_threads(task, *s, gone, more);
  } catch (...) {
    resume_all(std::move(s));  // the listing failed: let go of every thread stopped so far
    throw;
  }
  if (error != 0) {
    resume_all(std::move(s));
    throw backend::access_error(task, error, Step::suspend, "PTRACE_SEIZE/PTRACE_INTERRUPT");
  }
  if (s->threads.empty()) throw Error(ESRCH, Step::suspend, task.program, "the task has exited");
  tracer().watch(s.get());
  return s;
}

void resume_all(std::unique_ptr<Suspension> s) noexcept {
  if (!s) return;
  tracer().unwatch(s.get());
  for (const auto& [tid, thread] : s->threads) {
    if (s->from_exec && tid == s->pid) {
      ptrace_raw(PTRACE_SETSIGMASK, tid, static_cast<long>(backend::kKernelSigsetSize),
                 reinterpret_cast<long>(&s->exec_mask));
    }
    // Detaching lets the thread run; a signal intercepted while stopping is
    // delivered now, as if it had never been caught.
    if (ptrace_raw(PTRACE_DETACH, tid, 0, thread.pending_signal) != 0) reap_exited_thread(*s, tid);
  }
}

#if defined(__x86_64__) || defined(__aarch64__)
// Registers mirrors the kernel's NT_PRSTATUS layout (user_regs_struct).
#if defined(__x86_64__)
static_assert(sizeof(Registers) == 27 * 8, "x86_64 user_regs_struct is 27 registers");
#else
static_assert(sizeof(Registers) == 34 * 8, "arm64 user_pt_regs is x0-x30, sp, pc, pstate");
#endif

Registers get_registers(const Suspension& s, pid_t tid, const std::string& program) {
  if (s.threads.count(tid) == 0) {
    throw Error(ESRCH, Step::read_registers, program,
                "thread " + std::to_string(tid) + " is not a stopped thread of this task");
  }
  Registers regs{};
  iovec iov{&regs, sizeof regs};
  if (ptrace_raw(PTRACE_GETREGSET, tid, NT_PRSTATUS, reinterpret_cast<long>(&iov)) != 0) {
    throw Error(errno, Step::read_registers, program, "PTRACE_GETREGSET thread " + std::to_string(tid));
  }
  if (iov.iov_len != sizeof regs) {
    throw Error(EIO, Step::read_registers, program, "unexpected NT_PRSTATUS size");
  }
  return regs;
}
#endif

}  // namespace taskport::backend
