// SPDX-License-Identifier: MIT
#include "inspect.hpp"

#include <errno.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <taskport/taskport.hpp>

#include "exit_codes.hpp"
#include "report.hpp"
#include "schedule.hpp"
#include "signals.hpp"
#include "snapshot.hpp"

namespace taskport_cli {

const char* to_string(EndReason reason) noexcept {
  switch (reason) {
    case EndReason::completed: return "completed";
    case EndReason::exited: return "exited";
    case EndReason::signal: return "signal";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

#if defined(__APPLE__)
constexpr const char* kHandleKind = "mach task port";
#else
constexpr const char* kHandleKind = "pidfd";
#endif

// What the process is, read once after the open. Each part may be refused
// on its own: the executable and (macOS) argv need more than the open.
OpenFacts facts_of(const taskport::Task& task, Clock::time_point start) {
  OpenFacts f;
  f.pid = task.pid();
  f.handle_kind = kHandleKind;
  f.handle = static_cast<long long>(task.native_handle());
  f.start = start;
  read_part(f.errors, "start_time", [&] { f.start_time = task.start_time(); });
  read_part(f.errors, "executable", [&] { f.executable = task.executable(); });
  read_part(f.errors, "argv", [&] { f.argv = task.command_line(); });
  return f;
}

// What ends the wait for the next snapshot.
struct Wake {
  enum What { due, exited, signal, nothing_left } what = due;
  int signo = 0;
};

class Inspection {
 public:
  Inspection(const InspectOptions& o, taskport::Task task, InspectReporter& reporter, SignalCatcher& signals)
      : task_(std::move(task)),
        reporter_(reporter),
        signals_(signals),
        start_(Clock::now()),
        schedule_({}, o.every, o.count, start_) {}

  int run() {
    reporter_.opened(facts_of(task_, start_));
    Wake wake = wait(Clock::now());  // a signal during the open ends it before any snapshot
    if (wake.what == Wake::due) {
      take(Trigger::start);
      for (wake = wait(schedule_.next()); wake.what == Wake::due; wake = wait(schedule_.next())) {
        if (auto trigger = schedule_.take_due(Clock::now())) take(*trigger);
      }
    }
    return end(wake);
  }

 private:
  void take(Trigger trigger) {
    // The snapshot suspends the task and resumes it before it returns; a
    // signal that comes meanwhile waits in the pipe until wait() below.
    Snapshot s = take_snapshot(task_, taken_++, trigger, SnapshotParts{true});
    reporter_.snapshot(s, previous_ ? &*previous_ : nullptr);
    previous_ = std::move(s);
  }

  // Polls the process's exit and the signals until `due` (none: only what
  // is there now). A signal is looked at first: the user asked to stop.
  Wake wait(std::optional<Clock::time_point> due) {
    for (;;) {
      long long left = 0;
      if (due) left = std::chrono::ceil<std::chrono::milliseconds>(*due - Clock::now()).count();
      pollfd fds[2] = {{signals_.fd(), POLLIN, 0}, {task_.exit_fd(), POLLIN, 0}};
      const int n = ::poll(fds, 2, static_cast<int>(std::clamp<long long>(left, 0, 60000)));
      if (n < 0 && errno != EINTR)
        throw taskport::Error(errno, taskport::Step::poll, "pid " + std::to_string(task_.pid()));
      if (fds[0].revents != 0) {
        const auto signals = signals_.take_all();
        if (!signals.empty()) return {Wake::signal, signals.front()};
      }
      if (fds[1].revents != 0) return {Wake::exited};
      if (n > 0 || left > 0) continue;  // EINTR, a signal not to act on, or not due yet
      return {due ? Wake::due : Wake::nothing_left};
    }
  }

  int end(const Wake& wake) {
    EndFacts e;
    e.snapshots = taken_;
    int code = 0;
    switch (wake.what) {
      case Wake::signal:
        e.reason = EndReason::signal;
        e.signal = wake.signo;
        code = 128 + wake.signo;
        break;
      case Wake::exited: e.reason = EndReason::exited; break;
      default: e.reason = EndReason::completed; break;
    }
    reporter_.ended(e, code);
    return code;
  }

  taskport::Task task_;
  InspectReporter& reporter_;
  SignalCatcher& signals_;
  Clock::time_point start_;
  Schedule schedule_;
  int taken_ = 0;
  std::optional<Snapshot> previous_;
};

}  // namespace

int inspect(const InspectOptions& o) {
  std::unique_ptr<InspectReporter> reporter = o.json ? inspect_json_reporter(o) : inspect_text_reporter(o);
  try {
    // Before the open: a signal that comes during it ends the inspection
    // right after it.
    SignalCatcher signals;
    taskport::Task task = taskport::Task::open(o.pid);
    Inspection inspection(o, std::move(task), *reporter, signals);
    return inspection.run();
  } catch (const taskport::Error& e) {
    const int code = inspect_exit_code_of(e);
    reporter->failed(failure_of(e), code);
    return code;
  }
}

}  // namespace taskport_cli
