// SPDX-License-Identifier: MIT
// Which task a port or a message sender is, as the kernel's audit token
// says it: the pid and the pid version. The version changes at every exec
// (xnu bsd/kern/kern_exec.c exec_handle_sugid: "Update the process' identity
// version … ensure we always see a modified identity version"; fork and
// spawn assign a fresh one, kern_fork.c forkproc), so (pid, version) names
// one program image, as a task port does.
#pragma once

#include <bsm/audit.h>
#include <sys/types.h>

namespace taskport::backend {

struct TaskIdentity {
  pid_t pid = -1;
  int pid_version = -1;
};

// The layout (bsd/kern/kern_prot.c proc_calc_audit_token): val[5] the pid,
// val[7] the pid version. Read directly, as xnu itself does
// (kern_prot.c get_audit_token_pid; kern_proc.c csops_audittoken compares
// val[5] and val[7]); libbsm's audit_token_to_pid / audit_token_to_pidversion
// do the same, and leaving them out keeps -lbsm off every link line (the
// static library, taskport.pc). kern_prot.c asks callers to use libbsm
// rather than the layout; it has not changed since audit tokens carried a
// pid version.
inline TaskIdentity identity_of(const audit_token_t& token) noexcept {
  TaskIdentity id;
  id.pid = static_cast<pid_t>(token.val[5]);
  id.pid_version = static_cast<int>(token.val[7]);
  return id;
}

}  // namespace taskport::backend
