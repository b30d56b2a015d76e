// SPDX-License-Identifier: MIT
// Task::read, read_many and write.
//
// Reads go through process_vm_readv (one call per up to IOV_MAX ranges);
// writes through pwrite on /proc/<pid>/mem, which — unlike
// process_vm_writev — can write read-only pages (software breakpoints).
//
// Two mechanisms, two ways of staying on the right process:
//   * process_vm_readv takes a pid. A pid is recycled only after its process
//     is reaped, and the pidfd reports that (POLLHUP); so after every call we
//     check backend::reaped(): if the task is gone, the data may come from
//     a stranger and is discarded (ESRCH).
//   * /proc/<pid>/mem is opened relative to the verified /proc/<pid>
//     directory fd and then names the task's address space itself.
//
// Fallback: when process_vm_readv is refused with EPERM (a seccomp profile,
// e.g. Docker without SYS_PTRACE) or ENOSYS (kernel without
// CONFIG_CROSS_MEMORY_ATTACH) and /proc/<pid>/mem opens, Impl::use_mem_fd is
// set and every later read is a pread on the mem fd. If the open is refused
// too, the refusal was real: the process_vm_readv error is reported,
// explained. One difference shows through: the mem fd reads with FOLL_FORCE,
// so PROT_NONE pages that process_vm_readv refuses (EFAULT) are readable
// through it; unmapped addresses fail on both (the mem fd says EIO, reported
// as EFAULT).
#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common/read_error.hpp"
#include "common/usable.hpp"
#include "linux/proc_access.hpp"
#include "posix/eintr.hpp"

namespace taskport {
namespace {

// IOV_MAX: the most iovecs process_vm_readv accepts on either side.
constexpr size_t kMaxIovecs = 1024;

using common::range_text;

// A range no user-space mapping can contain: its end overflows, or it does
// not fit in a pointer / a (signed) file offset. Such ranges fail with
// EFAULT without a system call (pread would say EINVAL for offsets ≥ 2^63).
bool impossible_range(std::uint64_t address, std::size_t size) {
  constexpr auto kMaxOffset = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
  constexpr auto kMaxPointer = static_cast<std::uint64_t>(std::numeric_limits<std::uintptr_t>::max());
  const std::uint64_t limit = std::min(kMaxOffset, kMaxPointer);
  return address > limit || size > limit - address;
}

// Opens /proc/<pid>/mem O_RDWR relative to the verified /proc dir. Returns
// the fd or -1 with errno set.
int open_mem(const Task::Impl& t, Step step) { return backend::open_proc_file(t, "mem", O_RDWR, step); }

// The task's cached mem fd, opened on first use. Returns -1 with errno set
// when the open is refused.
int mem_fd(const Task::Impl& t, Step step) {
  {
    std::lock_guard<std::mutex> lock(t.proc_mutex);
    if (t.mem_fd) return t.mem_fd.get();
  }
  // open_proc_file takes proc_mutex itself: open first, then install.
  UniqueFd fd(open_mem(t, step));
  if (!fd) return -1;
  std::lock_guard<std::mutex> lock(t.proc_mutex);
  if (!t.mem_fd) t.mem_fd = std::move(fd);  // else another thread won; ours closes
  return t.mem_fd.get();
}

// A mem fd reads and writes 0 bytes once the address space it was opened
// on is gone. If the task itself is gone that is ESRCH; if it is alive it has
// exec'd a new program, and the fd is re-pointed at the new address space.
// dup3 onto the same number swaps the file atomically, so threads that are
// inside pread/pwrite on the old number never see a closed or foreign fd.
// Returns false if the task has exited.
bool renew_mem_fd_after_exec(const Task::Impl& t, Step step) {
  if (backend::exited(t.pidfd.get())) return false;
  UniqueFd fresh(open_mem(t, step));
  if (!fresh) throw backend::access_error(t, errno, step, "open /proc/" + std::to_string(t.pid) + "/mem");
  std::lock_guard<std::mutex> lock(t.proc_mutex);
  if (::dup3(fresh.get(), t.mem_fd.get(), O_CLOEXEC) < 0) {
    throw Error(errno, step, t.program, "dup3 of the renewed /proc/<pid>/mem fd");
  }
  return true;
}

// Reads one request (from its current bytes_read on) with pread on the mem
// fd. Records EFAULT for unmapped/unreadable bytes (the kernel says EIO);
// throws ESRCH when the task is gone.
void pread_request(const Task::Impl& t, int fd, ReadRequest& r) {
  bool renewed = false;
  auto* out = static_cast<unsigned char*>(r.buffer);
  while (r.bytes_read < r.size) {
    const std::uint64_t at = r.address + r.bytes_read;
    const ssize_t n = posix::retry_on_eintr(
        [&] { return ::pread(fd, out + r.bytes_read, r.size - r.bytes_read, static_cast<off_t>(at)); });
    if (n > 0) {
      r.bytes_read += static_cast<size_t>(n);
    } else if (n == 0) {
      if (renewed || !renew_mem_fd_after_exec(t, Step::read_memory)) {
        throw backend::access_error(t, ESRCH, Step::read_memory,
                                    "pread /proc/<pid>/mem " + range_text(r.address, r.size));
      }
      renewed = true;
    } else {
      r.error = (errno == EIO) ? EFAULT : errno;
      return;
    }
  }
}

size_t count_complete(const ReadRequest* requests, size_t count) {
  return static_cast<size_t>(
      std::count_if(requests, requests + count, [](const ReadRequest& r) { return r.ok(); }));
}

// Tries the /proc/<pid>/mem route after process_vm_readv was refused with
// `error` (EPERM or ENOSYS). Returns normally if the mem fd works (and
// switches the task to it); throws the explained process_vm_readv error if
// not.
void switch_to_mem_fd(const Task::Impl& t, int error, const std::string& what) {
  if (mem_fd(t, Step::read_memory) < 0) {
    throw backend::access_error(t, error, Step::read_memory, what);
  }
  t.use_mem_fd.store(true, std::memory_order_release);
}

// Clears the results of every request; a range no mapping can hold fails
// with EFAULT at once.
void reset_requests(ReadRequest* requests, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    ReadRequest& r = requests[i];
    r.bytes_read = 0;
    r.error = (r.size != 0 && impossible_range(r.address, r.size)) ? EFAULT : 0;
  }
}

// A request that still needs a system call: bytes left, no error yet.
bool pending(const ReadRequest& r) { return r.bytes_read < r.size && r.error == 0; }

// One process_vm_readv's worth of iovecs, and the request each belongs to.
struct Batch {
  std::vector<iovec> local, remote;
  std::vector<size_t> owner;
};

// The rest of request `next` (pending), then whole pending requests, up to
// kMaxIovecs.
void fill_batch(ReadRequest* requests, size_t count, size_t next, Batch& b) {
  b.local.clear();
  b.remote.clear();
  b.owner.clear();
  for (size_t i = next; i < count && b.local.size() < kMaxIovecs; ++i) {
    ReadRequest& r = requests[i];
    if (!pending(r)) continue;
    b.local.push_back({static_cast<unsigned char*>(r.buffer) + r.bytes_read, r.size - r.bytes_read});
    b.remote.push_back({reinterpret_cast<void*>(static_cast<std::uintptr_t>(r.address + r.bytes_read)),
                        r.size - r.bytes_read});
    b.owner.push_back(i);
  }
}

// The kernel copies remote iovecs in order and stops at the first byte it
// cannot read: credit `n` bytes to the requests in order. A request left
// short is where it stopped; the next batch starts with its unread rest, and
// fails at once with that range's own errno.
void credit(ReadRequest* requests, const Batch& b, size_t n) {
  for (size_t k = 0; k < b.owner.size() && n > 0; ++k) {
    ReadRequest& r = requests[b.owner[k]];
    const size_t got = std::min(n, r.size - r.bytes_read);
    r.bytes_read += got;
    n -= got;
  }
}

// One process_vm_readv of `b`. Returns true if the batch's first request
// failed for good (its error is set), false if the batch made progress or
// the task switched to its mem fd. Throws task-wide failures.
bool read_batch(const Task::Impl& t, ReadRequest* requests, const Batch& b) {
  const ssize_t n = posix::retry_on_eintr([&] {
    return ::process_vm_readv(t.pid, b.local.data(), b.local.size(), b.remote.data(), b.remote.size(), 0);
  });
  const int error = errno;
  // The pid named our task during the call only if the task has not been
  // reaped since: otherwise the bytes may be a stranger's.
  if (backend::reaped(t.pidfd.get())) {
    for (const iovec& v : b.local) std::fill_n(static_cast<unsigned char*>(v.iov_base), v.iov_len, 0);
    throw backend::access_error(t, ESRCH, Step::read_memory, "process_vm_readv");
  }
  if (n > 0) {
    credit(requests, b, static_cast<size_t>(n));
    return false;
  }
  ReadRequest& first = requests[b.owner[0]];
  switch (n == 0 ? EFAULT : error) {
    case EPERM:
    case ENOSYS:
      switch_to_mem_fd(t, error, "process_vm_readv " + range_text(first.address, first.size));
      return false;
    case EACCES:
    case ESRCH:
      throw backend::access_error(t, error, Step::read_memory,
                                  "process_vm_readv " + range_text(first.address, first.size));
    default:
      // Nothing was copied: the first range of the batch fails with this
      // errno (EFAULT: not mapped or not readable).
      first.error = (n == 0) ? EFAULT : error;
      return true;
  }
}

// The whole of read_many: validates, then reads with process_vm_readv in
// batches of up to kMaxIovecs ranges, or with pread on the mem fd.
size_t read_requests(const Task::Impl& t, ReadRequest* requests, size_t count) {
  reset_requests(requests, count);
  Batch batch;
  size_t next = 0;  // first request not yet finished
  while (true) {
    while (next < count && !pending(requests[next])) ++next;
    if (next == count) break;
    if (t.use_mem_fd.load(std::memory_order_acquire)) {
      const int fd = mem_fd(t, Step::read_memory);  // cached: set before use_mem_fd
      for (; next < count; ++next) {
        if (pending(requests[next])) pread_request(t, fd, requests[next]);
      }
      break;
    }
    fill_batch(requests, count, next, batch);
    if (read_batch(t, requests, batch)) ++next;
  }
  return count_complete(requests, count);
}

// The kernel pins and unpins each page of each remote iovec on its own, so
// for many small reads the per-iovec work, not the system call, dominates:
// requests that lie within one page are read as one span of that page into a
// scratch buffer and handed out from there. A page that cannot be read fails
// every request in it with the same errno, as separate reads would.
constexpr std::uint64_t kPage = 4096;

struct Span {
  std::uint64_t start = 0, end = 0;
  std::vector<size_t> members;
};

// The requests that lie within one page, in address order, grouped by page.
std::vector<Span> one_page_spans(const ReadRequest* requests, size_t count, size_t& one_page_requests) {
  std::vector<size_t> order;
  order.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const ReadRequest& r = requests[i];
    const bool fits_one_page = r.size != 0 && !impossible_range(r.address, r.size) &&
                               r.address / kPage == (r.address + r.size - 1) / kPage;
    if (fits_one_page) order.push_back(i);
  }
  one_page_requests = order.size();
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return requests[a].address < requests[b].address; });
  std::vector<Span> spans;
  for (size_t i : order) {
    const ReadRequest& r = requests[i];
    if (!spans.empty() && spans.back().start / kPage == r.address / kPage) {
      spans.back().end = std::max(spans.back().end, r.address + r.size);
      spans.back().members.push_back(i);
    } else {
      spans.push_back(Span{r.address, r.address + r.size, {i}});
    }
  }
  return spans;
}

// The requests to read instead: one per span of two or more requests (into
// `scratch`), and every other request as it is.
struct Coalesced {
  std::vector<unsigned char> scratch;
  std::vector<ReadRequest> batch;
  std::vector<size_t> origin;  // for singles: index into requests; for spans: SIZE_MAX
  std::vector<const Span*> span_of;
};

void coalesce(const ReadRequest* requests, size_t count, const std::vector<Span>& spans, Coalesced& c) {
  std::vector<bool> grouped(count, false);
  size_t scratch_size = 0;
  for (const Span& sp : spans) {
    if (sp.members.size() >= 2) scratch_size += sp.end - sp.start;
  }
  c.scratch.resize(scratch_size);
  size_t offset = 0;
  for (const Span& sp : spans) {
    if (sp.members.size() < 2) continue;
    ReadRequest r;
    r.address = sp.start;
    r.size = sp.end - sp.start;
    r.buffer = c.scratch.data() + offset;
    offset += r.size;
    for (size_t m : sp.members) grouped[m] = true;
    c.batch.push_back(r);
    c.origin.push_back(SIZE_MAX);
    c.span_of.push_back(&sp);
  }
  for (size_t i = 0; i < count; ++i) {
    if (grouped[i]) continue;
    c.batch.push_back(requests[i]);
    c.origin.push_back(i);
    c.span_of.push_back(nullptr);
  }
}

// The results of the coalesced reads, handed back to the requests.
void hand_out(ReadRequest* requests, const Coalesced& c) {
  for (size_t k = 0; k < c.batch.size(); ++k) {
    const ReadRequest& b = c.batch[k];
    if (c.origin[k] != SIZE_MAX) {
      requests[c.origin[k]].bytes_read = b.bytes_read;
      requests[c.origin[k]].error = b.error;
      continue;
    }
    for (size_t m : c.span_of[k]->members) {
      ReadRequest& r = requests[m];
      const std::uint64_t skip = r.address - b.address;
      const size_t available = b.bytes_read > skip ? std::min<size_t>(r.size, b.bytes_read - skip) : 0;
      std::memcpy(r.buffer, static_cast<const unsigned char*>(b.buffer) + skip, available);
      r.bytes_read = available;
      r.error = available == r.size ? 0 : (b.error != 0 ? b.error : EFAULT);
    }
  }
}

size_t read_coalesced(const Task::Impl& t, ReadRequest* requests, size_t count) {
  size_t one_page_requests = 0;
  const std::vector<Span> spans = one_page_spans(requests, count, one_page_requests);
  // Nothing shares a page: read as they are.
  if (spans.size() == one_page_requests) return read_requests(t, requests, count);
  Coalesced c;
  coalesce(requests, count, spans, c);
  read_requests(t, c.batch.data(), c.batch.size());
  hand_out(requests, c);
  return count_complete(requests, count);
}

}  // namespace

std::size_t Task::read_many(ReadRequest* requests, std::size_t count) const {
  return read_coalesced(common::present(impl_, Step::read_memory), requests, count);
}

void Task::write(std::uint64_t address, const void* data, std::size_t size) {
  const Impl& t = common::present(impl_, Step::write_memory);
  if (size == 0) return;
  const std::string range = range_text(address, size);
  if (impossible_range(address, size)) {
    throw Error(EFAULT, Step::write_memory, t.program, range + ": outside any possible mapping");
  }
  const int fd = mem_fd(t, Step::write_memory);
  if (fd < 0) {
    throw backend::access_error(t, errno, Step::write_memory, "open /proc/" + std::to_string(t.pid) + "/mem");
  }
  const auto* in = static_cast<const unsigned char*>(data);
  size_t done = 0;
  bool renewed = false;
  while (done < size) {
    const ssize_t n = posix::retry_on_eintr(
        [&] { return ::pwrite(fd, in + done, size - done, static_cast<off_t>(address + done)); });
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n == 0) {
      if (renewed || !renew_mem_fd_after_exec(t, Step::write_memory)) {
        throw backend::access_error(t, ESRCH, Step::write_memory, "pwrite /proc/<pid>/mem " + range);
      }
      renewed = true;
    } else if (errno == EIO || errno == EFAULT) {
      std::string detail = range + ": not mapped in the task";
      if (done > 0) detail += " (the first " + std::to_string(done) + " bytes were written)";
      throw Error(EFAULT, Step::write_memory, t.program, detail);
    } else {
      throw backend::access_error(t, errno, Step::write_memory, "pwrite /proc/<pid>/mem " + range);
    }
  }
}

}  // namespace taskport
