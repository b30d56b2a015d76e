// SPDX-License-Identifier: MIT
// taskport — command-line front end.
//
//   taskport run [--suspended] [--json] -- PROGRAM [ARGS...]
//
// Spawns PROGRAM with a task handle, shows what the handle shows (identity,
// registers, a memory sample, usage, threads, regions), resumes it if it was
// started suspended, waits, and reports the exit status. Exits with
// the child's exit code (128 + signal if a signal killed it).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <taskport/taskport.hpp>

#include "handle_info.hpp"
#include "json.hpp"
#include "snapshot.hpp"

namespace {

constexpr const char* kUsage =
    "usage: taskport run [--suspended] [--json] [--via-preload [--preload-timeout MS]] -- PROGRAM [ARGS...]\n"
    "       taskport --version | --help\n"
    "\n"
    "run         spawn PROGRAM with a task handle, print what the handle shows,\n"
    "            wait for it and print its exit status\n"
    "--suspended the child stops before its first instruction; taskport shows\n"
    "            it in that state, then resumes it\n"
    "--json      one JSON object on stdout; the child's stdout goes to stderr\n"
    "--via-preload\n"
    "            get the handle from the program itself, after exec: a preloaded\n"
    "            library (LD_PRELOAD / DYLD_INSERT_LIBRARIES) sends it before main\n"
    "            (found beside taskport's installed library; $TASKPORT_PRELOAD_LIBRARY\n"
    "            overrides that, and must be set to run it from a build tree)\n"
    "--preload-timeout MS\n"
    "            how long to wait for the handle (default 10000)\n";

struct Options {
  bool suspended = false;
  bool json = false;
  bool via_preload = false;
  std::optional<long> preload_timeout_ms;
  std::vector<std::string> argv;
};

int usage_error(const std::string& message) {
  std::cerr << "taskport: " << message << "\n" << kUsage;
  return 2;
}

taskport_cli::JsonObject handle_json(const taskport_cli::HandleInfo& info) {
  taskport_cli::JsonObject o;
  o.field("kind", info.kind).field("value", info.handle);
  if (info.handle_pid) o.field("names_pid", *info.handle_pid);
  else o.null_field("names_pid");
  if (info.state) o.field("state", taskport_cli::state_name(*info.state));
  else o.null_field("state");
  if (info.name) o.field("name", *info.name);
  else o.null_field("name");
  return o;
}

void print_handle(const char* title, const taskport_cli::HandleInfo& info) {
  std::printf("%s\n", title);
  std::printf("  handle      %s %lld\n", info.kind.c_str(), info.handle);
  if (info.handle_pid) std::printf("  names pid   %lld\n", *info.handle_pid);
  if (info.name) std::printf("  name        %s\n", info.name->c_str());
  if (info.state) std::printf("  state       %s\n", taskport_cli::state_name(*info.state).c_str());
  std::fflush(stdout);
}

int exit_code_of(const taskport::ExitStatus& status) {
  if (status.code()) return *status.code();
  return 128 + status.signal().value_or(0);
}

int run(const Options& opt) {
  taskport::Command cmd(opt.argv[0]);
  for (size_t i = 1; i < opt.argv.size(); ++i) cmd.arg(opt.argv[i]);
  if (opt.json) cmd.standard_output(taskport::Stdio::fd(STDERR_FILENO));
  cmd.start_suspended(opt.suspended);
  if (opt.via_preload) cmd.task_via_preload();
  if (opt.preload_timeout_ms) cmd.preload_timeout(std::chrono::milliseconds(*opt.preload_timeout_ms));

  auto [child, task] = cmd.spawn_with_task();
  // Suspended: the snapshot shows the program before its first instruction.
  // Otherwise it is taken right after execve, with the task briefly suspended.
  const taskport_cli::Snapshot snap = taskport_cli::take_snapshot(task);
  const taskport_cli::HandleInfo& at_spawn = snap.handle;
  if (!opt.json) {
    std::printf("spawned     %s\n", opt.argv[0].c_str());
    std::printf("pid         %d\n", child.pid());
    const char* title = !opt.suspended    ? "task (right after execve):"
                        : opt.via_preload ? "task (suspended before main, in the preload's initializer):"
                                          : "task (suspended before its first instruction):";
    print_handle(title, at_spawn);
    taskport_cli::print_snapshot(snap);
  }
  if (opt.suspended) task.resume();
  const taskport::ExitStatus status = child.wait();

  if (opt.json) {
    taskport_cli::JsonObject exit;
    if (status.code()) exit.field("code", static_cast<long long>(*status.code()));
    if (status.signal())
      exit.field("signal", static_cast<long long>(*status.signal()))
          .field("core_dumped", status.core_dumped());
    taskport_cli::JsonObject out;
    out.field("program", opt.argv[0])
        .field("pid", static_cast<long long>(child.pid()))
        .field("suspended", opt.suspended)
        .field("handle", handle_json(at_spawn))
        .field("snapshot", taskport_cli::snapshot_json(snap))
        .field("exit", exit);
    std::printf("%s\n", out.str().c_str());
  } else {
    std::printf("exit        %s\n", status.to_string().c_str());
  }
  return exit_code_of(status);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("missing command");
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    std::cout << "taskport " << taskport::version << "\n";
    return 0;
  }
  if (args[0] != "run") return usage_error("unknown command '" + args[0] + "'");

  Options opt;
  size_t i = 1;
  for (; i < args.size(); ++i) {
    if (args[i] == "--") {
      ++i;
      break;
    }
    if (args[i] == "--suspended") opt.suspended = true;
    else if (args[i] == "--json") opt.json = true;
    else if (args[i] == "--via-preload") opt.via_preload = true;
    else if (args[i] == "--preload-timeout") {
      if (i + 1 >= args.size()) return usage_error("--preload-timeout needs a value in milliseconds");
      char* end = nullptr;
      const long ms = std::strtol(args[++i].c_str(), &end, 10);
      if (*end != '\0' || ms <= 0) return usage_error("bad --preload-timeout '" + args[i] + "'");
      opt.preload_timeout_ms = ms;
    } else if (!args[i].empty() && args[i][0] == '-') return usage_error("unknown option '" + args[i] + "'");
    else break;
  }
  opt.argv.assign(args.begin() + static_cast<long>(i), args.end());
  if (opt.argv.empty()) return usage_error("missing PROGRAM");

  try {
    return run(opt);
  } catch (const taskport::Error& e) {
    std::cerr << e.what() << "\n";
    return 127;
  }
}
