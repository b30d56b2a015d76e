// SPDX-License-Identifier: MIT
// Task::read, read_many and write through the task port.
//
// Reads: mach_vm_read_overwrite, one call per range (Mach has no scatter
// read). It copies all or nothing, so when a range fails the readable
// prefix is found by reading it again page by page.
// Writes: mach_vm_write; a write into a page without write permission
// (code: software breakpoints) is done by mach_vm_protect of just the pages
// written to (protection & ~VM_PROT_EXECUTE) | VM_PROT_WRITE | VM_PROT_COPY,
// the write, and the old protection put back. VM_PROT_COPY gives the task a
// private copy of shared or file-backed pages instead of writing through to
// the file or the shared cache. EXECUTE is dropped for the write because
// xnu refuses write+execute (osfmk/vm/vm_map.c vm_map_protect: "can't have
// both write and exec at the same time" → KERN_PROTECTION_FAILURE; with
// VM_PROT_COPY any EXECUTE bit is refused) on every arm64 task and on
// x86_64 tasks with CS_ENFORCEMENT; the private copy keeps the entry's
// maximum protection, so restoring r-x afterwards succeeds
// (vm_map_entry_cs_associate: "remapped from r-x/r-x to rw-/rwx via
// vm_protect(VM_PROT_COPY) which is what a debugger or dtrace would be
// doing"). Running the patched page is another matter: see task.hpp
// (CS_DEBUGGED). Control-flavour calls (mach_vm_write, mach_vm_protect) need
// Developer Mode for another task's port (Task::Impl::call_error).
// The port names exactly the task that sent it, so no pid-reuse check is
// needed: once the task is gone every call fails (→ ESRCH).
#include <errno.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>

#include <algorithm>
#include <limits>
#include <string>

#include "common/read_error.hpp"
#include "common/usable.hpp"
#include "macos/mach_error.hpp"
#include "macos/task_impl.hpp"

namespace taskport {
namespace {

using backend::errno_from_kern;
using backend::kern_error;
using common::range_text;

// The finest page size of any macOS task (x86_64 and Rosetta: 4 KiB; arm64:
// 16 KiB, a multiple): stepping by it never skips a page boundary.
constexpr std::uint64_t kPage = 4096;

bool impossible_range(std::uint64_t address, std::size_t size) {
  return size > std::numeric_limits<std::uint64_t>::max() - address;
}

kern_return_t read_once(mach_port_t task, std::uint64_t address, void* out, std::size_t size,
                        std::size_t& got) {
  mach_vm_size_t n = 0;
  const kern_return_t kr = ::mach_vm_read_overwrite(
      task, address, size, static_cast<mach_vm_address_t>(reinterpret_cast<uintptr_t>(out)), &n);
  got = kr == KERN_SUCCESS ? static_cast<std::size_t>(n) : 0;
  return kr;
}

// Reads one request. EFAULT-class failures are recorded in the request
// (with the readable prefix in bytes_read); a task-wide failure throws.
void read_request(const Task::Impl& t, ReadRequest& r) {
  r.bytes_read = 0;
  r.error = 0;
  if (r.size == 0) return;
  if (impossible_range(r.address, r.size)) {
    r.error = EFAULT;
    return;
  }
  std::size_t got = 0;
  kern_return_t kr = read_once(t.port.get(), r.address, r.buffer, r.size, got);
  if (kr == KERN_SUCCESS && got == r.size) {
    r.bytes_read = got;
    return;
  }
  if (kr != KERN_SUCCESS && errno_from_kern(kr) != EFAULT) {
    throw kern_error(kr, Step::read_memory, t.program, "mach_vm_read_overwrite",
                     range_text(r.address, r.size));
  }
  // All or nothing failed: find the readable prefix page by page.
  auto* out = static_cast<unsigned char*>(r.buffer);
  std::uint64_t at = r.address;
  const std::uint64_t end = r.address + r.size;
  while (at < end) {
    const std::uint64_t chunk = std::min(end, (at / kPage + 1) * kPage) - at;
    kr = read_once(t.port.get(), at, out + (at - r.address), static_cast<std::size_t>(chunk), got);
    if (kr != KERN_SUCCESS || got != chunk) break;
    at += chunk;
  }
  r.bytes_read = static_cast<std::size_t>(at - r.address);
  if (r.bytes_read < r.size) r.error = EFAULT;
}

// The protection of the region containing `address` and where it ends.
// Returns false if no region contains it.
bool protection_at(const Task::Impl& t, std::uint64_t address, vm_prot_t& protection,
                   std::uint64_t& region_end) {
  mach_vm_address_t start = address;
  mach_vm_size_t size = 0;
  vm_region_basic_info_data_64_t info{};
  mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
  mach_port_t object = MACH_PORT_NULL;
  const kern_return_t kr = ::mach_vm_region(t.port.get(), &start, &size, VM_REGION_BASIC_INFO_64,
                                            reinterpret_cast<vm_region_info_t>(&info), &count, &object);
  backend::SendRight object_right(object);  // unused; always MACH_PORT_NULL on current kernels
  if (kr != KERN_SUCCESS) {
    if (errno_from_kern(kr) == EFAULT) return false;
    throw t.call_error(kr, Step::write_memory, "mach_vm_region");
  }
  if (start > address) return false;
  protection = info.protection;
  region_end = start + size;
  return true;
}

// Writes [address, address+size) that lies in one region with protection
// `protection` lacking VM_PROT_WRITE: unprotect the pages, write, restore.
kern_return_t write_protected(const Task::Impl& t, std::uint64_t address, const unsigned char* data,
                              std::size_t size, vm_prot_t protection) {
  const std::uint64_t first = address / kPage * kPage;
  const std::uint64_t last = (address + size + kPage - 1) / kPage * kPage;
  const vm_prot_t writable = (protection & ~VM_PROT_EXECUTE) | VM_PROT_WRITE | VM_PROT_COPY;
  kern_return_t kr = ::mach_vm_protect(t.port.get(), first, last - first, FALSE, writable);
  if (kr != KERN_SUCCESS) return kr;
  kr = ::mach_vm_write(t.port.get(), address, static_cast<vm_offset_t>(reinterpret_cast<uintptr_t>(data)),
                       static_cast<mach_msg_type_number_t>(size));
  // Put the old protection back whatever the write did.
  const kern_return_t restored = ::mach_vm_protect(t.port.get(), first, last - first, FALSE, protection);
  return kr != KERN_SUCCESS ? kr : restored;
}

}  // namespace

std::size_t Task::read_many(ReadRequest* requests, std::size_t count) const {
  common::usable(impl_, Step::read_memory);
  std::size_t complete = 0;
  for (std::size_t i = 0; i < count; ++i) {
    read_request(*impl_, requests[i]);
    if (requests[i].ok()) ++complete;
  }
  return complete;
}

void Task::write(std::uint64_t address, const void* data, std::size_t size) {
  const Impl& t = common::usable(impl_, Step::write_memory);
  if (size == 0) return;
  const std::string range = range_text(address, size);
  if (impossible_range(address, size) || size > std::numeric_limits<mach_msg_type_number_t>::max()) {
    throw Error(EFAULT, Step::write_memory, t.program, range + ": outside any possible mapping");
  }
  const auto* in = static_cast<const unsigned char*>(data);
  kern_return_t kr =
      ::mach_vm_write(t.port.get(), address, static_cast<vm_offset_t>(reinterpret_cast<uintptr_t>(in)),
                      static_cast<mach_msg_type_number_t>(size));
  if (kr == KERN_SUCCESS) return;
  if (kr != KERN_PROTECTION_FAILURE && kr != KERN_INVALID_ADDRESS) {
    throw t.call_error(kr, Step::write_memory, "mach_vm_write", range);
  }
  // Region by region: plain writes where writable, unprotect-write-restore
  // where not. A gap (unmapped) ends the write with EFAULT.
  std::uint64_t at = address;
  const std::uint64_t end = address + size;
  while (at < end) {
    vm_prot_t protection = VM_PROT_NONE;
    std::uint64_t region_end = 0;
    if (!protection_at(t, at, protection, region_end)) {
      std::string detail = range + ": not mapped in the task";
      if (at > address) detail += " (the first " + std::to_string(at - address) + " bytes were written)";
      throw Error(EFAULT, Step::write_memory, t.program, detail);
    }
    const std::uint64_t chunk_end = std::min(end, region_end);
    const auto chunk = static_cast<std::size_t>(chunk_end - at);
    const unsigned char* from = in + (at - address);
    if (protection & VM_PROT_WRITE) {
      kr = ::mach_vm_write(t.port.get(), at, static_cast<vm_offset_t>(reinterpret_cast<uintptr_t>(from)),
                           static_cast<mach_msg_type_number_t>(chunk));
    } else {
      kr = write_protected(t, at, from, chunk, protection);
    }
    if (kr != KERN_SUCCESS) throw t.call_error(kr, Step::write_memory, "mach_vm_write", range);
    at = chunk_end;
  }
}

}  // namespace taskport
