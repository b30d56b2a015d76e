// SPDX-License-Identifier: MIT
// What the spawner can read from an executable file before dyld runs in the
// child: its Mach-O slices (thin or universal), which one the kernel runs on
// this Mac, and whether that slice asks dyld to ignore DYLD_* variables.
#pragma once

#include <mach/machine.h>

#include <string>
#include <vector>

namespace taskport::backend {

struct MachOSlice {
  cpu_type_t cpu = 0;
  cpu_subtype_t subtype = 0;  // as in the header, with the capability bits
  // The slice has a __RESTRICT,__restrict section: dyld then treats the
  // program as restricted and ignores DYLD_* (dyld-1378
  // mach_o/UnsafeHeader.cpp isRestricted → AMFI_DYLD_INPUT_PROC_HAS_RESTRICT_SEG).
  bool restricted = false;

  // (cpusubtype & ~CPU_SUBTYPE_MASK) == CPU_SUBTYPE_ARM64E (xnu osfmk/mach/machine.h).
  bool arm64e() const noexcept;
  std::string arch_name() const;  // "x86_64", "arm64", "arm64e", or "cpu <n>"
};

struct ExecutableFile {
  enum class Kind { unreadable, macho, script, other } kind = Kind::unreadable;
  std::string interpreter;         // for a script: the #! program
  std::vector<MachOSlice> slices;  // for Mach-O: one (thin) or more (universal)
  std::string arch_names() const;  // "x86_64, arm64"
};

// Reads the headers and load commands of `path` (no more than that).
ExecutableFile read_executable(const std::string& path);

// The CPU the kernel runs programs for: arm64 also when this process is an
// x86_64 one under Rosetta (sysctl.proc_translated, xnu
// bsd/kern/kern_sysctl.c; absent on Intel).
cpu_type_t host_cpu();

// The slice the kernel picks on this Mac, or nullptr if none runs. arm64
// hosts grade arm64e above arm64 (V8, then ALL) (xnu
// bsd/dev/arm/kern_machdep.c grade_binary; Apple silicon hosts are arm64e)
// and run x86_64 under Rosetta only when no arm64 slice is there; x86_64
// hosts run x86_64 slices only (the x86_64h grading does not change which
// preload slice dyld loads: both take the x86_64 one).
const MachOSlice* running_slice(const ExecutableFile& file, cpu_type_t host);

// True if dyld can insert a library with `library`'s slices into a process
// running `target`: the same CPU type, and for arm64 the same arm64e-ness
// (an arm64e process loads arm64e code only: dyld-1378
// mach_o/GradedArchitectures.cpp load_arm64e; an arm64 one takes arm64 and
// arm64e with the keys off).
bool loads_into(const ExecutableFile& library, const MachOSlice& target);

}  // namespace taskport::backend
