// SPDX-License-Identifier: MIT
#include "macos/macho_file.hpp"

#include <fcntl.h>
#include <mach-o/fat.h>
#include <mach-o/loader.h>
#include <sys/sysctl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "taskport/unique_fd.hpp"

namespace taskport::backend {
namespace {

// Load commands of a real program fit in far less; more is not a Mach-O
// file the kernel would run.
constexpr std::size_t kMaxLoadCommands = 256 * 1024;

std::uint32_t be32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

std::uint64_t be64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

bool read_at(int fd, std::uint64_t offset, void* out, std::size_t size) {
  auto* p = static_cast<unsigned char*>(out);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n <= 0) return false;
    p += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Scans the load commands of the 64-bit slice at `offset` for a
// __RESTRICT,__restrict section.
bool has_restrict_section(int fd, std::uint64_t offset, const mach_header_64& h) {
  if (h.sizeofcmds == 0 || h.sizeofcmds > kMaxLoadCommands) return false;
  std::vector<unsigned char> cmds(h.sizeofcmds);
  if (!read_at(fd, offset + sizeof h, cmds.data(), cmds.size())) return false;
  std::size_t at = 0;
  for (std::uint32_t i = 0; i < h.ncmds && at + sizeof(load_command) <= cmds.size(); ++i) {
    load_command lc;
    std::memcpy(&lc, cmds.data() + at, sizeof lc);
    if (lc.cmdsize < sizeof lc || at + lc.cmdsize > cmds.size()) return false;
    if (lc.cmd == LC_SEGMENT_64 && lc.cmdsize >= sizeof(segment_command_64)) {
      segment_command_64 seg;
      std::memcpy(&seg, cmds.data() + at, sizeof seg);
      if (std::strncmp(seg.segname, "__RESTRICT", sizeof seg.segname) == 0) {
        for (std::uint32_t k = 0; k < seg.nsects; ++k) {
          const std::size_t sect_at = at + sizeof seg + k * sizeof(section_64);
          if (sect_at + sizeof(section_64) > at + lc.cmdsize) break;
          section_64 sect;
          std::memcpy(&sect, cmds.data() + sect_at, sizeof sect);
          if (std::strncmp(sect.sectname, "__restrict", sizeof sect.sectname) == 0) return true;
        }
      }
    }
    at += lc.cmdsize;
  }
  return false;
}

// The slice whose Mach-O header is at `offset`, if it is a 64-bit one.
bool read_slice(int fd, std::uint64_t offset, MachOSlice& slice) {
  mach_header_64 h;
  if (!read_at(fd, offset, &h, sizeof h) || h.magic != MH_MAGIC_64) return false;
  slice.cpu = h.cputype;
  slice.subtype = h.cpusubtype;
  slice.restricted = has_restrict_section(fd, offset, h);
  return true;
}

void read_fat(int fd, const unsigned char* head, ExecutableFile& file) {
  std::uint32_t magic;
  std::memcpy(&magic, head, 4);
  const bool wide = magic == FAT_CIGAM_64;
  const std::uint32_t count = be32(head + 4);
  const std::size_t entry = wide ? sizeof(fat_arch_64) : sizeof(fat_arch);
  for (std::uint32_t i = 0; i < count && i < 64; ++i) {
    unsigned char e[sizeof(fat_arch_64)];
    if (!read_at(fd, sizeof(fat_header) + i * entry, e, entry)) break;
    const std::uint64_t offset = wide ? be64(e + 8) : be32(e + 8);
    MachOSlice slice;
    if (read_slice(fd, offset, slice)) file.slices.push_back(slice);
  }
}

}  // namespace

bool MachOSlice::arm64e() const noexcept {
  return cpu == CPU_TYPE_ARM64 &&
         (subtype & ~static_cast<cpu_subtype_t>(CPU_SUBTYPE_MASK)) == CPU_SUBTYPE_ARM64E;
}

std::string MachOSlice::arch_name() const {
  if (cpu == CPU_TYPE_X86_64) return "x86_64";
  if (cpu == CPU_TYPE_ARM64) return arm64e() ? "arm64e" : "arm64";
  return "cpu " + std::to_string(cpu);
}

std::string ExecutableFile::arch_names() const {
  std::string names;
  for (const MachOSlice& s : slices) names += (names.empty() ? "" : ", ") + s.arch_name();
  return names.empty() ? std::string("none") : names;
}

ExecutableFile read_executable(const std::string& path) {
  ExecutableFile file;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  unsigned char head[512];
  const ssize_t n = fd ? ::pread(fd.get(), head, sizeof head, 0) : -1;
  if (n < 8) return file;
  if (head[0] == '#' && head[1] == '!') {
    file.kind = ExecutableFile::Kind::script;
    const char* p = reinterpret_cast<const char*>(head) + 2;
    const char* end = reinterpret_cast<const char*>(head) + n;
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    const char* q = p;
    while (q < end && *q != ' ' && *q != '\t' && *q != '\n') ++q;
    file.interpreter.assign(p, static_cast<std::size_t>(q - p));
    return file;
  }
  std::uint32_t magic;
  std::memcpy(&magic, head, 4);
  file.kind = ExecutableFile::Kind::other;
  if (magic == MH_MAGIC_64) {
    MachOSlice slice;
    if (read_slice(fd.get(), 0, slice)) file.slices.push_back(slice);
  } else if (magic == FAT_CIGAM || magic == FAT_CIGAM_64) {
    read_fat(fd.get(), head, file);
  }
  if (!file.slices.empty()) file.kind = ExecutableFile::Kind::macho;
  return file;
}

cpu_type_t host_cpu() {
#if defined(__x86_64__)
  int translated = 0;
  size_t size = sizeof translated;
  if (::sysctlbyname("sysctl.proc_translated", &translated, &size, nullptr, 0) == 0 && translated == 1) {
    return CPU_TYPE_ARM64;
  }
  return CPU_TYPE_X86_64;
#else
  return CPU_TYPE_ARM64;
#endif
}

const MachOSlice* running_slice(const ExecutableFile& file, cpu_type_t host) {
  const MachOSlice* best = nullptr;
  int best_grade = 0;
  for (const MachOSlice& s : file.slices) {
    int grade = 0;
    if (host == CPU_TYPE_ARM64) {
      if (s.cpu == CPU_TYPE_ARM64) grade = s.arm64e() ? 12 : 10;
      if (s.cpu == CPU_TYPE_X86_64) grade = 1;  // Rosetta
    } else if (s.cpu == CPU_TYPE_X86_64) {
      grade = 10;
    }
    if (grade > best_grade) {
      best = &s;
      best_grade = grade;
    }
  }
  return best;
}

bool loads_into(const ExecutableFile& library, const MachOSlice& target) {
  for (const MachOSlice& s : library.slices) {
    if (s.cpu != target.cpu) continue;
    if (target.cpu != CPU_TYPE_ARM64 || !target.arm64e() || s.arm64e()) return true;
  }
  return false;
}

}  // namespace taskport::backend
