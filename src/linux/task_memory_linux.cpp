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
  // open_proc_file takes proc_mutex itself: open first, then install. A main
  // thread that has exited while others run on has no mem to open (ESRCH):
  // another thread's (proc_access.hpp, open_other_thread_file).
  UniqueFd fd(open_mem(t, step));
  if (!fd && errno == ESRCH && !backend::exited(t.pidfd.get())) {
    fd.reset(backend::open_other_thread_file(t, "mem", O_RDWR, step));
    if (!fd) errno = ESRCH;
  }
  if (!fd) return -1;
  std::lock_guard<std::mutex> lock(t.proc_mutex);
  if (!t.mem_fd) t.mem_fd = std::move(fd);  // else another thread won; ours closes
  return t.mem_fd.get();
}

// Installs `fresh` as the task's mem fd. dup3 onto the same number swaps the
// file atomically, so threads that are inside pread/pwrite on the old number
// never see a closed or foreign fd.
void install_mem_fd(const Task::Impl& t, UniqueFd fresh, Step step) {
  std::lock_guard<std::mutex> lock(t.proc_mutex);
  if (!t.mem_fd) {
    t.mem_fd = std::move(fresh);
  } else if (::dup3(fresh.get(), t.mem_fd.get(), O_CLOEXEC) < 0) {
    throw Error(errno, step, t.program, "dup3 of the renewed /proc/<pid>/mem fd");
  }
}

// The task's memory through a thread other than its main one
// (open_other_thread_file: the main thread has exited, the others live on),
// as the mem fd every later read and write uses. Returns false if the task
// has exited or no such thread opens.
bool switch_to_other_thread(const Task::Impl& t, Step step) {
  if (backend::exited(t.pidfd.get())) return false;
  UniqueFd fresh(backend::open_other_thread_file(t, "mem", O_RDWR, step));
  if (!fresh) return false;
  install_mem_fd(t, std::move(fresh), step);
  t.use_mem_fd.store(true, std::memory_order_release);
  return true;
}

// A mem fd reads and writes 0 bytes once the address space it was opened
// on is gone, or when it names a main thread that has exited (it has no mm).
// If the task itself is gone that is ESRCH. If it is alive: the first
// renewal (`attempt` 0) re-points the fd at /proc/<pid>/mem again, which
// names the new address space if the task has exec'd; the second, at a
// thread other than the main one. Returns false if the task has exited or
// there is nothing left to try.
bool renew_mem_fd(const Task::Impl& t, Step step, int attempt) {
  if (backend::exited(t.pidfd.get())) return false;
  if (attempt > 0) return attempt == 1 && switch_to_other_thread(t, step);
  UniqueFd fresh(open_mem(t, step));
  if (!fresh && errno == ESRCH) return switch_to_other_thread(t, step);  // the main thread has exited
  if (!fresh) throw backend::access_error(t, errno, step, "open /proc/" + std::to_string(t.pid) + "/mem");
  install_mem_fd(t, std::move(fresh), step);
  return true;
}

// Reads one request (from its current bytes_read on) with pread on the mem
// fd. Records EFAULT for unmapped/unreadable bytes (the kernel says EIO);
// throws ESRCH when the task is gone.
void pread_request(const Task::Impl& t, int fd, ReadRequest& r) {
  int renewals = 0;
  auto* out = static_cast<unsigned char*>(r.buffer);
  while (r.bytes_read < r.size) {
    const std::uint64_t at = r.address + r.bytes_read;
    const ssize_t n = posix::retry_on_eintr(
        [&] { return ::pread(fd, out + r.bytes_read, r.size - r.bytes_read, static_cast<off_t>(at)); });
    if (n > 0) {
      r.bytes_read += static_cast<size_t>(n);
    } else if (n == 0) {
      if (!renew_mem_fd(t, Step::read_memory, renewals++)) {
        throw backend::access_error(t, ESRCH, Step::read_memory,
                                    "pread /proc/<pid>/mem " + range_text(r.address, r.size));
      }
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
    case ESRCH:
      // The pid's main thread has exited while others run on: the memory is
      // read through one of them from now on.
      if (switch_to_other_thread(t, Step::read_memory)) return false;
      throw backend::access_error(t, error, Step::read_memory,
                                  "process_vm_readv " + range_text(first.address, first.size));
    case EACCES:
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
// into its buffer, grouped by page, kMaxIovecs per call. A call that
// copies everything it was given completes its requests; the first call
// that does not (a range that cannot be read, a refusal, the task gone)
// ends the fast path, and whatever it has not completed goes through
// read_pending, request by request, so that each gets its own bytes and
// errno exactly as separate reads would.
//
// What the fast path does per request in user space is what bench/run's
// read_many_floor leaves out, so it is written for that: every array is
// sized once and written by index (a push_back of a braced iovec compiled
// to two 8-byte stores read back as one 16-byte load, which store
// forwarding cannot serve: ~5 ns a request, measured with perf), and the
// spans of one call land in one kScratch-byte buffer that the next call
// reuses, so the kernel writes and hand_out reads memory that is still in
// the cache.
constexpr std::uint64_t kPage = 4096;
constexpr size_t kScratch = 128 * 1024;

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

// An iovec of the fast path that reads a span of one page for two or more
// requests, keyed[first, last), from `start` into `scratch`. (Every other
// iovec is one request as it is, read straight into its buffer.)
struct Span {
  size_t iovec;
  size_t first, last;
  std::uint64_t start;
  unsigned char* scratch;
};

// One process_vm_readv: iovecs up to `end`, `bytes` in all.
struct Call {
  size_t end;
  size_t bytes;
};

// An array that only grows, left uninitialised (`new T[n]` of a trivial T):
// every element the fast path reads it has written first.
template <class T>
class Grown {
 public:
  T* of(size_t n) {
    if (n > capacity_) {
      data_.reset(new T[n]);
      capacity_ = n;
    }
    return data_.get();
  }
  size_t capacity() const { return capacity_; }

 private:
  std::unique_ptr<T[]> data_;
  size_t capacity_ = 0;
};

// The fast path's working memory, kept per thread from one read_many to the
// next (fresh allocations of ~120 bytes per request on every call showed as
// page faults); at most kKeptRequests requests' worth stays between calls.
struct FastPlan {
  Grown<Keyed> keyed_store, other_store;
  Grown<Span> span_store;
  Grown<iovec> local_store, remote_store;
  Grown<size_t> first_keyed_store;  // per iovec, its first request in keyed; one more at the end
  Grown<Call> call_store;
  Grown<std::uint32_t> histogram_store;
  Grown<unsigned char> scratch_store;  // not zeroed: the kernel fills it

  // The plan of this read_many, pointing into the stores.
  Keyed* keyed = nullptr;
  size_t keyed_count = 0;
  Span* spans = nullptr;
  size_t span_count = 0;
  iovec *local = nullptr, *remote = nullptr;
  size_t iovec_count = 0;
  size_t* first_keyed = nullptr;
  Call* calls = nullptr;
  size_t call_count = 0;

  static constexpr size_t kKeptRequests = 64 * 1024;

  void finish() {
    if (keyed_store.capacity() > kKeptRequests) *this = FastPlan();
  }
};
thread_local FastPlan t_fast_plan;

// The width of the radix sort's digit for n requests: one pass for pages
// that differ in up to log2(n)+1 bits (its counts then cost no more than a
// pass over the requests), 8 to 16 bits.
unsigned digit_bits(size_t n) {
  unsigned bits = 1;
  while (bits < 16 && (size_t{1} << bits) <= n) ++bits;
  return std::max(8u, bits);
}

// What key_requests learns of the pages on its way, so that sorting needs
// no pass of its own to learn it: their bounds, whether they came in order,
// and the counts of the first digit (page & mask), counts[d + 1] for d.
struct PageCensus {
  std::uint64_t lowest = ~std::uint64_t{0}, highest = 0, previous = 0;
  bool sorted = true;
  unsigned digit = 8;
  std::uint64_t mask = 0xff;
  std::uint32_t* counts = nullptr;

  void add(std::uint64_t page) {
    sorted = sorted && previous <= page;
    previous = page;
    lowest = std::min(lowest, page);
    highest = std::max(highest, page);
    ++counts[(page & mask) + 1];
  }
};

// One stable counting pass: keyed[0, n) into `to`, by digit(k), from
// counts[d + 1] of each digit d (made into starts here).
template <class Digit>
void counting_pass(const Keyed* keyed, Keyed* to, size_t n, std::uint32_t* counts, std::uint64_t mask,
                   Digit digit) {
  for (size_t d = 1; d <= mask; ++d) counts[d] += counts[d - 1];
  for (size_t i = 0; i < n; ++i) to[counts[digit(keyed[i])]++] = keyed[i];
}

// The same, counting the digits first.
template <class Digit>
void counted_pass(const Keyed* keyed, Keyed* to, size_t n, std::uint32_t* counts, std::uint64_t mask,
                  Digit digit) {
  std::fill_n(counts, mask + 2, 0);
  for (size_t i = 0; i < n; ++i) ++counts[digit(keyed[i]) + 1];
  counting_pass(keyed, to, n, counts, mask, digit);
}

// Groups keyed[0, n) by page, stably (same-page requests adjacent, in their
// order): a least-significant-digit radix sort, since a comparison sort
// costs ~40 ns per request here, more than the kernel's work per request in
// a dense page. The first pass is by page & mask, counted by `census`; the
// later ones by the bits of page - lowest above it, only as far as the
// pages differ (none for 10,000 requests within 64 MiB). The order that
// results, by ((page - lowest) >> digit, page & mask), is one-to-one on
// pages (the first part fixes a run of 2^digit consecutive pages, the
// second the page in it), which is all the plan needs; it is page order up
// to a rotation within each run. Returns the grouped array: keyed or other.
Keyed* sort_by_page(Keyed* keyed, Keyed* other, size_t n, PageCensus& census) {
  if (n < 2 || census.sorted) return keyed;
  const std::uint64_t mask = census.mask, lowest = census.lowest;
  counting_pass(keyed, other, n, census.counts, mask, [mask](const Keyed& k) { return k.page() & mask; });
  std::swap(keyed, other);
  for (unsigned shift = census.digit; shift < 64 && ((census.highest - lowest) >> shift) != 0;
       shift += census.digit) {
    counted_pass(keyed, other, n, census.counts, mask,
                 [=](const Keyed& k) { return ((k.page() - lowest) >> shift) & mask; });
    std::swap(keyed, other);
  }
  return keyed;
}

bool within_one_page(const Keyed& k) { return k.page() == (k.address + k.size - 1) / kPage; }

// Sizes every array of the plan for `count` requests, before any request is
// touched: nothing after this allocates (but `completed`, see read_fast).
void reserve(FastPlan& f, size_t count) {
  f.keyed_count = f.span_count = f.iovec_count = f.call_count = 0;
  f.keyed = f.keyed_store.of(count);
  f.other_store.of(count);
  f.histogram_store.of((size_t{1} << digit_bits(count)) + 1);
  f.local = f.local_store.of(count);
  f.remote = f.remote_store.of(count);
  f.first_keyed = f.first_keyed_store.of(count + 1);
  f.spans = f.span_store.of(count / 2 + 1);
  f.calls = f.call_store.of(count + 1);
  f.scratch_store.of(kScratch);
}

// Resets every request (what reset_request does, in the same pass) and copies the
// pending ones into f.keyed, sorted by page. A pending request is marked
// read whole at once: a call that fails undoes it (undo_unread). Returns
// how many failed at once.
size_t key_requests(ReadRequest* requests, size_t count, FastPlan& f) {
  Keyed* keyed = f.keyed;
  PageCensus census;
  census.digit = digit_bits(count);
  census.mask = (std::uint64_t{1} << census.digit) - 1;
  census.counts = f.histogram_store.of(census.mask + 2);
  std::fill_n(census.counts, census.mask + 2, 0);
  size_t n = 0, failed = 0;
  for (size_t i = 0; i < count; ++i) {
    ReadRequest& r = requests[i];
    const bool impossible = r.size != 0 && impossible_range(r.address, r.size);
    r.error = impossible ? EFAULT : 0;
    r.bytes_read = impossible ? 0 : r.size;  // as reset_request, then the mark: one store
    failed += impossible ? 1 : 0;
    if (!impossible && r.size != 0) {
      keyed[n++] = {r.address, static_cast<unsigned char*>(r.buffer), r.size, i};
      census.add(r.address / kPage);
    }
  }
  f.keyed_count = n;
  f.keyed = sort_by_page(keyed, f.other_store.of(count), n, census);
  return failed;
}

// Where keyed[i] starts an iovec: the requests it covers, keyed[i, *last),
// and its remote range. Requests within one page, all on the same page, are
// one span; any other request is an iovec of its own (one wider than a page
// sorted by its first page).
void next_piece(const FastPlan& f, size_t i, size_t* last, std::uint64_t* start, size_t* length) {
  const Keyed& first = f.keyed[i];
  std::uint64_t from = first.address, end = first.address + first.size;
  size_t k = i + 1;
  if (within_one_page(first)) {
    for (; k < f.keyed_count && f.keyed[k].page() == first.page() && within_one_page(f.keyed[k]); ++k) {
      from = std::min(from, f.keyed[k].address);
      end = std::max(end, f.keyed[k].address + f.keyed[k].size);
    }
  }
  *last = k;
  *start = from;
  *length = static_cast<size_t>(end - from);
}

// Plans the calls (into the arrays reserve sized): iovecs grouped by page, at
// most kMaxIovecs a call, and the spans of one call within kScratch bytes of
// scratch (a span is at most a page, so one always fits).
void plan_calls(FastPlan& f) {
  const size_t n = f.keyed_count;
  unsigned char* scratch = f.scratch_store.of(kScratch);
  size_t iov = 0, spans = 0, calls = 0, call_start = 0, call_bytes = 0, used = 0;
  for (size_t i = 0; i < n;) {
    size_t last = 0, length = 0;
    std::uint64_t start = 0;
    next_piece(f, i, &last, &start, &length);
    const bool span = last - i > 1;
    if (iov - call_start == kMaxIovecs || (span && used + length > kScratch)) {
      f.calls[calls++] = {iov, call_bytes};
      call_start = iov;
      call_bytes = used = 0;
    }
    unsigned char* to = f.keyed[i].buffer;
    if (span) {
      to = scratch + used;
      used += length;
      f.spans[spans++] = {iov, i, last, start, to};
    }
    f.remote[iov].iov_base = reinterpret_cast<void*>(static_cast<std::uintptr_t>(start));
    f.remote[iov].iov_len = length;
    f.local[iov].iov_base = to;
    f.local[iov].iov_len = length;
    f.first_keyed[iov++] = i;
    call_bytes += length;
    i = last;
  }
  f.first_keyed[iov] = n;
  if (iov > call_start) f.calls[calls++] = {iov, call_bytes};
  f.iovec_count = iov;
  f.span_count = spans;
  f.call_count = calls;
}

// Copies the values of the spans among iovecs [0, end), which were read
// whole, out of the spans from `*next` on (the most common sizes inline:
// memcpy of a constant size is a single move, a call otherwise).
void hand_out(const FastPlan& f, size_t end, size_t* next) {
  for (; *next < f.span_count && f.spans[*next].iovec < end; ++*next) {
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

// Clears the mark key_requests set on every pending request.
void unmark(ReadRequest* requests, const FastPlan& f) {
  for (size_t k = 0; k < f.keyed_count; ++k) requests[f.keyed[k].index].bytes_read = 0;
}

// After a call failed: only the requests of the calls that copied all they
// were given, iovecs [first, last) of `completed`, keep their mark; the rest
// are pending again, for read_pending.
void undo_unread(ReadRequest* requests, const FastPlan& f,
                 const std::vector<std::pair<size_t, size_t>>& completed) {
  unmark(requests, f);
  for (const auto& [first, last] : completed) {
    for (size_t k = f.first_keyed[first]; k < f.first_keyed[last]; ++k) {
      ReadRequest& r = requests[f.keyed[k].index];
      r.bytes_read = r.size;
    }
  }
}

// The fast path over every request (which it resets). Returns true if it
// completed every pending one, with *failed set to the number that failed
// at once (EFAULT). A call that comes back short or fails leaves its
// requests pending for read_pending and the next call goes on — unless the
// task is gone (then the careful path reports it).
bool read_fast_planned(const Task::Impl& t, ReadRequest* requests, size_t count, FastPlan& f,
                       size_t* failed) {
  reserve(f, count);
  *failed = key_requests(requests, count, f);
  plan_calls(f);
  size_t next_span = 0;
  std::vector<std::pair<size_t, size_t>> completed;  // iovec ranges, once a call has failed
  bool all = true;
  for (size_t c = 0, p = 0; c < f.call_count; p = f.calls[c++].end) {
    const size_t n = f.calls[c].end - p;
    const ssize_t got =
        posix::retry_on_eintr([&] { return ::process_vm_readv(t.pid, f.local + p, n, f.remote + p, n, 0); });
    const int error = errno;  // before reaped()'s poll
    // The pid named our task during the call only if the task has not been
    // reaped since: otherwise the bytes may be a stranger's, and none stays.
    if (backend::reaped(t.pidfd.get())) {
      for (size_t k = p; k < p + n; ++k)
        std::fill_n(static_cast<unsigned char*>(f.local[k].iov_base), f.local[k].iov_len, 0);
      if (all) completed.emplace_back(0, p);
      all = false;
      break;
    }
    if (got < 0 || static_cast<size_t>(got) != f.calls[c].bytes) {
      if (all) completed.emplace_back(0, p);
      all = false;
      while (next_span < f.span_count && f.spans[next_span].iovec < p + n) ++next_span;
      if (got < 0 && error != EFAULT) break;  // a refusal, not a range: the careful path decides
      continue;
    }
    hand_out(f, p + n, &next_span);
    if (!all) completed.emplace_back(p, p + n);
  }
  if (!all) undo_unread(requests, f, completed);
  return all;
}

bool read_fast(const Task::Impl& t, ReadRequest* requests, size_t count, size_t* failed) {
  FastPlan& f = t_fast_plan;
  bool done = false;
  try {
    done = read_fast_planned(t, requests, count, f, failed);
  } catch (...) {
    // Only `completed` can throw (bad_alloc) once requests are marked:
    // none stays marked read.
    unmark(requests, f);
    f.finish();
    throw;
  }
  f.finish();
  return done;
}

// The whole of read_many. When the fast path completes every pending
// request, the complete ones are all but those that failed at once.
size_t read_requests(const Task::Impl& t, ReadRequest* requests, size_t count) {
  // The fast path counts requests per digit in 32 bits.
  if (t.use_mem_fd.load(std::memory_order_acquire) || count > std::numeric_limits<std::uint32_t>::max()) {
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
  int renewals = 0;
  while (done < size) {
    const ssize_t n = posix::retry_on_eintr(
        [&] { return ::pwrite(fd, in + done, size - done, static_cast<off_t>(address + done)); });
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n == 0) {
      if (!renew_mem_fd(t, Step::write_memory, renewals++)) {
        throw backend::access_error(t, ESRCH, Step::write_memory, "pwrite /proc/<pid>/mem " + range);
      }
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
