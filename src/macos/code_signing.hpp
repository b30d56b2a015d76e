// SPDX-License-Identifier: MIT
// The code-signing state of a running process, as the kernel tells any
// caller (csops, no root needed) — what decides whether dyld will honour
// DYLD_INSERT_LIBRARIES in it. sys/codesign.h and kern/cs_blobs.h are not
// in the public SDK: the calls and values are declared here from xnu.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace taskport::backend {

// xnu osfmk/kern/cs_blobs.h (the flags CS_OPS_STATUS reports).
namespace cs {
inline constexpr std::uint32_t kValid = 0x1;
inline constexpr std::uint32_t kAdhoc = 0x2;
inline constexpr std::uint32_t kGetTaskAllow = 0x4;
inline constexpr std::uint32_t kHard = 0x100;
inline constexpr std::uint32_t kKill = 0x200;
inline constexpr std::uint32_t kRestrict = 0x800;
inline constexpr std::uint32_t kEnforcement = 0x1000;
inline constexpr std::uint32_t kRequireLv = 0x2000;
inline constexpr std::uint32_t kRuntime = 0x10000;  // codesign -o runtime (the hardened runtime)
inline constexpr std::uint32_t kPlatformBinary = 0x4000000;
inline constexpr std::uint32_t kDebugged = 0x10000000;
}  // namespace cs

struct CodeSigningState {
  bool known = false;  // csops(CS_OPS_STATUS) answered
  std::uint32_t flags = 0;
  bool entitlements_known = false;  // the entitlements blob could be read
  // com.apple.security.cs.allow-dyld-environment-variables: a hardened
  // runtime program honours DYLD_* only with it.
  bool allow_dyld_environment = false;
  // com.apple.security.cs.disable-library-validation: without it a
  // hardened-runtime program loads only libraries signed by its own team.
  bool disable_library_validation = false;

  bool has(std::uint32_t flag) const noexcept { return known && (flags & flag) != 0; }
};

// csops(pid, CS_OPS_STATUS) and the entitlements blob (XML, else DER) of
// process `pid`. Both ops are open to any caller for any pid (xnu
// bsd/kern/kern_proc.c csops_internal: not in the root-only set; only the
// MAC hook mac_proc_check_get_cs_info applies). For a process just returned
// by posix_spawn the answer is final for its image: posix_spawn activates
// the image in the caller (kern_exec.c exec_mach_imgact →
// proc_csflags_update) before it returns, and before dyld runs. Unknown
// fields (an exited process: ESRCH) stay false.
CodeSigningState code_signing_of(pid_t pid);

// True if the kernel marks process `pid` as having changed credentials at
// exec (P_SUGID: a set-uid or set-gid program run by another user, which
// dyld treats as restricted — issetugid()); false if not, or unknown.
bool is_set_id(pid_t pid);

}  // namespace taskport::backend
