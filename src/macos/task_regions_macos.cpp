// SPDX-License-Identifier: MIT
// The macOS Task's address space: Task::regions() and Task::region_at().
//
// mach_vm_region_recurse walks the task's VM map, descending into submaps
// (the dyld shared cache is one) so that each mapping is reported on its
// own, as vmmap(1) does. The file behind a region comes from
// proc_regionfilename, which takes the pid: it is asked only while the
// task's exit watch says the process is alive (its pid is then ours).
// Device and inode are not reported (left 0).
//
// Resident sizes (regions_with_resident_size): the full submap info asked
// for here (VM_REGION_SUBMAP_INFO_COUNT_64) makes the kernel visit every page
// of the region (xnu osfmk/vm/vm_map.c vm_map_region_recurse_64: with
// *count >= VM_REGION_SUBMAP_INFO_V0_COUNT_64, look_for_pages is TRUE and
// vm_map_region_walk counts pages_resident), so regions() already pays for
// the count and only the unit needs working out (resident_page_size below).
#include <errno.h>
#include <libproc.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <sys/param.h>

#include <string>

#include "common/usable.hpp"
#include "macos/exit_watch.hpp"
#include "macos/mach_error.hpp"
#include "macos/task_impl.hpp"

namespace taskport {

namespace {

using backend::kern_error;

bool is_malloc_tag(unsigned tag) {
  switch (tag) {
    case VM_MEMORY_MALLOC:
    case VM_MEMORY_MALLOC_SMALL:
    case VM_MEMORY_MALLOC_LARGE:
    case VM_MEMORY_MALLOC_HUGE:
    case VM_MEMORY_MALLOC_TINY:
    case VM_MEMORY_MALLOC_LARGE_REUSABLE:
    case VM_MEMORY_MALLOC_LARGE_REUSED:
    case VM_MEMORY_MALLOC_NANO:
    case VM_MEMORY_MALLOC_MEDIUM: return true;
    default: return false;
  }
}

// The unit of pages_resident for this task: xnu osfmk/vm/vm_map.c counts in
// the "effective page size" 1 << vm_self_region_page_shift(target_map): the
// caller's page size when it equals the target's, else the smaller of the two
// (4 KiB for a Rosetta target on an arm64 host; always 4 KiB on x86_64). The
// target's is task_info(TASK_VM_INFO).page_size (osfmk/kern/task.c:
// vm_map_page_size of its map). A per-thread override
// (thread_self_region_page_shift) is never set by taskport.
std::uint64_t resident_page_size(const Task::Impl& t) {
  task_vm_info_data_t vm{};
  mach_msg_type_number_t count = TASK_VM_INFO_COUNT;
  const kern_return_t kr =
      ::task_info(t.port.get(), TASK_VM_INFO, reinterpret_cast<task_info_t>(&vm), &count);
  if (kr != KERN_SUCCESS) throw kern_error(kr, Step::read_regions, t.program, "task_info(TASK_VM_INFO)");
  const auto own = static_cast<std::uint64_t>(vm_page_size);
  const auto target = static_cast<std::uint64_t>(vm.page_size);
  return target != 0 && target < own ? target : own;
}

// The next leaf region at or above `address`; false past the last one.
// `resident_unit`: fill resident_bytes in pages of that size (0: leave it absent).
bool next_region(const Task::Impl& t, std::uint64_t address, Region& out, std::uint64_t resident_unit) {
  mach_vm_address_t start = address;
  mach_vm_size_t size = 0;
  natural_t depth = 0;
  vm_region_submap_info_data_64_t info{};
  while (true) {
    mach_msg_type_number_t count = VM_REGION_SUBMAP_INFO_COUNT_64;
    const kern_return_t kr = ::mach_vm_region_recurse(
        t.port.get(), &start, &size, &depth, reinterpret_cast<vm_region_recurse_info_t>(&info), &count);
    if (kr == KERN_INVALID_ADDRESS) return false;  // nothing at or above `address`
    if (kr != KERN_SUCCESS) throw kern_error(kr, Step::read_regions, t.program, "mach_vm_region_recurse");
    if (!info.is_submap) break;
    ++depth;  // look inside the submap at the same address
  }
  out = Region();
  out.start = start;
  out.end = start + size;
  out.protection.read = (info.protection & VM_PROT_READ) != 0;
  out.protection.write = (info.protection & VM_PROT_WRITE) != 0;
  out.protection.execute = (info.protection & VM_PROT_EXECUTE) != 0;
  out.shared = info.share_mode == SM_SHARED || info.share_mode == SM_TRUESHARED ||
               info.share_mode == SM_SHARED_ALIASED;
  out.offset = info.offset;
  if (resident_unit != 0)
    out.resident_bytes = static_cast<std::uint64_t>(info.pages_resident) * resident_unit;

  char path[MAXPATHLEN];
  const int n = ::proc_regionfilename(t.pid, start, path, sizeof path);
  if (n > 0) out.path.assign(path, static_cast<std::size_t>(n));

  if (!out.path.empty()) {
    out.kind = RegionKind::file;
  } else if (info.user_tag == VM_MEMORY_STACK) {
    out.kind = RegionKind::stack;
  } else if (is_malloc_tag(info.user_tag)) {
    out.kind = RegionKind::heap;
  } else {
    out.kind = RegionKind::anonymous;
  }
  return true;
}

// Paths came from the pid: they are ours only if the process is still alive.
void check_alive(const Task::Impl& t) {
  if (t.exit_kq && backend::exit_watch_fired(t.exit_kq.get(), t.program)) {
    throw Error(ESRCH, Step::read_regions, t.program, "the task has exited");
  }
}

// Every region in address order; resident_unit as for next_region.
std::vector<Region> all_regions(const Task::Impl& t, std::uint64_t resident_unit) {
  std::vector<Region> regions;
  std::uint64_t address = 0;
  Region r;
  while (next_region(t, address, r, resident_unit)) {
    address = r.end;
    regions.push_back(std::move(r));
    if (address == 0) break;  // wrapped at the top of the address space
  }
  check_alive(t);
  return regions;
}

}  // namespace

std::vector<Region> Task::regions() const {
  return all_regions(common::usable(impl_, Step::read_regions), 0);
}

std::vector<Region> Task::regions_with_resident_size() const {
  common::usable(impl_, Step::read_regions);
  return all_regions(*impl_, resident_page_size(*impl_));
}

std::optional<Region> Task::region_at(std::uint64_t address) const {
  common::usable(impl_, Step::read_regions);
  Region r;
  if (!next_region(*impl_, address, r, 0) || !r.contains(address)) {
    check_alive(*impl_);
    return std::nullopt;
  }
  check_alive(*impl_);
  return r;
}

}  // namespace taskport
