// SPDX-License-Identifier: MIT
// Support for the Command option tests: seccomp filters that refuse one
// system call (to force a fallback), and the kernel's view of a child.
#pragma once

#include <sys/types.h>

#include <string>

#include "task_support.hpp"

namespace tp_command {

using namespace std::chrono_literals;
using tp_test::kLong;

// In a subprocess (tp_task::in_subprocess): makes system call `nr` fail
// with `error` from now on, in this process and its children. "" or a
// problem.
std::string refuse_syscall(long nr, int error);
// The same for clone3 and clone with CLONE_PIDFD (the spawn's fallback:
// the child sends its pidfd over a socket).
std::string refuse_clone_pidfd(int error);

// The value of "Key:" in /proc/<pid>/status with its blanks squeezed
// ("65534 65534 65534 65534"), or "" if absent.
std::string status_field(pid_t pid, const std::string& key);
// The line of /proc/<pid>/limits that starts with `name` ("Max open
// files"), its columns squeezed to single blanks.
std::string limits_line(pid_t pid, const std::string& name);

}  // namespace tp_command
