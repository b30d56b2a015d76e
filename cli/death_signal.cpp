// SPDX-License-Identifier: MIT
// The hook runs in the child between clone and execve, on the parent's
// memory (taskport/command.hpp, PreExecHook): raw system calls only. This
// file is built without sanitizers (cli/CMakeLists.txt), as the library
// builds its own child code, so that no sanitizer hook runs there either.
//
// PR_SET_PDEATHSIG kills the child when its parent *thread* exits, that is
// the thread that ran the clone: taskport's main thread, or with
// --suspended the library's tracer thread, which is never ended before the
// process exits (src/linux/tracer.cpp: a detached loop in a never-destroyed
// object). So the signal comes exactly when taskport dies. execve keeps the
// setting (prctl(2): it is cleared only for set-user-ID, set-group-ID or
// file-capability programs, which then outlive taskport). If taskport died
// before the prctl, the child has already been re-parented and the signal
// will never come: getppid() then no longer names taskport, and the child
// gives up before execve.
#include "death_signal.hpp"

#if defined(__linux__)
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace taskport_cli {
namespace {

struct DieWithParent {
  pid_t parent;
  int operator()() const noexcept {
    if (::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return errno;
    if (::syscall(SYS_getppid) != parent) return ESRCH;
    return 0;
  }
};

}  // namespace

taskport::PreExecHook die_with_parent(pid_t parent) { return DieWithParent{parent}; }

}  // namespace taskport_cli
#endif
