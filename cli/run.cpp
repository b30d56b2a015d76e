// SPDX-License-Identifier: MIT
#include "run.hpp"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <utility>

#include <taskport/taskport.hpp>

#include "death_signal.hpp"
#include "exit_codes.hpp"
#include "relay.hpp"
#include "schedule.hpp"
#include "signals.hpp"
#include "snapshot.hpp"

namespace taskport_cli {
namespace {

using Clock = std::chrono::steady_clock;

bool holds_at_exit(const RunOptions& o) { return o.at_exit && taskport::Task::can_hold_at_exit(); }

taskport::Command make_command(const RunOptions& o) {
  taskport::Command cmd(o.argv[0]);
  for (std::size_t i = 1; i < o.argv.size(); ++i) cmd.arg(o.argv[i]);
  if (o.json) {
    // stdout is the report's alone.
    cmd.standard_output(taskport::Stdio::fd(STDERR_FILENO));
  } else {
    // Relayed in whole lines (relay.hpp).
    cmd.standard_output(taskport::Stdio::piped()).standard_error(taskport::Stdio::piped());
  }
  // --at-exit: the hold starts before the program's first instructions (a
  // program may be done within microseconds); it runs on at once unless
  // --suspended asked for a look first.
  cmd.start_suspended(o.suspended || holds_at_exit(o));
  if (o.via_preload) cmd.task_via_preload();
  if (o.preload_timeout) {
    cmd.preload_timeout(std::chrono::duration_cast<std::chrono::milliseconds>(*o.preload_timeout));
  }
#if defined(__linux__)
  cmd.pre_exec(die_with_parent(::getpid()));
#endif
  return cmd;
}

int report(Reporter& reporter, const taskport::Error& e) {
  const int code = exit_code_of(e);
  reporter.failed(failure_of(e), code);
  return code;
}

// Everything from the spawn to the exit.
class Session {
 public:
  Session(const RunOptions& o, taskport::Child child, taskport::Task task, Reporter& reporter, LineRelay& out,
          LineRelay& err, SignalCatcher& signals)
      : o_(o),
        child_(std::move(child)),
        task_(std::move(task)),
        reporter_(reporter),
        out_(out),
        err_(err),
        signals_(signals),
        start_(Clock::now()),
        schedule_(o.at, o.every, o.count, start_) {
    child_.kill_on_drop(true);  // a taskport that fails takes its child along
  }

  int run() {
    reporter_.spawned(
        {o_.argv, child_.pid(), handle_kind(), static_cast<long long>(task_.native_handle()), start_});
    if (holds_at_exit(o_)) {
      task_.hold_at_exit();
      if (!o_.suspended) task_.resume();
    } else if (o_.at_exit) {
      (void)write_all(STDERR_FILENO,
                      "taskport: --at-exit: a program cannot be held at its exit on this platform; "
                      "the last snapshot is the last periodic one\n");
    }
    take(Trigger::start);
    if (o_.suspended) task_.resume();
    while (watch_until_due()) {
      if (at_exit_) {
        // Held at its exit: the last look, then it may finish.
        take(Trigger::exit);
        task_.release_exit_hold();
        at_exit_ = false;
        continue;
      }
      if (auto trigger = schedule_.take_due(Clock::now())) take(*trigger);
    }
    out_.finish(kDrainMs);
    err_.finish(kDrainMs);
    const taskport::ExitStatus status = child_.wait();
    const int code = exit_code_of(status);
    reporter_.exited(status, code);
    return code;
  }

 private:
  static constexpr int kDrainMs = 200;

  static const char* handle_kind() {
#if defined(__APPLE__)
    return "mach task port";
#else
    return "pidfd";
#endif
  }

  void take(Trigger trigger) {
    Snapshot s = take_snapshot(task_, next_index_++, trigger);
    out_.pass_on_pending();
    err_.pass_on_pending();
    reporter_.snapshot(s, previous_ ? &*previous_ : nullptr);
    previous_ = std::move(s);
  }

  // Polls the child's exit, its hold at exit, the signals and the child's
  // output until the next snapshot is due or the child is held at its exit
  // (true; at_exit_ says which) or the child has exited (false).
  bool watch_until_due() {
    for (;;) {
      const auto due = schedule_.next();
      int timeout = -1;
      if (due) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*due - Clock::now()).count();
        if (left <= 0) return true;
        timeout = static_cast<int>(std::min<long long>(left, 60000));
      }
      pollfd fds[5] = {{child_.exit_fd(), POLLIN, 0},
                       {signals_.fd(), POLLIN, 0},
                       {out_.fd(), POLLIN, 0},
                       {err_.fd(), POLLIN, 0},
                       {task_.held_at_exit_fd(), POLLIN, 0}};  // -1 (ignored by poll) without a hold
      const int n = ::poll(fds, 5, timeout);
      if (n < 0 && errno != EINTR) throw taskport::Error(errno, taskport::Step::poll, child_.program());
      if (n <= 0) continue;
      if (fds[1].revents != 0) forward_signals();
      if (fds[2].revents != 0) out_.on_readable();
      if (fds[3].revents != 0) err_.on_readable();
      if (fds[4].revents != 0 && task_.is_held_at_exit()) {
        at_exit_ = true;
        return true;
      }
      if (fds[0].revents != 0) return false;
    }
  }

  void forward_signals() {
    for (int signo : signals_.take_to_forward()) {
      try {
        task_.signal(signo);
      } catch (const taskport::Error&) {
        // ESRCH: the child is gone already; its exit is about to be seen.
      }
    }
  }

  const RunOptions& o_;
  taskport::Child child_;
  taskport::Task task_;
  Reporter& reporter_;
  LineRelay& out_;
  LineRelay& err_;
  SignalCatcher& signals_;
  Clock::time_point start_;
  Schedule schedule_;
  int next_index_ = 0;
  std::optional<Snapshot> previous_;
  bool at_exit_ = false;  // watch_until_due found the child held at its exit
};

}  // namespace

int run(const RunOptions& o) {
  LineRelay out, err;
  std::unique_ptr<Reporter> reporter = o.json ? json_reporter(o) : text_reporter(o, out);
  try {
    // Before the spawn: a signal that comes during it is forwarded after it.
    SignalCatcher signals;
    auto [child, task] = make_command(o).spawn_with_task();
    if (!o.json) {
      out = LineRelay(std::move(child.stdout_pipe()), STDOUT_FILENO);
      err = LineRelay(std::move(child.stderr_pipe()), STDERR_FILENO);
    }
    Session session(o, std::move(child), std::move(task), *reporter, out, err, signals);
    return session.run();
  } catch (const taskport::Error& e) {
    out.finish(0);
    err.finish(0);
    return report(*reporter, e);
  }
}

}  // namespace taskport_cli
