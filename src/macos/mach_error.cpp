// SPDX-License-Identifier: MIT
#include "macos/mach_error.hpp"

#include <errno.h>
#include <mach/mach_error.h>

#include <cstdio>

namespace taskport::backend {

int errno_from_kern(kern_return_t kr) noexcept {
  switch (kr) {
    case KERN_SUCCESS: return 0;
    case KERN_INVALID_ADDRESS:
    case KERN_PROTECTION_FAILURE: return EFAULT;
    case KERN_NO_SPACE:
    case KERN_RESOURCE_SHORTAGE: return ENOMEM;
    case MACH_SEND_INVALID_DEST:
    case KERN_INVALID_ARGUMENT:
    case KERN_TERMINATED:
    case MIG_SERVER_DIED: return ESRCH;
    case KERN_NO_ACCESS:
    case KERN_INVALID_RIGHT: return EPERM;
    case KERN_OPERATION_TIMED_OUT: return ETIMEDOUT;
    default: return EIO;
  }
}

std::string kern_text(const char* call, kern_return_t kr) {
  char code[32];
  std::snprintf(code, sizeof code, " (0x%x)", static_cast<unsigned>(kr));
  std::string text = call;
  text += ": ";
  text += ::mach_error_string(kr);
  text += code;
  return text;
}

Error kern_error(kern_return_t kr, Step step, const std::string& program, const char* call,
                 const std::string& what) {
  std::string detail = what.empty() ? std::string() : what + ": ";
  detail += kern_text(call, kr);
  const int error = errno_from_kern(kr);
  if (error == ESRCH) {
    detail +=
        "; the task port no longer names a live task (the process exited, or exec'd a new program — "
        "exec replaces the Mach task)";
  }
  return Error(error, step, program, detail);
}

}  // namespace taskport::backend
