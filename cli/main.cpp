// SPDX-License-Identifier: MIT
// taskport — command-line front end (taskport(1), docs/cli-json.md).
//
//   taskport run [OPTIONS] -- PROGRAM [ARGS...]
//   taskport inspect [OPTIONS] PID
//   taskport help [run | inspect]
//   taskport --version | --help
#include <unistd.h>

#include <cstring>
#include <string>

#include <taskport/taskport.hpp>

#include "exit_codes.hpp"
#include "inspect.hpp"
#include "options.hpp"
#include "relay.hpp"
#include "report.hpp"
#include "run.hpp"

namespace {

using taskport_cli::kExitTaskportFailed;

int print(const char* text) { return taskport_cli::write_all(STDOUT_FILENO, text) ? 0 : kExitTaskportFailed; }

int refuse(const std::string& message) {
  (void)taskport_cli::write_all(STDERR_FILENO, "taskport: " + message + "\nTry 'taskport --help'.\n");
  return kExitTaskportFailed;
}

int help(int argc, char** argv) {
  if (argc <= 2) return print(taskport_cli::kUsage);
  if (std::strcmp(argv[2], "run") == 0) return print(taskport_cli::kRunUsage);
  if (std::strcmp(argv[2], "inspect") == 0) return print(taskport_cli::kInspectUsage);
  return refuse(std::string("no help for '") + argv[2] + "': the commands are run, inspect and help");
}

int run(int argc, char** argv) {
  taskport_cli::UsageError error;
  const auto options = taskport_cli::parse_run_options(argc - 1, argv + 1, error);
  if (!options) return taskport_cli::report_usage_error(error);
  if (options->help) return print(taskport_cli::kRunUsage);
  return taskport_cli::run(*options);
}

int inspect(int argc, char** argv) {
  taskport_cli::UsageError error;
  const auto options = taskport_cli::parse_inspect_options(argc - 1, argv + 1, error);
  if (!options) return taskport_cli::report_usage_error(error);
  if (options->help) return print(taskport_cli::kInspectUsage);
  return taskport_cli::inspect(*options);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return refuse("missing command");
  const std::string command = argv[1];
  if (command == "run") return run(argc, argv);
  if (command == "inspect") return inspect(argc, argv);
  if (command == "help" || command == "--help" || command == "-h") return help(argc, argv);
  if (command == "--version") {
    return print(("taskport " + std::string(taskport::version) + "\n").c_str());
  }
  return refuse("unknown command '" + command + "'");
}
