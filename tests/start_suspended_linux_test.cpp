// SPDX-License-Identifier: MIT
// start_suspended() on Linux: the post-exec stop is a ptrace stop held by a
// library thread. The portable tests are in start_suspended_test.cpp.
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Command;
using taskport::Stdio;

namespace {

// A suspended probe whose first act would be to create `marker`.
Command suspended_toucher(const std::string& marker) {
  Command cmd = probe({"--touch", marker});
  cmd.start_suspended().standard_output(Stdio::null()).standard_error(Stdio::null());
  return cmd;
}

}  // namespace

TEST(StartSuspendedTracer, TheTracerIsALibraryThreadUntilResume) {
  // command.hpp: the post-exec stop is held by taskport's tracer thread — a
  // thread of this process, not the one that called spawn — and the last
  // resume() detaches it.
  TempDir dir;
  auto [child, task] = suspended_toucher(dir / "started").spawn_with_task();
  child.kill_on_drop(true);
  const pid_t tracer = tracer_pid(child.pid());
  EXPECT_NE(tracer, 0);
  EXPECT_NE(tracer, static_cast<pid_t>(syscall(SYS_gettid)));
  EXPECT_TRUE(file_exists("/proc/self/task/" + std::to_string(tracer)))
      << "tracer " << tracer << " is not ours";
  task.resume();
  EXPECT_EQ(tracer_pid(child.pid()), 0);
}
