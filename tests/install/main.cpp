// SPDX-License-Identifier: MIT
// Consumer of an installed taskport: spawns /bin/true and checks its exit.
#include <cstdio>
#include <exception>
#include <utility>

#include <taskport/taskport.hpp>

int main() {
  static_assert(TASKPORT_VERSION_MAJOR >= 0, "taskport/version.hpp is reachable");
  try {
    auto [child, task] = taskport::Command("/bin/true").spawn_with_task();
    if (task.pid() != child.pid()) {
      std::fprintf(stderr, "consumer: task pid %d != child pid %d\n", static_cast<int>(task.pid()),
                   static_cast<int>(child.pid()));
      return 1;
    }
    const taskport::ExitStatus status = child.wait();
    if (!status.success()) {
      std::fprintf(stderr, "consumer: /bin/true ended with %s\n", status.to_string().c_str());
      return 1;
    }
    std::printf("consumer: taskport %s: /bin/true %s\n", taskport::version, status.to_string().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
