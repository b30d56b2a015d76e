// SPDX-License-Identifier: MIT
#include "macos/dyld_policy.hpp"

#include <errno.h>
#include <fcntl.h>
#include <mach-o/fat.h>
#include <mach-o/loader.h>
#include <mach/machine.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "taskport/unique_fd.hpp"

namespace taskport::backend {
namespace {

#if defined(__x86_64__)
constexpr cpu_type_t kOurCpu = CPU_TYPE_X86_64;
constexpr const char* kOurArch = "x86_64";
#else
constexpr cpu_type_t kOurCpu = CPU_TYPE_ARM64;
constexpr const char* kOurArch = "arm64";
#endif

bool protected_location(const std::string& path) {
  for (const char* prefix : {"/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/libexec/", "/System/"}) {
    if (path.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

std::uint32_t swap32(std::uint32_t v) { return __builtin_bswap32(v); }

enum class Arch { ours, foreign, unknown, script };

// The Mach-O cpu types in the file: thin or fat (big-endian headers).
Arch file_arch(int fd, std::string& interpreter) {
  unsigned char head[4096];
  const ssize_t n = ::pread(fd, head, sizeof head, 0);
  if (n < 8) return Arch::unknown;
  if (head[0] == '#' && head[1] == '!') {
    const char* p = reinterpret_cast<const char*>(head) + 2;
    const char* end = reinterpret_cast<const char*>(head) + n;
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    const char* q = p;
    while (q < end && *q != ' ' && *q != '\t' && *q != '\n') ++q;
    interpreter.assign(p, static_cast<std::size_t>(q - p));
    return Arch::script;
  }
  std::uint32_t magic;
  std::memcpy(&magic, head, 4);
  if (magic == MH_MAGIC_64 || magic == MH_MAGIC) {
    cpu_type_t cpu;
    std::memcpy(&cpu, head + 4, sizeof cpu);
    return cpu == kOurCpu ? Arch::ours : Arch::foreign;
  }
  if (magic == FAT_CIGAM || magic == FAT_CIGAM_64) {
    const std::uint32_t count = swap32(*reinterpret_cast<const std::uint32_t*>(head + 4));
    const std::size_t entry = magic == FAT_CIGAM ? sizeof(fat_arch) : sizeof(fat_arch_64);
    for (std::uint32_t i = 0; i < count && 8 + (i + 1) * entry <= static_cast<std::size_t>(n); ++i) {
      std::uint32_t cpu_be;
      std::memcpy(&cpu_be, head + 8 + i * entry, 4);
      if (static_cast<cpu_type_t>(swap32(cpu_be)) == kOurCpu) return Arch::ours;
    }
    return Arch::foreign;
  }
  return Arch::unknown;
}

}  // namespace

DyldVerdict check_dyld_policy(const std::string& path) {
  DyldVerdict v;
  std::string file = path;
  for (int depth = 0; depth < 2; ++depth) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) return v;  // the spawn itself worked: nothing more to learn
    if (st.st_mode & (S_ISUID | S_ISGID)) {
      v.refuse = EPERM;
      v.reason = file + " is set" + std::string((st.st_mode & S_ISUID) ? "uid" : "gid") +
                 ": dyld ignores DYLD_INSERT_LIBRARIES for it";
      return v;
    }
    std::string interpreter;
    switch (file_arch(fd.get(), interpreter)) {
      case Arch::ours: break;
      case Arch::unknown: break;
      case Arch::foreign:
        v.refuse = ENOEXEC;
        v.reason = file + " has no " + kOurArch + " code (runs under Rosetta, or is for another CPU): the " +
                   kOurArch + " preload library cannot be loaded into it";
        return v;
      case Arch::script:
        if (!interpreter.empty()) {
          file = interpreter;  // what actually runs
          continue;
        }
        break;
    }
    if (protected_location(file)) {
      v.reason = file +
                 " is in a location protected by System Integrity Protection: platform binaries there "
                 "ignore DYLD_INSERT_LIBRARIES";
    }
    return v;
  }
  return v;
}

std::string preload_hint(const std::string& path, const std::string& likely_cause) {
  std::string hint = "the preload library's initializer never ran in " + path + " — ";
  if (!likely_cause.empty()) {
    hint += likely_cause + ". ";
  } else {
    hint +=
        "dyld ignores DYLD_INSERT_LIBRARIES for platform binaries (SIP), hardened-runtime programs without "
        "the "
        "com.apple.security.cs.allow-dyld-environment-variables entitlement, setuid/setgid programs and "
        "programs with a __RESTRICT segment; a program that exec's another one before main also loses it. ";
  }
  hint +=
      "Run a copy signed without the hardened runtime, or have the program call "
      "taskport::send_task_to_spawner() itself (Rendezvous)";
  return hint;
}

}  // namespace taskport::backend
