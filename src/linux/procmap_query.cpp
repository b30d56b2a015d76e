// SPDX-License-Identifier: MIT
#include "linux/procmap_query.hpp"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <string_view>

#include "linux/proc_maps.hpp"
#include "posix/eintr.hpp"
#include "posix/read_to_end.hpp"
#include "taskport/unique_fd.hpp"

// The UAPI of include/uapi/linux/fs.h (Linux 6.11+), for headers older than
// that (Debian 12 ships linux-libc-dev 6.1). The layout is ABI: the kernel
// takes any struct size from 24 bytes up (copy_struct_from_user), and this
// is the full 6.11 struct, 104 bytes.
#ifndef PROCMAP_QUERY
enum procmap_query_flags {
  PROCMAP_QUERY_VMA_READABLE = 0x01,
  PROCMAP_QUERY_VMA_WRITABLE = 0x02,
  PROCMAP_QUERY_VMA_EXECUTABLE = 0x04,
  PROCMAP_QUERY_VMA_SHARED = 0x08,
  PROCMAP_QUERY_COVERING_OR_NEXT_VMA = 0x10,
  PROCMAP_QUERY_FILE_BACKED_VMA = 0x20,
};

struct procmap_query {
  __u64 size;           // in: sizeof this struct
  __u64 query_flags;    // in: procmap_query_flags
  __u64 query_addr;     // in
  __u64 vma_start;      // out
  __u64 vma_end;        // out
  __u64 vma_flags;      // out: PROCMAP_QUERY_VMA_*
  __u64 vma_page_size;  // out
  __u64 vma_offset;     // out: 0 without a file
  __u64 inode;          // out: 0 without a file
  __u32 dev_major;      // out: 0 without a file
  __u32 dev_minor;      // out: 0 without a file
  __u32 vma_name_size;  // in/out: buffer size; bytes written including the NUL, 0 if no name
  __u32 build_id_size;  // in/out
  __u64 vma_name_addr;  // in
  __u64 build_id_addr;  // in
};

#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
static_assert(sizeof(procmap_query) == 104, "struct procmap_query is 104 bytes in Linux 6.11");
static_assert(PROCMAP_QUERY == 0xC0686611, "the kernel's PROCMAP_QUERY request number");
#endif

namespace taskport::backend {
namespace {

enum class Probe : int { unknown, supported, unsupported };
std::atomic<Probe> g_probe{Probe::unknown};
std::atomic<bool> g_force_text{false};

enum class Answer { found, none, unavailable, failed };

// The kernel copies at most PATH_MAX bytes of a name (fs/proc/task_mmu.c).
constexpr std::size_t kNameBufferSize = PATH_MAX;

// The maps text passes file names through seq_path(…, "\n"), which writes a
// newline as "\012"; the ioctl copies them raw. Other names ("[anon:x]")
// cannot contain a newline.
std::string name_as_printed(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    if (c == '\n') {
      out += "\\012";
    } else {
      out += c;
    }
  }
  return out;
}

// What an ioctl that failed with `e` means (and what it teaches about the
// kernel): the mapping does not exist, the text must answer, or a failure.
Answer refusal(int e, int& error) {
  switch (e) {
    case ENOENT: g_probe.store(Probe::supported, std::memory_order_relaxed); return Answer::none;
    case ENOTTY:  // the maps file has no ioctl: a kernel before 6.11
    case ENOSYS: g_probe.store(Probe::unsupported, std::memory_order_relaxed); return Answer::unavailable;
    case EINVAL:  // a kernel that does not know this request
      if (g_probe.load(std::memory_order_relaxed) == Probe::unknown) {
        g_probe.store(Probe::unsupported, std::memory_order_relaxed);
      }
      return Answer::unavailable;
    case ENAMETOOLONG:  // a name longer than PATH_MAX: only the text can show it
    case E2BIG:
    case EPERM:  // an LSM or seccomp filter refusing the ioctl; open(maps) already passed the access check
    case EACCES: return Answer::unavailable;
    default: error = e; return Answer::failed;
  }
}

// The Region of the kernel's reply to a query at `address` with `flags`,
// validated before use:
// a reply that could not have come from a correct kernel sends the caller to
// the text rather than into a wrong answer or an endless walk.
Answer to_region(const procmap_query& q, std::uint64_t address, std::uint64_t flags, const char* name,
                 Region& r) {
  const bool covering_only = (flags & PROCMAP_QUERY_COVERING_OR_NEXT_VMA) == 0;
  if (q.vma_start >= q.vma_end || q.vma_end <= address || (covering_only && q.vma_start > address)) {
    return Answer::unavailable;
  }
  r = Region{};
  if (name != nullptr && q.vma_name_size != 0) {
    const std::size_t n = q.vma_name_size;  // includes the terminating NUL
    if (n > kNameBufferSize || name[n - 1] != '\0') return Answer::unavailable;
    const std::string_view raw(name, n - 1);
    if (raw.find('\0') != std::string_view::npos) return Answer::unavailable;
    r.path = name_as_printed(raw);
  }
  r.start = q.vma_start;
  r.end = q.vma_end;
  r.protection.read = (q.vma_flags & PROCMAP_QUERY_VMA_READABLE) != 0;
  r.protection.write = (q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE) != 0;
  r.protection.execute = (q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE) != 0;
  r.shared = (q.vma_flags & PROCMAP_QUERY_VMA_SHARED) != 0;
  r.offset = q.vma_offset;
  r.device_major = q.dev_major;
  r.device_minor = q.dev_minor;
  r.inode = q.inode;
  r.kind = kind_of(r.path);
  return Answer::found;
}

// One PROCMAP_QUERY at `address`. `name` is a kNameBufferSize buffer, or
// nullptr when the name is not wanted.
Answer query_one(int maps_fd, std::uint64_t address, std::uint64_t flags, char* name, Region& r, int& error) {
  if (g_force_text.load(std::memory_order_relaxed) ||
      g_probe.load(std::memory_order_relaxed) == Probe::unsupported) {
    return Answer::unavailable;
  }
  procmap_query q{};
  q.size = sizeof q;
  q.query_flags = flags;
  q.query_addr = address;
  if (name != nullptr) {
    q.vma_name_addr = reinterpret_cast<std::uintptr_t>(name);
    q.vma_name_size = kNameBufferSize;
  }
  if (posix::retry_on_eintr([&] { return ::ioctl(maps_fd, PROCMAP_QUERY, &q); }) < 0) {
    return refusal(errno, error);
  }
  g_probe.store(Probe::supported, std::memory_order_relaxed);
  return to_region(q, address, flags, name, r);
}

// ---- The x86-64 vsyscall page ----------------------------------------------
// The kernel lists it ("ffffffffff600000-ffffffffff601000 --xp … [vsyscall]")
// as the last line of /proc/<pid>/maps of every 64-bit task unless booted
// with vsyscall=none. It is the gate area (get_gate_vma), not a VMA of the
// task, so PROCMAP_QUERY never returns it; we add it back so that both paths
// give the same answer. The line is the same for every 64-bit task (the
// mode is kernel-wide), so it is read once from our own maps.
#if defined(__x86_64__) && !defined(__ILP32__)
const std::optional<Region>& gate_region() {
  static const std::optional<Region> gate = []() -> std::optional<Region> {
    UniqueFd fd(::open("/proc/self/maps", O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string text;
    if (posix::read_to_end(fd.get(), text) != 0) return std::nullopt;
    for (Region& r : parse_proc_maps(text).regions) {
      if (r.path == "[vsyscall]") return std::move(r);
    }
    return std::nullopt;
  }();
  return gate;
}
#else
const std::optional<Region>& gate_region() {
  static const std::optional<Region> none;
  return none;
}
#endif

// Only 64-bit tasks have the gate. An ia32 or x32 task cannot map anything
// at or above 4 GiB, and a 64-bit task always has its stack and vDSO there.
constexpr std::uint64_t k4GiB = std::uint64_t{1} << 32;

}  // namespace

QueryStatus query_regions(int maps_fd, std::vector<Region>& out, int& error) {
  out.clear();
  std::string name(kNameBufferSize, '\0');
  std::uint64_t address = 0;
  Region r;
  while (true) {
    const Answer a = query_one(maps_fd, address, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, name.data(), r, error);
    if (a == Answer::none) break;
    if (a == Answer::unavailable) return QueryStatus::unavailable;
    if (a == Answer::failed) return QueryStatus::failed;
    address = r.end;  // strictly increasing (checked in query_one): the walk ends
    out.push_back(std::move(r));
  }
  if (const auto& gate = gate_region();
      gate && !out.empty() && out.back().end > k4GiB && out.back().end <= gate->start) {
    out.push_back(*gate);
  }
  return QueryStatus::ok;
}

QueryStatus query_region_at(int maps_fd, std::uint64_t address, std::optional<Region>& out, int& error) {
  out.reset();
  std::string name(kNameBufferSize, '\0');
  Region r;
  switch (query_one(maps_fd, address, 0, name.data(), r, error)) {
    case Answer::found: out = std::move(r); return QueryStatus::ok;
    case Answer::none: break;
    case Answer::unavailable: return QueryStatus::unavailable;
    case Answer::failed: return QueryStatus::failed;
  }
  const auto& gate = gate_region();
  if (!gate || !gate->contains(address)) return QueryStatus::ok;
  // In the gate page: does the task have a mapping above 4 GiB?
  switch (query_one(maps_fd, k4GiB, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, nullptr, r, error)) {
    case Answer::found: out = *gate; return QueryStatus::ok;
    case Answer::none: return QueryStatus::ok;
    case Answer::unavailable: return QueryStatus::unavailable;
    case Answer::failed: return QueryStatus::failed;
  }
  return QueryStatus::ok;
}

void force_text_path_for_testing(bool force) noexcept {
  g_force_text.store(force, std::memory_order_relaxed);
  if (!force) g_probe.store(Probe::unknown, std::memory_order_relaxed);
}

std::optional<bool> procmap_query_supported() noexcept {
  switch (g_probe.load(std::memory_order_relaxed)) {
    case Probe::supported: return true;
    case Probe::unsupported: return false;
    case Probe::unknown: break;
  }
  return std::nullopt;
}

}  // namespace taskport::backend
