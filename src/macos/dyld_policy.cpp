// SPDX-License-Identifier: MIT
#include "macos/dyld_policy.hpp"

#include <errno.h>
#include <mach/machine.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macos/code_signing.hpp"
#include "macos/macho_file.hpp"

namespace taskport::backend {
namespace {

std::string host_name(cpu_type_t host) { return host == CPU_TYPE_ARM64 ? "arm64" : "x86_64"; }

// The file that actually runs: a script's #! interpreter (one level, as
// the kernel follows it), else the file itself.
std::string running_file(const std::string& path, ExecutableFile& file) {
  file = read_executable(path);
  if (file.kind != ExecutableFile::Kind::script || file.interpreter.empty()) return path;
  const std::string interpreter = file.interpreter;
  file = read_executable(interpreter);
  return interpreter;
}

// True if exec of `file` changes this process's credentials: set-uid to
// another owner, or set-gid to another group (the condition of xnu
// bsd/kern/kern_exec.c exec_handle_sugid; what P_SUGID then records).
bool file_changes_ids(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return false;
  return ((st.st_mode & S_ISUID) && st.st_uid != ::geteuid()) ||
         ((st.st_mode & S_ISGID) && st.st_gid != ::getegid());
}

DyldVerdict refuse(int error, std::string reason) {
  DyldVerdict v;
  v.refuse = error;
  v.reason = std::move(reason);
  return v;
}

// What the kernel says about the child: platform, set-id, CS_RESTRICT,
// hardened runtime without the entitlement (refusals), library validation
// (a likely cause).
DyldVerdict by_code_signing(pid_t pid, const std::string& file) {
  const CodeSigningState cs = code_signing_of(pid);
  if (cs.has(cs::kPlatformBinary)) {
    return refuse(EPERM, file +
                             " is a platform binary (CS_PLATFORM_BINARY): with System Integrity Protection "
                             "dyld ignores DYLD_INSERT_LIBRARIES for it");
  }
  if (is_set_id(pid) || file_changes_ids(file)) {
    return refuse(EPERM, file +
                             " is set-uid or set-gid for this user (P_SUGID): dyld ignores "
                             "DYLD_INSERT_LIBRARIES for it");
  }
  if (cs.has(cs::kRestrict)) {
    return refuse(EPERM, file + " is restricted (CS_RESTRICT): dyld ignores DYLD_INSERT_LIBRARIES for it");
  }
  DyldVerdict v;
  if (cs.has(cs::kRuntime)) {
    if (cs.entitlements_known && !cs.allow_dyld_environment) {
      return refuse(EPERM, file +
                               " has the hardened runtime (CS_RUNTIME) without the entitlement "
                               "com.apple.security.cs.allow-dyld-environment-variables: dyld ignores "
                               "DYLD_INSERT_LIBRARIES for it");
    }
    if (!cs.disable_library_validation) {
      v.likely_cause = "library validation: " + file +
                       " has the hardened runtime without com.apple.security.cs.disable-library-validation, "
                       "so dyld loads only libraries signed by its own team and aborts the program (SIGABRT) "
                       "for the preload";
    }
  } else if (cs.has(cs::kRequireLv)) {
    v.likely_cause = "library validation: " + file +
                     " requires it (CS_REQUIRE_LV), so dyld loads only libraries signed by its own team and "
                     "aborts the program (SIGABRT) for the preload";
  }
  return v;
}

// The Mach-O slice that runs: __RESTRICT, and whether the preload has a
// slice it can load.
DyldVerdict by_slice(const std::string& file, const ExecutableFile& exe, const std::string& preload) {
  const cpu_type_t host = host_cpu();
  const MachOSlice* slice = running_slice(exe, host);
  if (slice == nullptr) return {};  // not Mach-O as far as we can read: posix_spawn knew better
  if (slice->restricted) {
    return refuse(EPERM,
                  file + " has a __RESTRICT,__restrict section: dyld ignores DYLD_INSERT_LIBRARIES for it");
  }
  const ExecutableFile library = read_executable(preload);
  if (library.kind != ExecutableFile::Kind::macho || loads_into(library, *slice)) return {};
  std::string why = file + " runs as " + slice->arch_name() + " on this " + host_name(host) + " Mac";
  if (host == CPU_TYPE_ARM64 && slice->cpu == CPU_TYPE_X86_64) why += " (under Rosetta)";
  why +=
      ", and the preload library " + preload + " has " + library.arch_names() + " only: dyld would abort it";
  if (slice->arm64e()) why += " (an arm64e process loads arm64e code only)";
  else why += " (build the preload universal: CMAKE_OSX_ARCHITECTURES=\"x86_64;arm64\")";
  return refuse(ENOEXEC, why);
}

}  // namespace

DyldVerdict check_dyld_policy(pid_t pid, const std::string& path, const std::string& preload) {
  ExecutableFile exe;
  const std::string file = running_file(path, exe);
  DyldVerdict v = by_code_signing(pid, file);
  if (v.refuse != 0) return v;
  DyldVerdict slice = by_slice(file, exe, preload);
  if (slice.refuse != 0) return slice;
  return v;
}

std::string preload_hint(const std::string& path, const DyldVerdict& verdict, int signal) {
  std::string hint = "the preload library's initializer never ran in " + path + " — ";
  if (signal == SIGABRT) {
    hint +=
        "the program was aborted (SIGABRT) before it sent its port: dyld aborts a program whose inserted "
        "library it cannot load — ";
    hint += verdict.likely_cause.empty()
                ? std::string(
                      "library validation (a hardened-runtime program without "
                      "com.apple.security.cs.disable-library-validation loads only its own team's "
                      "libraries), an architecture the preload lacks, or a missing file")
                : verdict.likely_cause;
    hint += " (the crash report in ~/Library/Logs/DiagnosticReports names the reason). ";
  } else if (signal == SIGKILL) {
    hint +=
        "the program was killed (SIGKILL) before it sent its port: code signing (CS_KILL on an invalid "
        "page) or Mach hardening (EXC_GUARD) — see the crash report. ";
  } else if (!verdict.likely_cause.empty()) {
    hint += verdict.likely_cause + ". ";
  } else {
    hint +=
        "a program that execs another one before main, or closes the variable's effect in its own "
        "initializers, loses it. ";
  }
  hint +=
      "Run a copy signed without the hardened runtime, or have the program call "
      "taskport::send_task_to_spawner() itself (Rendezvous)";
  return hint;
}

std::string bad_architecture_detail(const std::string& path) {
  const ExecutableFile exe = read_executable(path);
  return path + " has " + exe.arch_names() + " code; this Mac runs " + host_name(host_cpu()) +
         (host_cpu() == CPU_TYPE_ARM64 ? " (x86_64 only where Rosetta is installed)" : "");
}

}  // namespace taskport::backend
