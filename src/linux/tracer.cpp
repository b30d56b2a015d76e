// SPDX-License-Identifier: MIT
#include "linux/tracer.hpp"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/fork_generation.hpp"
#include "linux/proc_access.hpp"
#include "linux/proc_parse.hpp"
#include "linux/sys.hpp"
#include "posix/eintr.hpp"
#include "posix/library_thread.hpp"
#include "posix/read_to_end.hpp"

namespace taskport::backend {
namespace {

// A thread that does not reach its stop within this time (e.g. stuck in an
// uninterruptible sleep) fails the suspend instead of hanging the caller.
constexpr auto kStopTimeout = std::chrono::seconds(5);
// While anything is suspended, the tracer looks this often for threads of
// suspended tasks that exited: a traced thread stays a zombie until its
// tracer reaps it, and would keep the whole process from being reaped.
constexpr auto kScanInterval = std::chrono::milliseconds(20);
// Threads kept after a resume are looked at again after kScanInterval, then
// less and less often, up to this (a zombie main thread waits for its
// process's other threads, which may run for long).
constexpr auto kMaxKeptInterval = std::chrono::milliseconds(1000);
// Naps of wait_for_stop before it also asks /proc whether the thread is a
// zombie (a zombie main thread reports nothing while other threads live),
// and from then on between two such looks.
constexpr int kNapsBeforeProc = 8;
// wait_for_stop's naps double from 5 us up to this. There is no wait for a
// stop that cannot hang (an application's waitpid(-1) may take the report),
// so it looks; a long nap is latency added to every suspend of a task whose
// threads are slow to stop (busy threads on a loaded CPU), a short one a
// few system calls more per look.
constexpr auto kMaxNap = std::chrono::microseconds(200);
// While a process is held for its exit, the tracer looks this often for
// stops to pass on (a pending wait report: one waitid) — the latency a held
// process's signals, new threads and exits get...
constexpr auto kHoldInterval = std::chrono::milliseconds(1);
// ...and this often at every held thread itself, for a stop whose report
// someone else's waitpid(-1) took.
constexpr auto kHoldSweepInterval = std::chrono::milliseconds(50);
// How long a held process's main thread may be kept in its exit stop while
// other threads live (decide_exit).
constexpr auto kLeaderExitGrace = std::chrono::milliseconds(100);
// The options of a held thread: stop at exit, and attach new threads with
// the same options (kernel/ptrace.c ptrace_init_task).
constexpr long kHoldOptions = PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE;

// Waits of the tracer for its tracees: __WALL (non-leader threads are
// "clone" children), __WNOTHREAD (only this thread's own tracees and
// children: never a child of an application thread).
constexpr int kTraceeWait = __WALL | __WNOTHREAD;

long ptrace_raw(long request, pid_t tid, long addr, long data) {
  return ::syscall(SYS_ptrace, request, tid, addr, data);
}

pid_t gettid_raw() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// ---- what the kernel says about one tracee (tracer thread only) -------------------

enum class Report { none, stopped, exited, gone };

// What a wait would report for the tracee `tid`, without consuming it
// (WNOWAIT). gone: it is no tracee or child of this thread any more (reaped
// by another thread's wait, e.g. an application's waitpid(-1)).
Report peek(pid_t tid) noexcept {
  siginfo_t info{};
  const int rc = posix::retry_on_eintr([&] {
    return ::waitid(P_PID, static_cast<id_t>(tid), &info, WEXITED | WNOHANG | WNOWAIT | kTraceeWait);
  });
  if (rc != 0) return errno == ECHILD ? Report::gone : Report::none;
  if (info.si_pid == 0) return Report::none;
  switch (info.si_code) {
    case CLD_EXITED:
    case CLD_KILLED:
    case CLD_DUMPED: return Report::exited;
    default: return Report::stopped;
  }
}

// Reaps the tracee `tid` after peek() said it exited. A zombie can only
// report its exit (the kernel looks at EXIT_ZOMBIE first:
// kernel/exit.c wait_consider_task), so this consumes nothing else.
void reap(pid_t tid) noexcept {
  siginfo_t info{};
  posix::retry_on_eintr(
      [&] { return ::waitid(P_PID, static_cast<id_t>(tid), &info, WEXITED | WNOHANG | kTraceeWait); });
}

// Takes the stop report of `tid` if one is pending (WSTOPPED alone never
// reaps): a report left behind would go to the application's next
// waitpid(-1) as a stopped "child" it never had.
void consume_stop_report(pid_t tid) noexcept {
  siginfo_t info{};
  posix::retry_on_eintr(
      [&] { return ::waitid(P_PID, static_cast<id_t>(tid), &info, WSTOPPED | WNOHANG | kTraceeWait); });
}

// Exits that a wait of this thread could report now, without consuming
// anything: false if there are none (then no suspended thread has exited).
// True as well for a stop whose report is still pending, or an exited child
// of this thread (a start-suspended child whose Child has not reaped it):
// then the suspended threads are looked at one by one.
bool exits_to_report() noexcept {
  siginfo_t info{};
  const int rc = posix::retry_on_eintr(
      [&] { return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | kTraceeWait); });
  return rc == 0 && info.si_pid != 0;
}

// Stops or exits that a wait of this thread could report now, without
// consuming anything (the held processes' quick look).
bool reports_pending() noexcept {
  siginfo_t info{};
  const int rc = posix::retry_on_eintr(
      [&] { return ::waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | kTraceeWait); });
  return rc == 0 && info.si_pid != 0;
}

// The state letter of /proc/<pid>/stat; nullopt once the process is gone.
// By pid: used only for our own child's main thread while it is unreaped
// (its pid cannot be reused), and read again if it was.
std::optional<char> process_state(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string text;
  const int error = fd ? posix::read_to_end(fd.get(), text) : errno;
  if (error == ENOENT || error == ESRCH) return std::nullopt;
  const auto stat = error == 0 ? parse_stat(text) : std::nullopt;
  return stat ? stat->state : '?';
}

// The state letter of thread `tid` of the task (task/<tid>/stat through the
// task's verified /proc directory); nullopt once it is gone. Throws Error
// for any other failure (EMFILE, EACCES): such a thread is not known to be
// gone.
std::optional<char> thread_state(const Task::Impl& task, pid_t tid, Step step = Step::suspend) {
  const std::string name = "task/" + std::to_string(tid) + "/stat";
  std::string text;
  try {
    if (!backend::try_read_proc_file(task, name.c_str(), text, step)) return '?';
  } catch (const Error& e) {
    if (e.errno_value() == ESRCH) return std::nullopt;  // access_error's word for ENOENT/ESRCH: gone
    throw;
  }
  const auto stat = parse_stat(text);
  return stat ? stat->state : '?';
}

bool is_zombie_or_dead(std::optional<char> state) { return !state || *state == 'Z' || *state == 'X'; }

}  // namespace

namespace {

// The ptrace stop a tracee of this thread is in.
struct StopInfo {
  int signo = 0;  // the signal being delivered, or of the event (SIGTRAP; a group stop's signal)
  int event = 0;  // PTRACE_EVENT_*, 0 for a signal-delivery stop
};

bool stop_of(pid_t tid, StopInfo* out) noexcept {
  siginfo_t si{};
  // Succeeds only for a tracee of this thread in a ptrace stop
  // (kernel/ptrace.c ptrace_check_attach): the stop itself, not its wait
  // report, which someone else's waitpid(-1) may have taken.
  if (ptrace_raw(PTRACE_GETSIGINFO, tid, 0, reinterpret_cast<long>(&si)) != 0) return false;
  // An event stop carries si_code = signal | PTRACE_EVENT_* << 8 (SIGTRAP,
  // or a group stop's signal for PTRACE_EVENT_STOP: kernel/signal.c
  // ptrace_do_notify, ptrace_event); a signal-delivery stop the siginfo of
  // the signal being delivered, whose si_code is below 0x100 or negative.
  out->signo = si.si_signo;
  out->event = si.si_code > 0xff && (si.si_code & 0xff) == si.si_signo ? si.si_code >> 8 : 0;
  return true;
}

}  // namespace

bool in_ptrace_stop(pid_t tid, int* signal) noexcept {
  StopInfo st;
  if (!stop_of(tid, &st)) return false;
  *signal = st.event != 0 ? 0 : st.signo;
  return true;
}

namespace {

// ---- letting go of one thread (tracer thread only) --------------------------------

// True once `tid` of `s` is no longer ours: detached (it was in a ptrace
// stop), reaped (a zombie), or gone. Otherwise it is asked to stop (a
// seized thread can only be detached from a stop) and looked at again later.
bool let_go(const Suspension& s, pid_t tid) noexcept {
  int signal = 0;
  if (in_ptrace_stop(tid, &signal) && ptrace_raw(PTRACE_DETACH, tid, 0, signal) == 0) return true;
  const bool childs_leader = tid == s.pid && s.leader_is_child;
  switch (peek(tid)) {
    case Report::gone: return true;
    case Report::exited:
      if (!childs_leader) reap(tid);  // our child's exit status belongs to Child::wait
      return true;
    case Report::stopped: return false;  // stopped since: let go at the next look
    case Report::none: break;
  }
  // Our child's zombie main thread: reported (and reaped by Child) once its
  // other threads are gone.
  try {
    if (childs_leader && is_zombie_or_dead(process_state(s.pid))) return true;
  } catch (...) {
    return false;  // out of memory: look again later
  }
  ptrace_raw(PTRACE_INTERRUPT, tid, 0, 0);
  return false;
}

// Lets go of every thread of `s` that can be; the others stay in it.
void let_go_of_threads(Suspension& s) noexcept {
  for (auto it = s.threads.begin(); it != s.threads.end();) {
    it = let_go(s, it->first) ? s.threads.erase(it) : std::next(it);
  }
}

// A traced thread of a suspended task that exited is a zombie only its
// tracer can reap. The main thread of our own child is left alone: its exit
// status belongs to Child.
void reap_exited_threads(Suspension& s) noexcept {
  for (auto it = s.threads.begin(); it != s.threads.end();) {
    const pid_t tid = it->first;
    const Report r = tid == s.pid && s.leader_is_child ? Report::none : peek(tid);
    if (r == Report::exited) reap(tid);
    it = r == Report::exited || r == Report::gone ? s.threads.erase(it) : std::next(it);
  }
}

// ---- holding a process at its exit (tracer thread only) -------------------------

// Passes on the stop of held thread `tid` as if no tracer were there: a
// signal is delivered, a new thread (its parent's clone event, its own first
// stop) runs on, a group stop stays a group stop (PTRACE_LISTEN) until
// SIGCONT. An exit stop is kept for decide_exit(). `born`: threads the
// kernel attached for the hold (PTRACE_EVENT_CLONE).
void pass_on_stop(ExitHold& h, pid_t tid, const StopInfo& st, std::vector<pid_t>& born) noexcept {
  ExitHold::Thread& t = h.threads.find(tid)->second;  // callers pass threads of `h`
  if (t.needs_options) {
    ptrace_raw(PTRACE_SETOPTIONS, tid, 0, kHoldOptions);
    t.needs_options = false;
  }
  switch (st.event) {
    case 0: ptrace_raw(PTRACE_CONT, tid, 0, st.signo); break;
    case PTRACE_EVENT_CLONE: {
      unsigned long child = 0;
      if (ptrace_raw(PTRACE_GETEVENTMSG, tid, 0, reinterpret_cast<long>(&child)) == 0 && child != 0)
        born.push_back(static_cast<pid_t>(child));
      ptrace_raw(PTRACE_CONT, tid, 0, 0);
      break;
    }
    case PTRACE_EVENT_EXIT:
      if (t.exiting) {
        ptrace_raw(PTRACE_CONT, tid, 0, 0);
      } else if (!t.at_exit) {
        t.at_exit = true;
        t.exit_seen = std::chrono::steady_clock::now();
      }
      break;
    case PTRACE_EVENT_STOP:
      // SIGTRAP: a new thread's first stop (a seized tracee's clone starts
      // with one: kernel/ptrace.c ptrace_init_task), an interrupt of ours
      // left over, or the end of a group stop; any other signal: a group
      // stop, which a tracer must LISTEN to for it to stay one.
      ptrace_raw(st.signo == SIGTRAP ? PTRACE_CONT : PTRACE_LISTEN, tid, 0, 0);
      break;
    default: ptrace_raw(PTRACE_CONT, tid, 0, 0); break;
  }
  consume_stop_report(tid);
}

// A thread of `h` that has not stopped at its exit: true while it lives.
// Erases it once it has ended (reaping it if it is ours to reap).
bool still_lives(ExitHold& h, std::map<pid_t, ExitHold::Thread>::iterator& it) {
  const pid_t tid = it->first;
  const bool childs_leader = tid == h.pid && h.leader_is_child;
  switch (childs_leader ? Report::none : peek(tid)) {
    case Report::exited: reap(tid); [[fallthrough]];
    case Report::gone: it = h.threads.erase(it); return false;
    default: break;
  }
  // A zombie main thread reports nothing while other threads live.
  if (is_zombie_or_dead(thread_state(*h.task, tid, Step::hold_at_exit))) {
    ++it;
    return false;
  }
  ++it;
  return true;
}

// Takes in the threads of `h`'s process that the hold has not seen born:
// the kernel attaches a traced thread's new thread at the clone
// (kernel/fork.c copy_process: ptrace_init_task), but the clone event stop
// that names it is skipped when the creator has a fatal signal pending
// (kernel/signal.c ptrace_stop), as in a group exit racing a
// pthread_create. Returns how many it took in, -1 if /proc could not be
// listed. Defined with the suspend code (it attaches like suspend does).
int take_in_unknown_threads(ExitHold& h) noexcept;

// Once a thread is in its exit stop: the process's exit if every other
// thread has ended, is in its exit stop too or was let go from it — then it
// is held there; else these are lone threads ending (pthread_exit), let go
// at once. In a group exit every thread stops at its exit (kernel/exit.c
// do_exit: ptrace_event(PTRACE_EVENT_EXIT) before exit_mm), the last one to
// stop sees all others done and is held with the memory still mapped.
// `suspended`: threads a suspension holds, never let go here.
void decide_exit(ExitHold& h, const std::set<pid_t>& suspended) noexcept {
  bool any_at_exit = false;
  for (const auto& entry : h.threads) any_at_exit = any_at_exit || entry.second.at_exit;
  if (!any_at_exit) return;
  bool others_live = false;
  try {
    for (auto it = h.threads.begin(); it != h.threads.end();) {
      ExitHold::Thread& t = it->second;
      if (t.at_exit || t.exiting) {
        ++it;
        continue;
      }
      StopInfo st;
      if (stop_of(it->first, &st) && st.event == PTRACE_EVENT_EXIT) {
        t.at_exit = true;
        t.exit_seen = std::chrono::steady_clock::now();
        ++it;
        continue;
      }
      others_live = still_lives(h, it) || others_live;
    }
  } catch (...) {
    return;  // /proc refused (EMFILE, ENOMEM): decide at the next look
  }
  // A thread the hold does not know (not seen born) may still live, or
  // wait in a stop of its own: look at those first.
  if (!others_live && take_in_unknown_threads(h) != 0) return;
  if (!others_live) {
    h.held.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(h.event_fd, &one, sizeof one);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  for (auto& [tid, t] : h.threads) {
    if (!t.at_exit || suspended.count(tid) != 0) continue;
    // The main thread is let go last: reads and /proc/<pid>/maps reach the
    // memory through it (process_vm_readv and mm_access take the pid's
    // task's mm, which it drops in exit_mm even while other threads hold the
    // same memory: kernel/exit.c do_exit), so in a group exit it is best
    // held. Kept in its exit stop for kLeaderExitGrace while others live —
    // longer than a group exit takes to reach every thread — then let go
    // (a main thread that called pthread_exit, or a thread that execs and
    // waits for the main thread to end: fs/exec.c de_thread).
    if (tid == h.pid && now - t.exit_seen < kLeaderExitGrace) continue;
    t.at_exit = false;
    t.exiting = true;
    ptrace_raw(PTRACE_CONT, tid, 0, 0);
  }
}

// Passes on every stop of `h`'s threads (but those of a suspension), takes
// in the threads the kernel attached, reaps the ones that ended, and
// decides about exits. Nothing to do once the process is held.
void serve_hold(ExitHold& h, const std::set<pid_t>& suspended) noexcept {
  if (h.held.load()) return;
  std::vector<pid_t> born;
  for (auto it = h.threads.begin(); it != h.threads.end();) {
    const pid_t tid = it->first;
    StopInfo st;
    if (suspended.count(tid) == 0 && stop_of(tid, &st)) {
      pass_on_stop(h, tid, st, born);
      ++it;
      continue;
    }
    const Report r = tid == h.pid && h.leader_is_child ? Report::none : peek(tid);
    if (r == Report::exited) reap(tid);
    it = r == Report::exited || r == Report::gone ? h.threads.erase(it) : std::next(it);
  }
  for (std::size_t i = 0; i < born.size(); ++i) {  // pass_on_stop may add to it
    const pid_t tid = born[i];
    try {
      h.threads[tid];
    } catch (...) {
      // Out of memory: not held then, but never left traced and unknown
      // (its exit stop would have nobody to let it go): detached once it
      // is in its first stop, which it enters at once.
      for (int tries = 0; tries < 1000 && ptrace_raw(PTRACE_DETACH, tid, 0, 0) != 0 && errno != ESRCH;
           ++tries)
        std::this_thread::sleep_for(std::chrono::microseconds(10));
      continue;
    }
    StopInfo st;
    if (suspended.count(tid) == 0 && stop_of(tid, &st)) pass_on_stop(h, tid, st, born);
  }
  decide_exit(h, suspended);
}

// ---- the tracer thread --------------------------------------------------------------

class Tracer {
 public:
  void run(const std::function<void()>& job, Step step, const std::string& program) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (started_ && std::this_thread::get_id() == thread_id_) {
      lock.unlock();
      job();
      return;
    }
    if (!started_) {
      if (const int error = posix::start_detached_thread(
              [this] {
                // wait_for_stop naps for a few microseconds while a thread
                // goes to its stop; the default 50 us of timer slack would
                // make every such nap 50 us longer than asked (bench
                // "sample": a suspend of 40 busy threads took ~1.3x as long).
                ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
                loop();
              },
              &thread_id_);
          error != 0) {
        throw Error(error, step, program, "starting taskport's tracer thread");
      }
      started_ = true;
    }
    Pending pending{&job, nullptr, false, nullptr};
    (tail_ != nullptr ? tail_->next : head_) = &pending;
    tail_ = &pending;
    wake_.notify_one();
    done_.wait(lock, [&] { return pending.finished; });
    if (pending.error) std::rethrow_exception(pending.error);
  }

  // Tracer thread only.
  void watch(Suspension* s) { active_.insert(s); }
  void unwatch(Suspension* s) noexcept { active_.erase(s); }
  // Keeps `s`, whose threads resume_all could not all let go yet.
  void keep(std::unique_ptr<Suspension> s) noexcept {
    s->next_kept = std::move(kept_);
    kept_ = std::move(s);
    kept_interval_ = kScanInterval;
    next_kept_look_ = std::chrono::steady_clock::now() + kept_interval_;
  }
  void watch_hold(ExitHold* h) { holds_.insert(h); }
  void unwatch_hold(ExitHold* h) noexcept { holds_.erase(h); }
  // The hold of process `pid`, if one is watched.
  ExitHold* hold_of(pid_t pid) const noexcept {
    for (ExitHold* h : holds_) {
      if (h->pid == pid) return h;
    }
    return nullptr;
  }
  // The threads of `pid` that a suspension holds (the hold leaves them be).
  std::set<pid_t> suspended_threads(pid_t pid) const {
    std::set<pid_t> tids;
    for (const Suspension* s : active_) {
      if (s->pid != pid) continue;
      for (const auto& entry : s->threads) tids.insert(entry.first);
    }
    return tids;
  }
  // Takes thread `tid` of `pid` back from the kept Suspensions (a new
  // suspension found it still traced by this thread). True if it was there.
  bool reclaim(pid_t pid, pid_t tid) noexcept {
    for (Suspension* s = kept_.get(); s != nullptr; s = s->next_kept.get()) {
      if (s->pid == pid && s->threads.erase(tid) != 0) return true;
    }
    return false;
  }

 private:
  // A job queued by run(), on the caller's stack: queuing allocates nothing,
  // so run() cannot fail once the thread runs (a Task's destructor relies on
  // it to resume its target).
  struct Pending {
    const std::function<void()>* job;
    Pending* next = nullptr;
    bool finished = false;
    std::exception_ptr error;
  };

  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      const auto has_job = [&] { return head_ != nullptr; };
      if (active_.empty() && !kept_ && holds_.empty()) {
        wake_.wait(lock, has_job);
      } else if (!holds_.empty()) {
        wake_.wait_for(lock, kHoldInterval, has_job);
      } else {
        wake_.wait_for(lock, active_.empty() ? kept_interval_ : kScanInterval, has_job);
      }
      while (head_ != nullptr) {
        Pending* p = head_;
        head_ = p->next;
        if (head_ == nullptr) tail_ = nullptr;
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
      scan();
      lock.lock();
    }
  }

  // Reaps exited threads of suspended tasks, passes on the stops of held
  // ones, lets go of kept threads.
  void scan() noexcept {
    if (!active_.empty() && exits_to_report()) {
      for (Suspension* s : active_) reap_exited_threads(*s);
    }
    serve_holds();
    if (!kept_ || std::chrono::steady_clock::now() < next_kept_look_) return;
    for (std::unique_ptr<Suspension>* link = &kept_; *link;) {
      let_go_of_threads(**link);
      if ((*link)->threads.empty()) {
        *link = std::move((*link)->next_kept);
      } else {
        link = &(*link)->next_kept;
      }
    }
    kept_interval_ = std::min(kept_interval_ * 2, kMaxKeptInterval);
    next_kept_look_ = std::chrono::steady_clock::now() + kept_interval_;
  }

  // A quick look for reports every kHoldInterval; every held thread looked
  // at every kHoldSweepInterval (a report may have been taken by another
  // thread's waitpid(-1)).
  void serve_holds() noexcept {
    if (holds_.empty()) return;
    const auto now = std::chrono::steady_clock::now();
    const bool sweep = now >= next_hold_sweep_;
    if (!sweep && !reports_pending()) return;
    if (sweep) next_hold_sweep_ = now + kHoldSweepInterval;
    for (ExitHold* h : holds_) {
      if (sweep && !h->held.load()) take_in_unknown_threads(*h);
      try {
        serve_hold(*h, suspended_threads(h->pid));
      } catch (...) {
        // Out of memory for the set: at the next look.
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  Pending* head_ = nullptr;
  Pending* tail_ = nullptr;
  bool started_ = false;
  std::thread::id thread_id_;
  // Tracer thread only.
  std::set<Suspension*> active_;
  std::unique_ptr<Suspension> kept_;
  std::chrono::milliseconds kept_interval_ = kScanInterval;
  std::chrono::steady_clock::time_point next_kept_look_;
  std::set<ExitHold*> holds_;
  std::chrono::steady_clock::time_point next_hold_sweep_;
};

// One per process: a process forked from this one has no tracer thread (and
// may have copied this one's lock held), so it gets a new Tracer
// (common/fork_generation.hpp).
common::PerProcess<Tracer> g_tracer;

Tracer& tracer() { return g_tracer.get(); }

// ---- suspending -----------------------------------------------------------------------

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

// Who traces thread `tid` (task/<tid>/status), for a PTRACE_SEIZE that the
// kernel refused with EPERM.
struct TracerOf {
  bool gone = false;  // exited (a zombie, or no longer listed): EPERM for exit_state
  pid_t tracer = 0;   // TracerPid: a thread id, 0 if untraced
};

TracerOf tracer_of(const Task::Impl& task, pid_t tid, Step step) {
  TracerOf t;
  if (is_zombie_or_dead(thread_state(task, tid, step))) {
    t.gone = true;
    return t;
  }
  const std::string name = "task/" + std::to_string(tid) + "/status";
  std::string status;
  if (!backend::try_read_proc_file(task, name.c_str(), status, step)) return t;
  t.tracer = static_cast<pid_t>(key_value(status, "TracerPid").value_or(0));
  return t;
}

// The refusal of a thread that another process traces (a debugger, strace):
// a thread has one tracer at a time, whatever this process's privileges.
Error traced_by_another(const Task::Impl& task, pid_t tid, pid_t tracer_tid, Step step) {
  std::string who = "pid " + std::to_string(tracer_tid);
  std::string text;
  const std::string proc = "/proc/" + std::to_string(tracer_tid);
  UniqueFd status(::open((proc + "/status").c_str(), O_RDONLY | O_CLOEXEC));
  if (status && posix::read_to_end(status.get(), text) == 0) {
    if (const auto tgid = key_value(text, "Tgid"); tgid && static_cast<pid_t>(*tgid) != tracer_tid)
      who = "pid " + std::to_string(*tgid) + " (its thread " + std::to_string(tracer_tid) + ")";
  }
  UniqueFd stat(::open((proc + "/stat").c_str(), O_RDONLY | O_CLOEXEC));
  if (stat && posix::read_to_end(stat.get(), text) == 0) {
    if (const auto line = parse_stat(text)) who += " '" + line->comm + "'";
  }
  return Error(EPERM, step, task.program,
               "PTRACE_SEIZE of thread " + std::to_string(tid) + ": it is already traced by " + who +
                   " (a debugger or strace?); a thread has one tracer at a time: detach that one first");
}

// PTRACE_SEIZE (with `options`) of a thread seen for the first time.
// Returns 0 — seized, gone (then in `gone`), or traced by this thread
// already (`ours` set: a thread kept from an earlier suspension, taken back;
// or one a hold attached) — or the errno of a refusal; throws the Error of a
// thread another process traces.
int seize_thread(const Task::Impl& task, pid_t tid, long options, Step step, std::set<pid_t>& gone,
                 bool& ours) {
  ours = false;
  if (ptrace_raw(PTRACE_SEIZE, tid, 0, options) == 0) return 0;
  const int error = errno;
  if (error == ESRCH) {  // exited between the listing and now
    gone.insert(tid);
    return 0;
  }
  if (error != EPERM) return error;
  // EPERM is also the answer for a thread that has exited but is still
  // listed (exit_state set), and for one this thread traces already.
  const TracerOf t = tracer_of(task, tid, step);
  if (t.gone) {
    gone.insert(tid);
    return 0;
  }
  if (t.tracer == 0) return EPERM;  // a refusal of the kernel's ptrace access check
  if (t.tracer != gettid_raw()) throw traced_by_another(task, tid, t.tracer, step);
  tracer().reclaim(task.pid, tid);
  ours = true;
  return 0;
}

int take_in_unknown_threads(ExitHold& h) noexcept {
  int taken = 0;
  try {
    std::set<pid_t> gone;
    for (pid_t tid : list_threads(*h.task)) {
      if (h.threads.count(tid) != 0) continue;
      bool ours = false;
      if (seize_thread(*h.task, tid, kHoldOptions, Step::hold_at_exit, gone, ours) != 0 ||
          gone.count(tid) != 0)
        continue;
      h.threads[tid].needs_options = ours;
      ++taken;
    }
  } catch (...) {
    return -1;  // /proc refused (EMFILE, ENOMEM), or another tracer: at the next look
  }
  return taken;
}

// PTRACE_SEIZE + PTRACE_INTERRUPT of a thread seen for the first time (a
// thread a hold attached is interrupted only). Returns 0 (interrupted, or
// gone: then in `gone`), or the errno of a refusal; throws the Error of a
// thread another process traces.
int interrupt_thread(const Task::Impl& task, Suspension& s, pid_t tid, std::set<pid_t>& gone) {
  const ExitHold* h = tracer().hold_of(s.pid);
  if (h == nullptr || h->threads.count(tid) == 0) {
    bool ours = false;
    if (const int error = seize_thread(task, tid, 0, Step::suspend, gone, ours); error != 0) return error;
    if (gone.count(tid) != 0) return 0;
  }
  s.threads[tid];
  if (ptrace_raw(PTRACE_INTERRUPT, tid, 0, 0) != 0 && errno != ESRCH) return errno;
  return 0;
}

enum class Stop { stopped, zombie, exited, timed_out };

// Waits for the ptrace stop of a just-interrupted thread (or its end).
// Records a signal-delivery stop's signal so that resume_all() can deliver
// it: suspending must not steal the target's signals.
Stop wait_for_stop(const Task::Impl& task, Suspension& s, pid_t tid) {
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  auto nap = std::chrono::microseconds(5);
  const bool childs_leader = tid == s.pid && s.leader_is_child;
  for (int naps = 0;; ++naps) {
    int signal = 0;
    if (in_ptrace_stop(tid, &signal)) {
      s.threads[tid].pending_signal = signal;
      // The stop's report is queued before the thread is in its stop
      // (kernel/signal.c ptrace_stop: exit_code, then
      // do_notify_parent_cldstop, then schedule), so it is there now.
      consume_stop_report(tid);
      return Stop::stopped;
    }
    switch (peek(tid)) {
      case Report::exited:
        // Our child's main thread is reported only once the whole process
        // has ended: Child::wait reaps it.
        if (!childs_leader) reap(tid);
        return Stop::exited;
      case Report::gone: return Stop::exited;
      default: break;
    }
    // A zombie main thread reports nothing while other threads live: it
    // stays in the Suspension until it can be reaped (or, our child's, until
    // Child reaps it).
    if (naps >= kNapsBeforeProc && naps % kNapsBeforeProc == 0 && is_zombie_or_dead(thread_state(task, tid)))
      return Stop::zombie;
    if (std::chrono::steady_clock::now() > deadline) return Stop::timed_out;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, kMaxNap);
  }
}

bool is_our_child(const Task::Impl& task) {
  std::string stat;
  if (!backend::try_read_proc_file(task, "stat", stat, Step::suspend)) return false;
  const auto parsed = parse_stat(stat);
  return parsed && static_cast<pid_t>(parsed->ppid) == ::getpid();
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
      case Stop::stopped:
      case Stop::zombie: break;
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

void run_on_tracer(const std::function<void()>& job, Step step, const std::string& program) {
  Tracer* t;
  try {
    t = &tracer();
  } catch (const std::bad_alloc&) {
    throw Error(ENOMEM, step, program, "making taskport's tracer");
  }
  t->run(job, step, program);
}

void adopt(Suspension& s, const std::string& program) {
  try {
    tracer().watch(&s);
  } catch (const std::bad_alloc&) {
    throw Error(ENOMEM, Step::await_exec_stop, program, "watching the start-suspended child");
  }
}

std::unique_ptr<Suspension> suspend_all(const Task::Impl& task) {
  auto s = std::make_unique<Suspension>();
  s->pid = task.pid;
  s->pidfd = task.pidfd.get();
  std::set<pid_t> gone;
  int error = 0;
  try {
    s->leader_is_child = is_our_child(task);
    // Until a listing shows no thread left running.
    for (bool more = true; more && error == 0;) error = stop_new_threads(task, *s, gone, more);
    if (error == 0 && !s->threads.empty()) tracer().watch(s.get());
  } catch (const std::bad_alloc&) {
    resume_all(std::move(s));  // let go of every thread stopped so far
    throw Error(ENOMEM, Step::suspend, task.program);
  } catch (...) {
    resume_all(std::move(s));  // the listing failed, or another tracer: let go of every thread stopped so far
    throw;
  }
  if (error != 0) {
    resume_all(std::move(s));
    throw backend::access_error(task, error, Step::suspend, "PTRACE_SEIZE/PTRACE_INTERRUPT");
  }
  if (s->threads.empty()) throw Error(ESRCH, Step::suspend, task.program, "the task has exited");
  return s;
}

namespace {

// Resumes thread `tid` of `s` for the hold `h` of its process: it stays
// traced. A thread in its exit stop stays there (the hold decides); a
// start-suspended child's first thread, attached by PTRACE_TRACEME (which
// PTRACE_INTERRUPT and PTRACE_LISTEN do not work on), is detached and seized
// again at once — a few microseconds in which it runs unheld, or longer
// when the detach wakes it on this thread's CPU and it runs first (a `true`
// pinned to the same CPU ended unheld one time in two).
void give_back_to_hold(ExitHold& h, const Suspension& s, pid_t tid, int pending_signal) noexcept {
  ExitHold::Thread* held = nullptr;
  try {
    held = &h.threads[tid];  // also a thread born while suspending (the kernel attached it)
  } catch (...) {
    ptrace_raw(PTRACE_DETACH, tid, 0, pending_signal);  // out of memory: not held, not left stopped
    return;
  }
  if (s.from_exec && tid == s.pid) {
    if (ptrace_raw(PTRACE_DETACH, tid, 0, pending_signal) != 0 ||
        ptrace_raw(PTRACE_SEIZE, tid, 0, kHoldOptions) != 0) {
      h.threads.erase(tid);
    }
    return;
  }
  StopInfo st;
  if (stop_of(tid, &st) && st.event == PTRACE_EVENT_EXIT) return;
  ptrace_raw(PTRACE_SETOPTIONS, tid, 0, kHoldOptions);
  if (ptrace_raw(PTRACE_CONT, tid, 0, pending_signal) != 0) held->needs_options = true;  // at its next stop
}

}  // namespace

void resume_all(std::unique_ptr<Suspension> s) noexcept {
  if (!s) return;
  Tracer& t = tracer();  // exists: it made the Suspension (or adopted it)
  t.unwatch(s.get());
  ExitHold* hold = t.hold_of(s->pid);
  for (auto it = s->threads.begin(); it != s->threads.end();) {
    const pid_t tid = it->first;
    if (s->from_exec && tid == s->pid) {
      ptrace_raw(PTRACE_SETSIGMASK, tid, static_cast<long>(backend::kKernelSigsetSize),
                 reinterpret_cast<long>(&s->exec_mask));
    }
    if (hold != nullptr) {
      give_back_to_hold(*hold, *s, tid, it->second.pending_signal);
      it = s->threads.erase(it);
      continue;
    }
    // Detaching lets the thread run; a signal intercepted while stopping is
    // delivered now, as if it had never been caught.
    it = ptrace_raw(PTRACE_DETACH, tid, 0, it->second.pending_signal) == 0 ? s->threads.erase(it)
                                                                           : std::next(it);
  }
  if (s->threads.empty()) return;
  // Killed meanwhile (exiting, or a zombie), or not yet at its stop: reaped
  // or let go now if it can be, else kept until it can.
  s->pidfd = -1;
  let_go_of_threads(*s);
  if (!s->threads.empty()) t.keep(std::move(s));
}

namespace {

// Lets go of every thread of `h` but those a suspension holds (its resume
// lets them go).
void let_go_of_hold(ExitHold& h) noexcept {
  take_in_unknown_threads(h);  // none left traced and unknown
  std::set<pid_t> suspended;
  try {
    suspended = tracer().suspended_threads(h.pid);
  } catch (...) {
    // Out of memory: a suspended thread let go here stops being suspended
    // early, never frozen.
  }
  std::unique_ptr<Suspension> rest;
  try {
    rest = std::make_unique<Suspension>();
  } catch (...) {
  }
  for (const auto& entry : h.threads) {
    const pid_t tid = entry.first;
    if (suspended.count(tid) != 0) continue;
    int signal = 0;
    if (in_ptrace_stop(tid, &signal) && ptrace_raw(PTRACE_DETACH, tid, 0, signal) == 0) continue;
    if (!rest) {
      // Out of memory: detach as soon as it stops, here.
      ptrace_raw(PTRACE_INTERRUPT, tid, 0, 0);
      for (int tries = 0; tries < 10000; ++tries) {
        if (in_ptrace_stop(tid, &signal) && ptrace_raw(PTRACE_DETACH, tid, 0, signal) == 0) break;
        if (peek(tid) != Report::none) break;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      continue;
    }
    try {
      rest->threads[tid];
    } catch (...) {
    }
  }
  h.threads.clear();
  if (!rest || rest->threads.empty()) return;
  rest->pid = h.pid;
  rest->leader_is_child = h.leader_is_child;
  let_go_of_threads(*rest);
  if (!rest->threads.empty()) tracer().keep(std::move(rest));
}

}  // namespace

std::unique_ptr<ExitHold> hold_all(const Task::Impl& task, Suspension* suspended, int event_fd) {
  auto h = std::make_unique<ExitHold>();
  h->pid = task.pid;
  h->task = &task;
  h->event_fd = event_fd;
  int error = 0;
  try {
    h->leader_is_child = is_our_child(task);
    if (suspended != nullptr) {
      // Stopped already, ours: the options take effect now; resume_all
      // gives the threads to the hold.
      for (const auto& entry : suspended->threads) {
        if (!(suspended->from_exec && entry.first == suspended->pid))
          ptrace_raw(PTRACE_SETOPTIONS, entry.first, 0, kHoldOptions);
        h->threads[entry.first];
      }
    } else {
      std::set<pid_t> gone;
      // Until a listing shows no thread left unattached (a thread may
      // start others meanwhile; once all are attached the kernel attaches
      // the new ones).
      for (bool more = true; more && error == 0;) {
        more = false;
        for (pid_t tid : list_threads(task)) {
          if (h->threads.count(tid) != 0 || gone.count(tid) != 0) continue;
          more = true;
          bool ours = false;
          error = seize_thread(task, tid, kHoldOptions, Step::hold_at_exit, gone, ours);
          if (error != 0) break;
          if (gone.count(tid) != 0) continue;
          h->threads[tid].needs_options = ours;
          if (ours) ptrace_raw(PTRACE_INTERRUPT, tid, 0, 0);  // kept from a resume: stops, then served
        }
      }
    }
    if (error == 0 && !h->threads.empty()) tracer().watch_hold(h.get());
  } catch (const std::bad_alloc&) {
    let_go_of_hold(*h);
    throw Error(ENOMEM, Step::hold_at_exit, task.program);
  } catch (...) {
    let_go_of_hold(*h);  // the listing failed, or another tracer: let go of every thread attached so far
    throw;
  }
  if (error != 0) {
    let_go_of_hold(*h);
    throw backend::access_error(task, error, Step::hold_at_exit, "PTRACE_SEIZE");
  }
  if (h->threads.empty()) throw Error(ESRCH, Step::hold_at_exit, task.program, "the task has exited");
  return h;
}

void release_hold(std::unique_ptr<ExitHold> h) noexcept {
  if (!h) return;
  tracer().unwatch_hold(h.get());
  let_go_of_hold(*h);
}

#if defined(__x86_64__) || defined(__aarch64__)
// Registers mirrors the kernel's NT_PRSTATUS layout (user_regs_struct).
#if defined(__x86_64__)
static_assert(sizeof(Registers) == 27 * 8, "x86_64 user_regs_struct is 27 registers");
#else
static_assert(sizeof(Registers) == 34 * 8, "arm64 user_pt_regs is x0-x30, sp, pc, pstate");
#endif

namespace {

// PTRACE_GETREGSET(NT_PRSTATUS) of `tid`: 0, or the errno (EIO for a size
// that is not the layout of Registers).
int read_regset(pid_t tid, Registers& regs) noexcept {
  iovec iov{&regs, sizeof regs};
  if (ptrace_raw(PTRACE_GETREGSET, tid, NT_PRSTATUS, reinterpret_cast<long>(&iov)) != 0) return errno;
  return iov.iov_len == sizeof regs ? 0 : EIO;
}

Error regset_error(int error, pid_t tid, const std::string& program) {
  if (error == EIO) return Error(EIO, Step::read_registers, program, "unexpected NT_PRSTATUS size");
  return Error(error, Step::read_registers, program, "PTRACE_GETREGSET thread " + std::to_string(tid));
}

}  // namespace

Registers get_registers(const Suspension& s, pid_t tid, const std::string& program) {
  if (s.threads.count(tid) == 0) {
    throw Error(ESRCH, Step::read_registers, program,
                "thread " + std::to_string(tid) + " is not a stopped thread of this task");
  }
  Registers regs{};
  if (const int error = read_regset(tid, regs); error != 0) throw regset_error(error, tid, program);
  return regs;
}

std::vector<ThreadRegisters> get_all_registers(const Suspension& s, const std::string& program) {
  std::vector<ThreadRegisters> out;
  out.reserve(s.threads.size());
  for (const auto& entry : s.threads) {  // a std::map: by tid
    ThreadRegisters t;
    t.tid = entry.first;
    const int error = read_regset(t.tid, t.registers);
    // ESRCH: not in a ptrace stop (kernel/ptrace.c ptrace_check_attach). A
    // thread of a Suspension is stopped unless it has exited since (killed)
    // or was a zombie already: it has no registers left.
    if (error == ESRCH) continue;
    if (error != 0) throw regset_error(error, t.tid, program);
    out.push_back(t);
  }
  if (out.empty()) throw Error(ESRCH, Step::read_registers, program, "the task has exited");
  return out;
}
#endif

}  // namespace taskport::backend
