// SPDX-License-Identifier: MIT
// The seed example (spawn-task-port's README), in C++ with taskport.
//
// The program re-runs itself with --child. The child blocks reading its
// stdin; the parent, holding the child's task handle, queries the child
// through it and prints what it learns, then closes the child's stdin and
// waits. The child exits when its stdin closes.
//
// On Linux the handle is a pidfd; the query reads the kernel's record of
// the process the pidfd names (/proc/self/fdinfo names the pid; /proc/<pid>
// gives its state). On macOS the port is examples/macos_extmod_example.cpp:
// the handle is the Mach task port and the query is
// task_info(TASK_EXTMOD_INFO), as in the seed.
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <taskport/taskport.hpp>

namespace {

int child_main() {
  char buf[256];
  while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  return 0;
}

std::string fdinfo_line(int fd, const char* key) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return line;
  }
  return std::string(key) + " (unknown)";
}

std::string status_line(pid_t pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return line;
  }
  return std::string(key) + " (unknown)";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--child") == 0) return child_main();

  try {
    auto [child, task] = taskport::Command("/proc/self/exe")
                             .arg0(argv[0])
                             .arg("--child")
                             .standard_input(taskport::Stdio::piped())
                             .spawn_with_task();

    std::printf("child pid %d, task handle: pidfd %d\n", child.pid(), task.native_handle());
    std::printf("  handle fdinfo  %s\n", fdinfo_line(task.native_handle(), "Pid:").c_str());
    std::printf("  alive          %s\n", task.is_alive() ? "yes" : "no");
    std::printf("  child %s\n", status_line(task.pid(), "State:").c_str());
    std::printf("  child %s\n", status_line(task.pid(), "Threads:").c_str());
    std::printf("  child %s\n", status_line(task.pid(), "VmRSS:").c_str());

    child.stdin_pipe().reset();  // the child's read() now returns 0: it exits
    const taskport::ExitStatus status = child.wait();
    std::printf("child finished: %s; handle now says alive=%s\n", status.to_string().c_str(),
                task.is_alive() ? "yes" : "no");
    return status.success() ? 0 : 1;
  } catch (const taskport::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
