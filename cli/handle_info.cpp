// SPDX-License-Identifier: MIT
#include "handle_info.hpp"

#include <fstream>
#include <sstream>

#if defined(__APPLE__)
#include <libproc.h>
#include <mach/mach.h>
#else
#include "linux/proc_parse.hpp"
#endif

namespace taskport_cli {

#if defined(__APPLE__)

// macOS: the kernel tells which pid a task port names (pid_for_task), and
// libproc the process name; there is no /proc.
HandleInfo describe(const taskport::Task& task) {
  HandleInfo info;
  info.kind = "mach task port";
  info.handle = task.native_handle();
  int pid = -1;
  if (pid_for_task(task.native_handle(), &pid) == KERN_SUCCESS) info.handle_pid = pid;
  char name[2 * MAXCOMLEN + 1] = {};
  if (proc_name(task.pid(), name, sizeof name) > 0) info.name = name;
  return info;
}

#else

namespace {

// The whole of a small /proc file, or nothing.
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

// The text goes through the library's tested /proc parsers
// (src/linux/proc_parse.hpp, compiled into the CLI: cli/CMakeLists.txt).
HandleInfo describe(const taskport::Task& task) {
  HandleInfo info;
  info.kind = "pidfd";
  info.handle = task.native_handle();
  // The kernel states which pid a pidfd names in /proc/self/fdinfo/<fd>
  // ("Pid:"; -1 once the process is reaped): an independent check that the
  // handle names the child.
  if (auto fdinfo = read_file("/proc/self/fdinfo/" + std::to_string(task.native_handle()))) {
    if (auto pid = taskport::backend::key_signed_value(*fdinfo, "Pid")) info.handle_pid = *pid;
  }
  if (auto stat = read_file("/proc/" + std::to_string(task.pid()) + "/stat")) {
    if (auto parsed = taskport::backend::parse_stat(*stat)) {
      info.state = parsed->state;
      info.name = parsed->comm;
    }
  }
  return info;
}

#endif  // __APPLE__

std::string state_name(char state) {
  switch (state) {
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "disk sleep";
    case 'T': return "stopped";
    case 't': return "tracing stop";
    case 'Z': return "zombie";
    case 'X': return "dead";
    default: return std::string(1, state);
  }
}

}  // namespace taskport_cli
