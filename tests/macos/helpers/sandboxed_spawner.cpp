// SPDX-License-Identifier: MIT
// tp_sandboxed_spawner PRELOAD TARGET — the spawner, run by the test under
// sandbox-exec -p '(version 1)(allow default)(deny mach-register)': there
// launchd refuses bootstrap_check_in (BOOTSTRAP_NOT_PRIVILEGED), so
// spawn_with_task() must take the registered-ports route. Prints one line
// per fact, "end" last, and exits 0 if it could say them all:
//   launchd <errno> <step>        what the launchd route gives (Rendezvous
//                                 with Command::MachRoute::launchd)
//   spawn ok <pid> 0x<marker>     spawn_with_task() of TARGET print (automatic
//                                 route): the child's pid and the marker read
//                                 through its Task
//   explicit ok <pid>             the same with MachRoute::registered_ports
//   or "<what> error <errno> <step>: <what()>" for a failure.
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <taskport/rendezvous.hpp>
#include <taskport/taskport.hpp>

namespace {

using taskport::Command;

// Spawns TARGET print through the preload on `route`; reads the marker.
void spawn_and_read(const char* what, const std::string& target, Command::MachRoute route) {
  try {
    Command cmd(target);
    cmd.arg("print").standard_input(taskport::Stdio::piped()).standard_output(taskport::Stdio::piped());
    cmd.mach_route(route).preload_timeout(std::chrono::seconds(60));
    auto [child, task] = cmd.spawn_with_task();
    std::string line;
    char c;
    while (::read(child.stdout_pipe().get(), &c, 1) == 1 && c != '\n') line += c;
    unsigned long long address = 0, value = 0;
    if (std::sscanf(line.c_str(), "address 0x%llx value 0x%llx", &address, &value) != 2) {
      std::printf("%s error 0 none: unexpected line '%s'\n", what, line.c_str());
      return;
    }
    std::printf("%s ok %d 0x%" PRIx64 "\n", what, static_cast<int>(task.pid()),
                task.read_value<std::uint64_t>(address));
    child.stdin_pipe().reset();
    child.wait();
  } catch (const taskport::Error& e) {
    std::printf("%s error %d %s: %s\n", what, e.errno_value(), taskport::to_string(e.step()), e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  taskport::set_preload_library(argv[1]);
  const std::string target = argv[2];
  try {
    taskport::Rendezvous launchd(taskport::Rendezvous::Start::at_once, Command::MachRoute::launchd);
    std::printf("launchd 0 none\n");
  } catch (const taskport::Error& e) {
    std::printf("launchd %d %s\n", e.errno_value(), taskport::to_string(e.step()));
  }
  spawn_and_read("spawn", target, Command::MachRoute::automatic);
  spawn_and_read("explicit", target, Command::MachRoute::registered_ports);
  std::printf("end\n");
  return 0;
}
