// SPDX-License-Identifier: MIT
// Why dyld would ignore DYLD_INSERT_LIBRARIES for a program, as far as the
// spawner can tell from the file. dyld drops every DYLD_* variable for
// setuid/setgid programs, for platform binaries under System Integrity
// Protection (/bin, /sbin, /usr/bin, /usr/sbin, /usr/libexec, /System), for
// programs with the hardened runtime (without the entitlement
// com.apple.security.cs.allow-dyld-environment-variables) and for programs
// with a __RESTRICT segment; and it cannot load a dylib of another
// architecture into the process.
#pragma once

#include <string>

namespace taskport::backend {

struct DyldVerdict {
  // errno to fail with at once (EPERM: setuid/setgid; ENOEXEC: no slice of
  // the preload's architecture), 0 if the preload may work.
  int refuse = 0;
  std::string reason;  // for refuse, or a likely cause for a later timeout
};

// Looks at the executable `path` (and a #! interpreter): mode bits, Mach-O
// header (thin or fat), location.
DyldVerdict check_dyld_policy(const std::string& path);

// The text appended to "no task port from the child" errors.
std::string preload_hint(const std::string& path, const std::string& likely_cause);

}  // namespace taskport::backend
