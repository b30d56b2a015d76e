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
#include <memory>
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

// Clears the results of request `r`; a range no mapping can hold fails with
// EFAULT at once. Returns true if it did.
bool reset_request(ReadRequest& r) {
  r.bytes_read = 0;
  r.error = (r.size != 0 && impossible_range(r.address, r.size)) ? EFAULT : 0;
  return r.error != 0;
}

void reset_requests(ReadRequest* requests, size_t count) {
  for (size_t i = 0; i < count; ++i) reset_request(requests[i]);
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

// read_many's careful path: reads every pending request with
// process_vm_readv in batches of up to kMaxIovecs ranges (a batch that stops
// short resumes at the request where it stopped, which then fails alone
// with its own errno), or with pread on the mem fd.
void read_pending(const Task::Impl& t, ReadRequest* requests, size_t count) {
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
}

// ---- the fast path -----------------------------------------------------------
// The kernel pins and unpins each page of each remote iovec on its own, so
// for many small reads the per-iovec work, not the system call, dominates:
// requests that lie within one page are read as one span of that page (into
// a scratch buffer, handed out from there), every other request straight
// into its buffer, in page order, kMaxIovecs per call. A call that
// copies everything it was given completes its requests; the first call
// that does not (a range that cannot be read, a refusal, the task gone)
// ends the fast path, and whatever it has not completed goes through
// read_pending, request by request, so that each gets its own bytes and
// errno exactly as separate reads would.
constexpr std::uint64_t kPage = 4096;

// A pending request as the fast path sorts it: a copy of what it needs, so
// that planning and handing out walk memory in order, not the caller's
// requests by index.
struct Keyed {
  std::uint64_t address;
  unsigned char* buffer;
  size_t size;
  size_t index;
  std::uint64_t page() const { return address / kPage; }
};

// Sorts by page, stably: a least-significant-digit radix sort over the bits
// in which the pages differ — one pass of 8 bits for requests within 1 MiB,
// two within 256 MiB — since a comparison sort costs ~40 ns per request
// here, more than the kernel's work per request in a dense page.
void sort_by_page(std::vector<Keyed>& keyed, std::vector<Keyed>& other) {
  if (keyed.size() < 2) return;
  std::uint64_t lowest = keyed[0].page(), highest = lowest;
  bool sorted = true;
  for (size_t i = 1; i < keyed.size(); ++i) {
    const std::uint64_t page = keyed[i].page();
    sorted = sorted && keyed[i - 1].page() <= page;
    lowest = std::min(lowest, page);
    highest = std::max(highest, page);
  }
  if (sorted) return;
  other.resize(keyed.size());
  for (unsigned shift = 0; shift < 64 && ((highest - lowest) >> shift) != 0; shift += 8) {
    size_t start[257] = {};
    for (const Keyed& k : keyed) ++start[(((k.page() - lowest) >> shift) & 0xff) + 1];
    for (size_t d = 1; d < 257; ++d) start[d] += start[d - 1];
    for (const Keyed& k : keyed) other[start[((k.page() - lowest) >> shift) & 0xff]++] = k;
    keyed.swap(other);
  }
}

// An iovec of the fast path that reads a span of one page for two or more
// requests, keyed[first, last), from `start` into `scratch`. (Every other
// iovec is one request as it is, read straight into its buffer.)
struct Span {
  size_t iovec;
  size_t first, last;
  std::uint64_t start;
  unsigned char* scratch;
};

// The fast path's working memory, kept per thread from one read_many to the
// next (fresh allocations of ~120 bytes per request on every call showed as
// page faults); at most kKeptRequests requests' worth stays between calls.
struct FastPlan {
  std::vector<Keyed> keyed, other;
  std::vector<Span> spans;
  std::vector<iovec> local, remote;
  std::vector<size_t> first_keyed;           // per iovec, its first request in keyed; one more at the end
  std::unique_ptr<unsigned char[]> scratch;  // not zeroed: the kernel fills it
  size_t scratch_capacity = 0;

  static constexpr size_t kKeptRequests = 64 * 1024;

  void start() {
    keyed.clear();
    other.clear();
    spans.clear();
    first_keyed.clear();
    local.clear();
    remote.clear();
  }
  unsigned char* scratch_of(size_t size) {
    if (size > scratch_capacity) {
      scratch.reset(new unsigned char[size]);
      scratch_capacity = size;
    }
    return scratch.get();
  }
  void finish() {
    if (keyed.capacity() > kKeptRequests) *this = FastPlan();
  }
};
thread_local FastPlan t_fast_plan;

bool within_one_page(const Keyed& k) { return k.page() == (k.address + k.size - 1) / kPage; }

// Resets every request (reset_request: in the same pass, one walk over the
// caller's requests fewer) and groups the pending ones that lie within one
// page; every other request is a piece of its own (one wider than a page
// sorts by its first page). Returns how many failed at once.
size_t plan_fast_path(ReadRequest* requests, size_t count, FastPlan& f) {
  f.keyed.reserve(count);
  size_t failed = 0;
  for (size_t i = 0; i < count; ++i) {
    ReadRequest& r = requests[i];
    failed += reset_request(r) ? 1 : 0;
    if (pending(r)) f.keyed.push_back({r.address, static_cast<unsigned char*>(r.buffer), r.size, i});
  }
  sort_by_page(f.keyed, f.other);
  size_t scratch_size = 0;
  for (size_t i = 0; i < f.keyed.size();) {
    const Keyed& first = f.keyed[i];
    std::uint64_t start = first.address, end = first.address + first.size;
    size_t last = i + 1;
    if (within_one_page(first)) {
      for (; last < f.keyed.size() && f.keyed[last].page() == first.page() && within_one_page(f.keyed[last]);
           ++last) {
        start = std::min(start, f.keyed[last].address);
        end = std::max(end, f.keyed[last].address + f.keyed[last].size);
      }
    }
    const size_t length = end - start;
    if (last - i > 1) {
      f.spans.push_back({f.remote.size(), i, last, start, nullptr});
      scratch_size += length;
    }
    f.remote.push_back({reinterpret_cast<void*>(static_cast<std::uintptr_t>(start)), length});
    f.local.push_back({first.buffer, length});
    f.first_keyed.push_back(i);
    i = last;
  }
  f.first_keyed.push_back(f.keyed.size());
  if (scratch_size == 0) return failed;
  unsigned char* at = f.scratch_of(scratch_size);
  for (Span& span : f.spans) {
    span.scratch = at;
    f.local[span.iovec].iov_base = at;
    at += f.local[span.iovec].iov_len;
  }
  return failed;
}

// Copies the values of the spans among iovecs [0, end), which were read
// whole, out of the spans from `*next` on (the most common sizes inline:
// memcpy of a constant size is a single move, a call otherwise).
void hand_out(const FastPlan& f, size_t end, size_t* next) {
  for (; *next < f.spans.size() && f.spans[*next].iovec < end; ++*next) {
    const Span& span = f.spans[*next];
    for (size_t k = span.first; k < span.last; ++k) {
      const Keyed& r = f.keyed[k];
      const unsigned char* from = span.scratch + (r.address - span.start);
      switch (r.size) {
        case 8: std::memcpy(r.buffer, from, 8); break;
        case 4: std::memcpy(r.buffer, from, 4); break;
        default: std::memcpy(r.buffer, from, r.size); break;
      }
    }
  }
}

// Marks the requests of iovecs [first, last) complete.
void complete(ReadRequest* requests, const FastPlan& f, size_t first, size_t last) {
  for (size_t k = f.first_keyed[first]; k < f.first_keyed[last]; ++k) {
    ReadRequest& r = requests[f.keyed[k].index];
    r.bytes_read = r.size;
  }
}

// The fast path over every request (which it resets). Returns true if it
// completed every pending one, with *failed set to the number that failed
// at once (EFAULT). A call that comes back short or fails leaves its
// requests pending for read_pending and the next call goes on — unless the
// task is gone (then the careful path reports it).
bool read_fast_planned(const Task::Impl& t, ReadRequest* requests, size_t count, FastPlan& f,
                       size_t* failed) {
  *failed = plan_fast_path(requests, count, f);
  size_t next_span = 0;
  std::vector<std::pair<size_t, size_t>> completed;  // iovec ranges, once a call has failed
  bool all = true;
  for (size_t p = 0; p < f.remote.size(); p += kMaxIovecs) {
    const size_t n = std::min(kMaxIovecs, f.remote.size() - p);
    size_t want = 0;
    for (size_t k = p; k < p + n; ++k) want += f.remote[k].iov_len;
    const ssize_t got = posix::retry_on_eintr(
        [&] { return ::process_vm_readv(t.pid, f.local.data() + p, n, f.remote.data() + p, n, 0); });
    // The pid named our task during the call only if the task has not been
    // reaped since: otherwise the bytes may be a stranger's, and none stays.
    if (backend::reaped(t.pidfd.get())) {
      for (size_t k = p; k < p + n; ++k)
        std::fill_n(static_cast<unsigned char*>(f.local[k].iov_base), f.local[k].iov_len, 0);
      if (all) completed.emplace_back(0, p);
      all = false;
      break;
    }
    if (got < 0 || static_cast<size_t>(got) != want) {
      if (all) completed.emplace_back(0, p);
      all = false;
      while (next_span < f.spans.size() && f.spans[next_span].iovec < p + n) ++next_span;
      if (got < 0 && errno != EFAULT) break;  // a refusal, not a range: the careful path decides
      continue;
    }
    hand_out(f, p + n, &next_span);
    if (!all) completed.emplace_back(p, p + n);
  }
  if (all) {
    // Every pending request is complete (in order, not by index).
    for (size_t i = 0; i < count; ++i) {
      if (pending(requests[i])) requests[i].bytes_read = requests[i].size;
    }
    return true;
  }
  for (const auto& [first, last] : completed) complete(requests, f, first, last);
  return false;
}

bool read_fast(const Task::Impl& t, ReadRequest* requests, size_t count, size_t* failed) {
  FastPlan& f = t_fast_plan;
  f.start();
  bool done = false;
  try {
    done = read_fast_planned(t, requests, count, f, failed);
  } catch (...) {
    f.finish();
    throw;
  }
  f.finish();
  return done;
}

// The whole of read_many. When the fast path completes every pending
// request, the complete ones are all but those that failed at once.
size_t read_requests(const Task::Impl& t, ReadRequest* requests, size_t count) {
  if (t.use_mem_fd.load(std::memory_order_acquire)) {
    reset_requests(requests, count);
  } else {
    size_t failed = 0;
    if (read_fast(t, requests, count, &failed)) return count - failed;
  }
  read_pending(t, requests, count);
  return count_complete(requests, count);
}

}  // namespace

std::size_t Task::read_many(ReadRequest* requests, std::size_t count) const {
  return read_requests(common::present(impl_, Step::read_memory), requests, count);
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
