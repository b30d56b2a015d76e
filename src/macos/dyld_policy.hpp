// SPDX-License-Identifier: MIT
// Whether dyld will insert the preload (DYLD_INSERT_LIBRARIES) into a child
// that posix_spawn has just started — decided in the parent, right after
// the spawn, from what the kernel reports about the child (csops: its
// code-signing flags and entitlements; sysctl: set-id) and from the
// executable's Mach-O slice that runs, so that a refusal is reported at
// once instead of after the preload timeout.
//
// What dyld does (dyld-1378, the policy itself is AMFI's
// amfi_check_dyld_policy_self, closed): for a restricted process it
// ignores every DYLD_* variable and deletes them from the environment
// (dyld/DyldProcessConfig.cpp PathOverrides, pruneEnvVars) — the program
// runs without the preload; restricted are platform binaries (SIP),
// CS_RESTRICT, set-id, a __RESTRICT segment, and the hardened runtime
// without com.apple.security.cs.allow-dyld-environment-variables (Apple
// docs; dyld-852.2 dyld2.cpp configureProcessRestrictions for the classic
// rule). Where the variable is honoured but the library cannot load —
// another architecture, library validation (a hardened-runtime program
// loads only its own team's libraries unless it has
// com.apple.security.cs.disable-library-validation), a missing file —
// dyld halts the program: abort_with_payload, i.e. SIGABRT before main
// (dyld/DyldRuntimeState.cpp loadInsertedLibraries, dyldMain.cpp halt).
#pragma once

#include <sys/types.h>

#include <string>

namespace taskport::backend {

struct DyldVerdict {
  // errno to fail with at once — EPERM: dyld ignores DYLD_* for the
  // program; ENOEXEC: the preload has no slice the program can load — or 0
  // if the preload may work.
  int refuse = 0;
  std::string reason;        // for refuse
  std::string likely_cause;  // when the preload may still fail (e.g. library validation)
};

// `pid`: the child posix_spawn just started (not yet reaped); `path`: the
// file it executed; `preload`: the library in its DYLD_INSERT_LIBRARIES.
DyldVerdict check_dyld_policy(pid_t pid, const std::string& path, const std::string& preload);

// The text appended to "no task port from the child" errors (ESRCH: it
// exited first; ETIMEDOUT). `signal` is the signal that ended the child
// (SIGABRT: dyld refused to load the preload), or 0.
std::string preload_hint(const std::string& path, const DyldVerdict& verdict, int signal);

// The detail of a posix_spawn that failed with EBADARCH: which
// architectures the file has and which this Mac runs.
std::string bad_architecture_detail(const std::string& path);

}  // namespace taskport::backend
