// SPDX-License-Identifier: MIT
#include "options.hpp"

#include <getopt.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace taskport_cli {

const char* const kUsage =
    "usage: taskport run [OPTIONS] -- PROGRAM [ARGS...]\n"
    "       taskport inspect [OPTIONS] PID\n"
    "       taskport help [run | inspect]\n"
    "       taskport --version | --help\n"
    "\n"
    "run      spawn PROGRAM with a task handle and show what the handle sees:\n"
    "         threads, memory regions, usage; at chosen times, periodically\n"
    "inspect  the same for a process that is already running, by its pid\n"
    "\n"
    "See 'taskport run --help', 'taskport inspect --help' and taskport(1).\n";

const char* const kRunUsage =
    "usage: taskport run [--at DURATION]... [--every INTERVAL [--count N]] [--at-exit]\n"
    "                    [--suspended] [--via-preload [--preload-timeout DURATION]]\n"
    "                    [--json] -- PROGRAM [ARGS...]\n"
    "\n"
    "Spawns PROGRAM with a task handle and takes snapshots of it (threads with\n"
    "state and CPU, regions with resident size, usage): one right after the\n"
    "spawn, one at each --at, every INTERVAL and at its exit; then waits for it and exits\n"
    "with its status (128 + signal if a signal killed it; 127 not found, 126\n"
    "not runnable, 125 taskport failed).\n"
    "\n"
    "  --at DURATION        a snapshot DURATION after the start (repeatable)\n"
    "  --every INTERVAL     a snapshot every INTERVAL until PROGRAM exits\n"
    "  --count N            only N periodic snapshots (needs --every)\n"
    "  --at-exit            a snapshot at PROGRAM's exit, taken while it is held there\n"
    "                       with its memory still mapped (Linux; macOS: the last\n"
    "                       snapshot is the last periodic one)\n"
    "  --suspended          stop PROGRAM before its first instruction for the\n"
    "                       first snapshot (registers are shown), then resume it\n"
    "  --via-preload        get the handle from PROGRAM itself, after exec (an\n"
    "                       LD_PRELOAD / DYLD_INSERT_LIBRARIES library sends it)\n"
    "  --preload-timeout DURATION\n"
    "                       how long to wait for that handle (default 10s)\n"
    "  --json               JSON Lines on stdout (docs/cli-json.md); PROGRAM's\n"
    "                       stdout goes to stderr\n"
    "  -h, --help           this text\n"
    "\n"
    "DURATION and INTERVAL: a number and a unit: 250ms, 2s, 1.5s, 1m, 1h.\n"
    "Options may be given as --opt VALUE or --opt=VALUE.\n";

const char* const kInspectUsage =
    "usage: taskport inspect [--every INTERVAL [--count N]] [--json] PID\n"
    "\n"
    "Opens the running process PID with a task handle and takes a snapshot of\n"
    "it (threads with state and CPU, regions with resident size, the main\n"
    "thread's registers, usage), and with --every one more every INTERVAL\n"
    "until PID exits. Exits 0 when the inspection is done, also when PID\n"
    "exited during it; 1 if PID cannot be opened; 125 if taskport failed;\n"
    "128 + N if signal N (SIGINT, SIGTERM, SIGHUP) ended it.\n"
    "\n"
    "  --every INTERVAL     a snapshot every INTERVAL until PID exits\n"
    "  --count N            only N periodic snapshots (needs --every)\n"
    "  --json               JSON Lines on stdout (docs/cli-json.md)\n"
    "  -h, --help           this text\n"
    "\n"
    "Threads and usage need no privilege. Regions and registers need ptrace\n"
    "access to PID (the same user, or CAP_SYS_PTRACE); without it a snapshot\n"
    "shows the rest and says what was refused. PID is suspended only while a\n"
    "snapshot reads its usage, regions and registers, and never left so.\n"
    "\n"
    "INTERVAL: a number and a unit: 250ms, 2s, 1.5s, 1m, 1h.\n"
    "Options may be given as --opt VALUE or --opt=VALUE, before or after PID.\n";

namespace {

enum OptionId { kAt = 1000, kEvery, kCount, kAtExit, kSuspended, kViaPreload, kPreloadTimeout, kJson };

const option kRunOptions[] = {
    {"at", required_argument, nullptr, kAt},
    {"every", required_argument, nullptr, kEvery},
    {"count", required_argument, nullptr, kCount},
    {"at-exit", no_argument, nullptr, kAtExit},
    {"suspended", no_argument, nullptr, kSuspended},
    {"via-preload", no_argument, nullptr, kViaPreload},
    {"preload-timeout", required_argument, nullptr, kPreloadTimeout},
    {"json", no_argument, nullptr, kJson},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

const option kInspectOptions[] = {
    {"every", required_argument, nullptr, kEvery},
    {"count", required_argument, nullptr, kCount},
    {"json", no_argument, nullptr, kJson},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

std::string duration_error(const char* option, const char* value) {
  return std::string("--") + option + ": '" + value +
         "' is not a duration (a number and a unit: 250ms, 2s, 1.5s, 1m, 1h)";
}

// A whole decimal number from 1 to `max`, digits only; nullopt otherwise.
std::optional<long> parse_positive(const char* text, long max) {
  if (*text < '0' || *text > '9') return std::nullopt;  // no sign, no space
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(text, &end, 10);
  if (*end != '\0' || errno != 0 || n < 1 || n > max) return std::nullopt;
  return n;
}

void apply_every(const char* value, std::optional<std::chrono::nanoseconds>& every, std::string& error) {
  if (every) error = "--every given twice";
  else if (auto d = parse_duration(value); d && d->count() >= 1000000) every = d;
  else if (d) error = "--every: the interval must be at least 1ms";
  else error = duration_error("every", value);
}

void apply_count(const char* value, std::optional<long>& count, std::string& error) {
  if (count) error = "--count given twice";
  else if (auto n = parse_positive(value, std::numeric_limits<long>::max())) count = n;
  else error = std::string("--count: '") + value + "' is not a whole number of at least 1";
}

// One option with its value; false with `error` set if the value is refused.
bool apply(int id, const char* value, RunOptions& o, std::string& error) {
  switch (id) {
    case kAt:
      if (auto d = parse_duration(value)) o.at.push_back(*d);
      else error = duration_error("at", value);
      break;
    case kEvery: apply_every(value, o.every, error); break;
    case kCount: apply_count(value, o.count, error); break;
    case kAtExit: o.at_exit = true; break;
    case kSuspended: o.suspended = true; break;
    case kViaPreload: o.via_preload = true; break;
    case kPreloadTimeout:
      if (o.preload_timeout) error = "--preload-timeout given twice";
      else if (auto d = parse_duration(value); d && d->count() > 0) o.preload_timeout = d;
      else error = duration_error("preload-timeout", value);
      break;
    case kJson: o.json = true; break;
    case 'h': o.help = true; break;
    default: error = "internal: unhandled option"; break;
  }
  return error.empty();
}

bool apply(int id, const char* value, InspectOptions& o, std::string& error) {
  switch (id) {
    case kEvery: apply_every(value, o.every, error); break;
    case kCount: apply_count(value, o.count, error); break;
    case kJson: o.json = true; break;
    case 'h': o.help = true; break;
    default: error = "internal: unhandled option"; break;
  }
  return error.empty();
}

// What the options say together, once each is known to be well-formed.
std::string check_combination(const RunOptions& o) {
  if (o.count && !o.every) return "--count needs --every";
  if (o.preload_timeout && !o.via_preload) return "--preload-timeout needs --via-preload";
  if (o.argv.empty()) return "missing PROGRAM (taskport run [OPTIONS] -- PROGRAM [ARGS...])";
  return "";
}

std::string check_combination(const InspectOptions& o, int operands, char** operand) {
  if (o.count && !o.every) return "--count needs --every";
  if (operands == 0) return "missing PID (taskport inspect [OPTIONS] PID)";
  if (operands > 1) return std::string("one PID only: '") + operand[1] + "' is one too many";
  return "";
}

// The options of `argv` into `o`, as `table` names them; the index of the
// first operand, or -1 with `error.message` set. `spec`: getopt's
// optstring ("+" stops at the first operand, ":" reports a missing value
// as ':').
template <class Options>
int parse_options(int argc, char** argv, const char* spec, const option* table, Options& o,
                  UsageError& error) {
  opterr = 0;  // taskport words its own messages
  optind = 1;
  for (;;) {
    optopt = 0;
    const int id = getopt_long(argc, argv, spec, table, nullptr);
    if (id == -1) return optind;
    // A refused short option is optopt; a long one (optopt 0 if unknown, its
    // OptionId if its value is missing) the argument getopt just stepped
    // over: with PID before it, getopt has moved PID behind it.
    const bool short_option = optopt > 0 && optopt < 128;
    const std::string given = short_option                   ? std::string("-") + static_cast<char>(optopt)
                              : optind > 0 && optind <= argc ? argv[optind - 1]
                                                             : "";
    if (id == '?') {
      error.message = "unknown option '" + given + "'";
      return -1;
    }
    if (id == ':') {
      error.message = "option '" + given + "' needs a value";
      return -1;
    }
    if (!apply(id, optarg, o, error.message)) return -1;
  }
}

// Whether --json is among the options (before PROGRAM): a refused command
// line is then also reported as JSON.
bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (a == "--json") return true;
  }
  return false;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  const std::string number = text.substr(0, i), unit = text.substr(i);
  if (number.empty() || number.front() == '.' || number.back() == '.' ||
      number.find('.') != number.rfind('.'))
    return std::nullopt;
  double scale = 0;
  if (unit == "ms") scale = 1e6;
  else if (unit == "s") scale = 1e9;
  else if (unit == "m") scale = 60e9;
  else if (unit == "h") scale = 3600e9;
  else return std::nullopt;
  const double ns = std::strtod(number.c_str(), nullptr) * scale;
  // A week is far beyond any use and far inside what nanoseconds hold.
  if (!std::isfinite(ns) || ns > 7 * 24 * 3600e9) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<long long>(std::llround(ns)));
}

std::optional<RunOptions> parse_run_options(int argc, char** argv, UsageError& error) {
  RunOptions o;
  error.command = "run";
  error.json = wants_json(argc, argv);
  // '+': stop at PROGRAM, so that its own options stay its own.
  const int first = parse_options(argc, argv, "+:h", kRunOptions, o, error);
  if (first < 0) return std::nullopt;
  if (o.help) return o;
  o.argv.assign(argv + first, argv + argc);
  error.message = check_combination(o);
  if (!error.message.empty()) return std::nullopt;
  return o;
}

std::optional<InspectOptions> parse_inspect_options(int argc, char** argv, UsageError& error) {
  InspectOptions o;
  error.command = "inspect";
  error.json = wants_json(argc, argv);
  // No '+': options may follow PID, as GNU tools take them.
  const int first = parse_options(argc, argv, ":h", kInspectOptions, o, error);
  if (first < 0) return std::nullopt;
  if (o.help) return o;
  error.message = check_combination(o, argc - first, argv + first);
  if (!error.message.empty()) return std::nullopt;
  if (auto pid = parse_positive(argv[first], std::numeric_limits<pid_t>::max())) {
    o.pid = static_cast<pid_t>(*pid);
    return o;
  }
  error.message = std::string("PID: '") + argv[first] + "' is not a process id (a whole number from 1 to " +
                  std::to_string(std::numeric_limits<pid_t>::max()) + ")";
  return std::nullopt;
}

}  // namespace taskport_cli
