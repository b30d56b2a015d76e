// SPDX-License-Identifier: MIT
// The seed example (spawn-task-port's README and examples/), ported to C++
// with taskport, macOS only: spawn this very program as a child that blocks
// on its stdin, get the child's Mach task port, and ask the kernel through
// it how often the child was modified from outside (TASK_EXTMOD_INFO). No
// task_for_pid anywhere.
//
// Unlike the seed, the port here is the one of the running program: the
// child's preload initializer sends it after exec (the seed's pre-exec port
// names a task that exec terminates; see README "macOS: the exec finding").
// Needs the preload library: installed with taskport, or named by
// TASKPORT_PRELOAD_LIBRARY.
#include <mach-o/dyld.h>
#include <mach/mach.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <taskport/taskport.hpp>

namespace {

// std::env::current_exe() on macOS.
std::string current_exe() {
  uint32_t size = 0;
  _NSGetExecutablePath(nullptr, &size);
  std::vector<char> path(size);
  if (_NSGetExecutablePath(path.data(), &size) != 0) return std::string();
  return std::string(path.data());
}

}  // namespace

int main(int argc, char** argv) {
  // Use this example as its own target: the child reads its stdin to EOF.
  if (argc > 1 && std::strcmp(argv[1], "--child") == 0) {
    char buf[256];
    while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
    }
    return 0;
  }

  try {
    // Create the Command as usual.
    auto [child, task] =
        taskport::Command(current_exe())
            .arg("--child")
            .standard_input(taskport::Stdio::piped())  // the child blocks on stdin, waiting forever
            .standard_output(taskport::Stdio::piped())
            .spawn_with_task();  // here's the important part

    // Now we have a task port! Example use: task_info, to check whether the
    // process has been modified from outside.
    task_extmod_info_data_t info;
    std::memset(&info, 0, sizeof info);
    mach_msg_type_number_t count = TASK_EXTMOD_INFO_COUNT;
    const kern_return_t kr =
        task_info(task.native_handle(), TASK_EXTMOD_INFO, reinterpret_cast<task_info_t>(&info), &count);
    if (kr != KERN_SUCCESS) {
      std::fprintf(stderr, "task_info(TASK_EXTMOD_INFO): %s\n", mach_error_string(kr));
      return 1;
    }
    // No task_for_pid usage!
    const vm_extmod_statistics_data_t& s = info.extmod_statistics;
    std::printf(
        "Child process %d modification statistics: vm_extmod_statistics_data_t {\n"
        "    task_for_pid_count: %" PRId64
        ",\n"
        "    task_for_pid_caller_count: %" PRId64
        ",\n"
        "    thread_creation_count: %" PRId64
        ",\n"
        "    thread_creation_caller_count: %" PRId64
        ",\n"
        "    thread_set_state_count: %" PRId64
        ",\n"
        "    thread_set_state_caller_count: %" PRId64
        ",\n"
        "}\n",
        child.pid(), static_cast<int64_t>(s.task_for_pid_count),
        static_cast<int64_t>(s.task_for_pid_caller_count), static_cast<int64_t>(s.thread_creation_count),
        static_cast<int64_t>(s.thread_creation_caller_count), static_cast<int64_t>(s.thread_set_state_count),
        static_cast<int64_t>(s.thread_set_state_caller_count));

    // wait() closes the child's stdin, so it exits.
    const taskport::ExitStatus status = child.wait();
    if (!status.success()) {
      std::fprintf(stderr, "child should have exited normally: %s\n", status.to_string().c_str());
      return 1;
    }
    return 0;
  } catch (const taskport::Error& e) {
    std::fprintf(stderr, "failed to spawn child: %s\n", e.what());
    return 1;
  }
}
