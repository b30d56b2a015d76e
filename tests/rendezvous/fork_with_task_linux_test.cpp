// SPDX-License-Identifier: MIT
// fork_with_task on Linux: the forked child's handle keeps working when the
// child drops its privileges (uids, dumpable, capabilities). The portable
// tests are in fork_with_task_test.cpp.
#include <errno.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "rdv_support.hpp"
#include "support.hpp"
#include "taskport/fork_with_task.hpp"
#include "taskport/taskport.hpp"

using namespace tp_rdv;
using taskport::fork_with_task;

namespace {

// Memory the test looks at in the forked child (its copy).
volatile int g_value = 1;

// Blocks until one byte arrives (or EOF). Async-signal-safe.
void await_byte(int fd) {
  char c;
  while (::read(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

void send_byte(int fd) {
  const char c = 'x';
  while (::write(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

}  // namespace

TEST(ForkWithTask, TaskKeepsWorkingAfterTheChildDropsItsPrivileges) {
  // Root forks the fixture, the fixture becomes uid 65534 and non-dumpable,
  // the reader then drops to uid 1000 with no capability: process_vm_readv
  // is refused, and the Task falls back to the mem fd the fixture handed
  // over before it dropped anything.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to change users";
  auto facts = in_process_as(0, [](const Say& say) {
    tp_test::Pipe ready = tp_test::make_pipe();
    tp_test::Pipe done = tp_test::make_pipe();
    auto [child, task] = fork_with_task([&] {
      ::close(done.write.get());  // the reader's exit is EOF here, whatever happens
      if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, 65534, 65534, 65534) != 0 ||
          ::syscall(SYS_setresuid, 65534, 65534, 65534) != 0) {
        return 2;
      }
      ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
      g_value = 65534;
      send_byte(ready.write.get());
      await_byte(done.read.get());
      return 0;
    });
    child.kill_on_drop(true);
    if (!tp_test::poll_readable(ready.read.get(), kLong)) {
      say("exception", "the fixture never became ready");
      return;
    }
    if (::setgroups(0, nullptr) != 0 || ::setresgid(1000, 1000, 1000) != 0 ||
        ::setresuid(1000, 1000, 1000) != 0) {
      say("exception", "could not become uid 1000");
      return;
    }
    say("capeff", effective_capabilities());
    say("value", std::to_string(task.read_value<int>(reinterpret_cast<std::uint64_t>(&g_value))));
    send_byte(done.write.get());
  });
  EXPECT_EQ(facts["exception"], "");
  EXPECT_EQ(facts["capeff"], "0000000000000000");
  EXPECT_EQ(facts["value"], "65534");
}
