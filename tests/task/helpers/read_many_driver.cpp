// SPDX-License-Identifier: MIT
// tp_read_many_driver <tp_task_target> <count>: spawns the target, reads
// <count> scattered 8-byte ranges of its buffer with one Task::read_many
// call (every 100th range points at the unmapped hole instead) and prints
// "complete <n> failed <m>". Run under strace by memory_test to count the
// process_vm_readv calls one read_many makes; nothing else runs here that
// could call process_vm_readv.
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "taskport/taskport.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <tp_task_target> <count>\n", argv[0]);
    return 2;
  }
  const size_t count = std::strtoul(argv[2], nullptr, 10);
  taskport::Command cmd(argv[1]);
  cmd.standard_input(taskport::Stdio::piped()).standard_output(taskport::Stdio::piped());
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);

  // The startup report, up to "ready" (10 s at most).
  std::string report;
  while (report.find("ready\n") == std::string::npos) {
    pollfd p{child.stdout_pipe().get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) return 3;
    char buf[4096];
    const ssize_t n = ::read(child.stdout_pipe().get(), buf, sizeof buf);
    if (n <= 0) return 3;
    report.append(buf, static_cast<size_t>(n));
  }
  unsigned long long buffer = 0, hole = 0;
  size_t buffer_size = 0;
  std::istringstream in(report);
  std::string name, value;
  while (in >> name) {
    if (name == "ready") break;
    in >> value;
    if (name == "buffer") {
      buffer = std::strtoull(value.c_str(), nullptr, 0);
      in >> buffer_size;
    } else if (name == "hole") {
      hole = std::strtoull(value.c_str(), nullptr, 0);
    }
  }
  if (buffer == 0 || hole == 0 || buffer_size < 16) return 3;

  std::vector<unsigned char> out(count * 8);
  std::vector<taskport::ReadRequest> requests(count);
  for (size_t i = 0; i < count; ++i) {
    requests[i].address = (i % 100 == 99) ? hole : buffer + (i * 4099) % (buffer_size - 8);
    requests[i].buffer = &out[i * 8];
    requests[i].size = 8;
  }
  const size_t complete = task.read_many(requests);
  std::printf("complete %zu failed %zu\n", complete, count - complete);
  child.kill();
  child.wait_for(std::chrono::seconds(10));
  std::fflush(stdout);
  // _Exit: in sanitizer builds LeakSanitizer would run at exit, and it
  // aborts under ptrace (strace).
  std::_Exit(0);
}
