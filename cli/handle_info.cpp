// SPDX-License-Identifier: MIT
#include "handle_info.hpp"

#include <fstream>

#if defined(__APPLE__)
#include <libproc.h>
#include <mach/mach.h>
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

// The kernel states which pid a pidfd names in /proc/self/fdinfo/<fd>
// ("Pid:"; -1 once the process is reaped): an independent check that the
// handle names the child.
std::optional<long long> pidfd_pid(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Pid:", 0) == 0) return std::stoll(line.substr(4));
  }
  return std::nullopt;
}

}  // namespace

HandleInfo describe(const taskport::Task& task) {
  HandleInfo info;
  info.kind = "pidfd";
  info.handle = task.native_handle();
  info.handle_pid = pidfd_pid(task.native_handle());
  const std::string proc = "/proc/" + std::to_string(task.pid());
  std::ifstream stat(proc + "/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // The command name may contain spaces and parentheses: the state follows
    // the last ')'.
    const auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size()) info.state = line[close + 2];
  }
  std::ifstream comm(proc + "/comm");
  std::string name;
  if (std::getline(comm, name)) info.name = name;
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
