// SPDX-License-Identifier: MIT
// Mach's kern_return_t in taskport's errno-based Error model.
#pragma once

#include <mach/mach.h>
#include <sys/types.h>

#include <string>

#include "taskport/error.hpp"

namespace taskport::backend {

// The errno closest to a kern_return_t from a call on a task port:
//   KERN_INVALID_ADDRESS, KERN_PROTECTION_FAILURE → EFAULT (not mapped /
//   not readable); KERN_NO_SPACE, KERN_RESOURCE_SHORTAGE → ENOMEM;
//   MACH_SEND_INVALID_DEST, KERN_INVALID_ARGUMENT, KERN_TERMINATED,
//   MIG_SERVER_DIED → ESRCH (the port no longer names a live task: it
//   exited, or exec'd — see README "macOS: the exec finding");
//   KERN_NO_ACCESS, KERN_INVALID_RIGHT → EPERM; KERN_OPERATION_TIMED_OUT →
//   ETIMEDOUT; anything else → EIO.
int errno_from_kern(kern_return_t kr) noexcept;

// "mach_vm_read_overwrite: (os/kern) invalid address (0x1)".
std::string kern_text(const char* call, kern_return_t kr);

// Error(errno_from_kern(kr), step, program, what + kern_text(call, kr)), for
// a call on the task whose Error::program() is `program`. For ESRCH the
// detail also says that the port's task is gone (exited, or replaced by an
// exec).
Error kern_error(kern_return_t kr, Step step, const std::string& program, const char* call,
                 const std::string& what = {});

}  // namespace taskport::backend
