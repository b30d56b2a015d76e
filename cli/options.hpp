// SPDX-License-Identifier: MIT
// The command lines of `taskport run` and `taskport inspect`, parsed with
// getopt_long.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace taskport_cli {

struct RunOptions {
  std::vector<std::chrono::nanoseconds> at;                 // --at, in the order given
  std::optional<std::chrono::nanoseconds> every;            // --every
  std::optional<long> count;                                // --count (needs --every)
  bool at_exit = false;                                     // --at-exit
  bool suspended = false;                                   // --suspended
  bool via_preload = false;                                 // --via-preload
  std::optional<std::chrono::nanoseconds> preload_timeout;  // --preload-timeout (needs --via-preload)
  bool json = false;                                        // --json
  bool help = false;                                        // -h, --help
  std::vector<std::string> argv;                            // PROGRAM [ARGS...]
};

struct InspectOptions {
  std::optional<std::chrono::nanoseconds> every;  // --every
  std::optional<long> count;                      // --count (needs --every)
  bool json = false;                              // --json
  bool help = false;                              // -h, --help
  pid_t pid = 0;                                  // PID
};

// A command line taskport refuses, and why. Exit status 125.
struct UsageError {
  std::string command;  // "run", "inspect"
  std::string message;
  bool json = false;  // --json was among the options: say it in JSON too
};

// Parses the arguments after "run" (argv[0] is "run"). Returns the options,
// or the first reason to refuse them in `error`.
std::optional<RunOptions> parse_run_options(int argc, char** argv, UsageError& error);
// The same for the arguments after "inspect" (argv[0] is "inspect").
std::optional<InspectOptions> parse_inspect_options(int argc, char** argv, UsageError& error);

// "250ms", "2s", "1.5s", "1m", "1h": a non-negative decimal number and a
// unit. nullopt for anything else (a bare number has no unit).
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text);

// How `taskport run --help`, `taskport inspect --help` and `taskport help`
// describe the commands.
extern const char* const kRunUsage;
extern const char* const kInspectUsage;
extern const char* const kUsage;

}  // namespace taskport_cli
