// SPDX-License-Identifier: MIT
// What `taskport run` tells — the spawn, each snapshot, the exit or the
// failure — and what `taskport inspect` tells: the open, each snapshot, the
// end or the failure. Two forms each: text a person reads at a glance
// (text_report.cpp) and JSON Lines for scripts (json_report.cpp,
// docs/cli-json.md).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <taskport/error.hpp>
#include <taskport/exit_status.hpp>

#include "options.hpp"
#include "relay.hpp"
#include "snapshot.hpp"

namespace taskport_cli {

struct SpawnFacts {
  std::vector<std::string> argv;  // PROGRAM [ARGS...] as given
  pid_t pid = 0;
  std::string handle_kind;  // "pidfd", "mach task port"
  long long handle = -1;
  std::chrono::steady_clock::time_point start;  // when the spawn returned
};

// A failure: a taskport::Error, or a refused command line.
struct Failure {
  std::string step;                    // to_string(Step), or "parse options"
  std::optional<int> errno_value;      // absent for a refused command line
  std::string message;                 // what taskport says on stderr
  std::optional<std::string> program;  // Error::program(); absent before one is known
};

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void spawned(const SpawnFacts& facts) = 0;
  // `previous`: the snapshot before this one, if any.
  virtual void snapshot(const Snapshot& now, const Snapshot* previous) = 0;
  virtual void exited(const taskport::ExitStatus& status, int exit_code) = 0;
  virtual void failed(const Failure& failure, int exit_code) = 0;
};

// An opened process: what `inspect` learned of it besides its snapshots.
struct OpenFacts {
  pid_t pid = 0;
  std::optional<std::uint64_t> start_time;       // Task::start_time()
  std::optional<std::string> executable;         // Task::executable()
  std::optional<std::vector<std::string>> argv;  // Task::command_line()
  std::string handle_kind;                       // "pidfd", "mach task port"
  long long handle = -1;
  std::chrono::steady_clock::time_point start;  // when the open returned
  std::vector<SectionError> errors;             // what could not be read ("start_time", "executable", "argv")
};

// Why an inspection ended.
enum class EndReason {
  completed,  // every snapshot asked for was taken
  exited,     // the process exited
  signal,     // taskport got SIGINT, SIGTERM or SIGHUP
};
const char* to_string(EndReason reason) noexcept;

struct EndFacts {
  EndReason reason = EndReason::completed;
  std::optional<int> signal;  // with EndReason::signal
  int snapshots = 0;          // how many were taken
};

class InspectReporter {
 public:
  virtual ~InspectReporter() = default;
  virtual void opened(const OpenFacts& facts) = 0;
  virtual void snapshot(const Snapshot& now, const Snapshot* previous) = 0;
  virtual void ended(const EndFacts& end, int exit_code) = 0;
  virtual void failed(const Failure& failure, int exit_code) = 0;
};

// Text on stdout (failures on stderr), written between the lines of the
// child's stdout, which `out` relays (a report after an unfinished last line
// of the child starts on a line of its own).
std::unique_ptr<Reporter> text_reporter(const RunOptions& options, LineRelay& out);
// JSON Lines on stdout, one write(2) per line.
std::unique_ptr<Reporter> json_reporter(const RunOptions& options);

// The same two for `inspect` (no child, so no relay: text goes straight to
// stdout).
std::unique_ptr<InspectReporter> inspect_text_reporter(const InspectOptions& options);
std::unique_ptr<InspectReporter> inspect_json_reporter(const InspectOptions& options);

// The "taskport: …" line a failure prints on stderr.
std::string failure_line(const Failure& failure);
// A taskport::Error as a Failure.
Failure failure_of(const taskport::Error& e);

// Reports a refused command line (text on stderr; also JSON on stdout with
// --json) and returns its exit status, 125.
int report_usage_error(const UsageError& error);

}  // namespace taskport_cli
