// SPDX-License-Identifier: MIT
// The parent project's program: uses taskport built as its subproject.
#include <cstdio>
#include <exception>

#include <taskport/taskport.hpp>

int main() {
  try {
    auto [child, task] = taskport::Command("/bin/true").spawn_with_task();
    const bool same = task.pid() == child.pid();
    const taskport::ExitStatus status = child.wait();
    if (!same || !status.success()) {
      std::fprintf(stderr, "parent_app: /bin/true: %s\n", status.to_string().c_str());
      return 1;
    }
    std::printf("parent_app: taskport %s: ok\n", taskport::library_version());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parent_app: %s\n", e.what());
    return 1;
  }
}
