// SPDX-License-Identifier: MIT
// Support for the macOS tests (tests/macos): the helper programs, reading
// their lines without ever waiting past a deadline, and the kernel's own
// view of a task port and of this Mac (task_info, the audit token,
// mach_port_names, sysctl) — the outside oracles the tests compare
// taskport's answers with.
#pragma once

#include <mach/mach.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"
#include "taskport/taskport.hpp"

namespace tp_mach {

using namespace std::chrono_literals;
using tp_test::kLong;

// Every spawn_with_task() of these tests waits up to this long for the
// preload, so that a refusal that waited for it would show (the tests
// require refusals well within it).
inline constexpr std::chrono::milliseconds kPreloadTimeout = 60s;
// What "at once" means for a refusal: far below kPreloadTimeout.
inline constexpr std::chrono::milliseconds kPrompt = 15s;

// The helper programs (built by tests/macos/CMakeLists.txt).
const std::string& target_path();                              // tp_mach_target (links taskport)
const std::string& arch_target_path(const std::string& arch);  // tp_arch_target_<arm64|x86_64>
const std::string& sandboxed_spawner_path();                   // tp_sandboxed_spawner
const std::string& extmod_example_path();                      // examples/macos_extmod_example
const std::string& preload_path();                             // the build tree's libtaskport_preload.dylib

// Command(target_path()) with the arguments, stdin and stdout piped, and
// the tests' preload timeout.
taskport::Command target(std::initializer_list<std::string> args);

constexpr std::uint64_t kMarker = 0x7461736b706f7274ULL;  // "taskport", as the targets hold it

// Reads a child's output line by line, never waiting past a deadline.
class Lines {
 public:
  explicit Lines(int fd) : fd_(fd) {}
  // The next line (without '\n'), or "" (and a test failure) at EOF or
  // after `timeout`.
  std::string next(std::chrono::milliseconds timeout = kLong);
  // Reads the serve report of tp_mach_target up to "ready": name → value text.
  std::map<std::string, std::string> serve_report();

 private:
  int fd_;
  std::string buf_;
};

// "address 0x… value 0x…" → the address (records a failure otherwise).
std::uint64_t parse_address(const std::string& line);
std::uint64_t parse_hex(const std::string& text);
// The first "0x<hex>" number in `text` (0 if none).
std::uint64_t first_hex(const std::string& text);

// A running `tp_mach_target serve` with its Task and startup report
// (helpers/mach_target.cpp); the child is killed when this goes.
struct Served {
  taskport::Child child;
  taskport::Task task;
  Lines lines;
  std::map<std::string, std::string> report;

  explicit Served(std::pair<taskport::Child, taskport::Task> spawned);
  // The address the report gives for `key` ("address", "code", "counter").
  std::uint64_t address(const std::string& key) { return first_hex(report[key]); }
  // Sends one command line; returns the answer line.
  std::string ask(const std::string& command);
};
// spawn_with_task() of tp_mach_target serve.
Served serve();

// The kernel's view of a task port.
struct AuditIdentity {
  pid_t pid = -1;
  unsigned version = 0;
};
std::optional<AuditIdentity> audit_identity(mach_port_t task);  // task_info(TASK_AUDIT_TOKEN)
std::optional<int> kernel_suspend_count(mach_port_t task);      // MACH_TASK_BASIC_INFO
std::optional<pid_t> pid_of_port(mach_port_t task);             // pid_for_task
// Port names in this task (mach_port_names): a leak of any right shows here.
std::size_t port_name_count();

// This Mac.
bool host_is_arm64();        // Apple silicon (also when this test runs under Rosetta)
bool rosetta_runs_x86_64();  // /usr/bin/arch -x86_64 /usr/bin/true exits 0
// Developer Mode, as the environment says: TASKPORT_TEST_DEVELOPER_MODE=on|off
// (the workflow sets it from the system), else the sysctl
// security.mac.amfi.developer_mode_status, else on for Intel (xnu
// bsd/kern/code_signing/xnu.c: developer_mode_storage = true where no
// code-signing monitor runs). Records a failure and returns nullopt when
// nothing says.
std::optional<bool> developer_mode_on();

// Runs argv (the first is a path or a PATH name) with stdout and stderr
// captured together, bounded by `timeout` (killed after); returns the
// output and the exit status.
struct Ran {
  std::string output;
  taskport::ExitStatus status = taskport::ExitStatus::exited(-1);
};
Ran run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s,
        const std::vector<std::pair<std::string, std::string>>& env = {});

// A copy of `source` at `path`, mode 0755.
void copy_file(const std::string& source, const std::string& path);

}  // namespace tp_mach
