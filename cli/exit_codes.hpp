// SPDX-License-Identifier: MIT
// taskport's exit status, as GNU env(1) and timeout(1) choose theirs:
//
//   the child's exit code     the child exited
//   128 + N                   signal N killed the child
//   127                       PROGRAM not found: ENOENT when resolving it or
//                             at execve (also a "#!" naming a missing
//                             interpreter, which execve reports as ENOENT)
//   126                       PROGRAM found but not runnable: any other execve
//                             errno (EACCES, ENOEXEC, ...), a failure while
//                             setting the child up before execve, or a
//                             program the preload cannot enter (static,
//                             setuid: --via-preload)
//   125                       taskport itself failed: a refused command line,
//                             a failure of its own (the handle, the preload
//                             not found or timing out), or an exit status
//                             taskport could not know (ExitStatus::unknown():
//                             SIGCHLD ignored, the kernel discarded it)
#pragma once

#include <taskport/error.hpp>
#include <taskport/exit_status.hpp>

namespace taskport_cli {

constexpr int kExitTaskportFailed = 125;
constexpr int kExitCannotRun = 126;
constexpr int kExitNotFound = 127;

int exit_code_of(const taskport::ExitStatus& status) noexcept;
int exit_code_of(const taskport::Error& error) noexcept;

}  // namespace taskport_cli
