// SPDX-License-Identifier: MIT
#include "exit_codes.hpp"

#include <errno.h>

namespace taskport_cli {

int exit_code_of(const taskport::ExitStatus& status) noexcept {
  if (status.is_unknown()) return kExitTaskportFailed;  // the kernel or another wait had the status
  if (status.code()) return *status.code();
  return 128 + status.signal().value_or(0);
}

int exit_code_of(const taskport::Error& error) noexcept {
  using taskport::Step;
  switch (error.step()) {
    case Step::resolve_program:
    case Step::execve: return error.errno_value() == ENOENT ? kExitNotFound : kExitCannotRun;
    // The child exists and failed to become PROGRAM (taskport's own pre_exec
    // hook among them: it fails only when taskport died meanwhile).
    case Step::signal_reset:
    case Step::setsid:
    case Step::setpgid:
    case Step::chdir:
    case Step::pre_exec_hook:
    case Step::ptrace_traceme:
    case Step::signal_mask:
    case Step::child_died: return kExitCannotRun;
    // EBADF is the parent's check of a descriptor it was to place (taskport's
    // own stderr closed under --json), before any child exists.
    case Step::redirect_fds: return error.errno_value() == EBADF ? kExitTaskportFailed : kExitCannotRun;
    // --via-preload: the program ran but the preload cannot enter it
    // (static: ENOEXEC; secure execution, setuid: EPERM).
    case Step::accept_task:
      return error.errno_value() == ENOEXEC || error.errno_value() == EPERM ? kExitCannotRun
                                                                            : kExitTaskportFailed;
    default: return kExitTaskportFailed;
  }
}

}  // namespace taskport_cli
