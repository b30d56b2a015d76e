// SPDX-License-Identifier: MIT
// The Linux Task's address space: Task::regions() and Task::region_at().
//
// Both open /proc/<pid>/maps relative to the task's verified /proc/<pid>
// directory (so a recycled pid can never redirect them; the open is where
// the kernel checks PTRACE_MODE_READ) and then ask PROCMAP_QUERY
// (procmap_query.hpp), or read and parse the text (proc_maps.hpp) when the
// kernel cannot answer that way. The two paths give identical Regions.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "common/usable.hpp"
#include "linux/proc_access.hpp"
#include "linux/proc_maps.hpp"
#include "linux/procmap_query.hpp"
#include "posix/read_to_end.hpp"
#include "taskport/error.hpp"

namespace taskport {

namespace {

using backend::QueryStatus;

std::string maps_path(const Task::Impl& task) { return "/proc/" + std::to_string(task.pid) + "/maps"; }

// The task's maps file: the descriptor a rendezvous handed over (opened by
// the task itself, so it works across users: the kernel checks access when
// maps is opened, not when it is read), else one opened now.
struct MapsFile {
  UniqueFd owned;
  int fd = -1;
};

MapsFile open_maps(const Task::Impl& task) {
  MapsFile m;
  if (task.maps_fd) {
    m.fd = task.maps_fd.get();
    return m;
  }
  m.owned.reset(backend::open_proc_file(task, "maps", O_RDONLY, Step::read_regions));
  if (!m.owned) throw backend::access_error(task, errno, Step::read_regions, "open " + maps_path(task));
  m.fd = m.owned.get();
  return m;
}

// The whole maps text, parsed. Every line must parse: the kernel's format is
// ABI, so a line that does not is reported rather than silently dropped. A
// task that has exited has no mm and an empty maps file, and so has a main
// thread that has exited while others run on; both are reported as ESRCH,
// as the ioctl does (through_maps then tries another thread).
std::vector<Region> regions_from_text(const Task::Impl& task, int maps_fd) {
  std::string text;
  // pread from offset 0: a handed-over descriptor's file position is shared
  // with every other user of it.
  if (const int error = posix::pread_to_end(maps_fd, text); error != 0) {
    throw backend::access_error(task, error, Step::read_regions, "read " + maps_path(task));
  }
  backend::MapsText parsed = backend::parse_proc_maps(text);
  if (parsed.malformed_lines != 0) {
    throw Error(EBADMSG, Step::read_regions, task.program,
                maps_path(task) + ": line " + std::to_string(parsed.first_malformed) +
                    " is not in the kernel's maps format (" + std::to_string(parsed.malformed_lines) +
                    " such lines)");
  }
  if (parsed.regions.empty()) throw backend::access_error(task, ESRCH, Step::read_regions, maps_path(task));
  return std::move(parsed.regions);
}

[[noreturn]] void throw_query_failed(const Task::Impl& task, int error) {
  throw backend::access_error(task, error, Step::read_regions, "PROCMAP_QUERY on " + maps_path(task));
}

// True if `e` says that a maps file showed no address space while the task
// lives on.
bool no_address_space(const Task::Impl& t, const Error& e) {
  return e.errno_value() == ESRCH && !backend::exited(t.pidfd.get());
}

// Runs read(maps fd) on the task's maps file. If that shows no address space
// (ESRCH) while the task lives: a handed-over maps file names the address
// space the task had before an exec, so /proc/<pid>/maps is opened now; and
// a main thread that has exited has none while the others run on
// (proc_access.hpp, open_other_thread_file), so another thread's is read.
template <class Read>
auto through_maps(const Task::Impl& t, Read read) {
  bool handed_over = false;
  {
    const MapsFile maps = open_maps(t);
    handed_over = !maps.owned;
    try {
      return read(maps.fd);
    } catch (const Error& e) {
      if (!no_address_space(t, e)) throw;
    }
  }
  if (handed_over) {
    UniqueFd now(backend::open_proc_file(t, "maps", O_RDONLY, Step::read_regions));
    if (!now) throw backend::access_error(t, errno, Step::read_regions, "open " + maps_path(t));
    try {
      return read(now.get());
    } catch (const Error& e) {
      if (!no_address_space(t, e)) throw;
    }
  }
  UniqueFd other(backend::open_other_thread_file(t, "maps", O_RDONLY, Step::read_regions));
  if (!other)
    throw backend::access_error(t, errno, Step::read_regions, "open " + maps_path(t) + " of a thread");
  return read(other.get());
}

std::vector<Region> regions_through(const Task::Impl& t, int maps_fd) {
  std::vector<Region> regions;
  int error = 0;
  switch (backend::query_regions(maps_fd, regions, error)) {
    case QueryStatus::ok: return regions;
    case QueryStatus::failed: throw_query_failed(t, error);
    case QueryStatus::unavailable: break;
  }
  return regions_from_text(t, maps_fd);
}

std::optional<Region> region_at_through(const Task::Impl& t, int maps_fd, std::uint64_t address) {
  std::optional<Region> region;
  int error = 0;
  switch (backend::query_region_at(maps_fd, address, region, error)) {
    case QueryStatus::ok: return region;
    case QueryStatus::failed: throw_query_failed(t, error);
    case QueryStatus::unavailable: break;
  }
  for (Region& r : regions_from_text(t, maps_fd)) {
    if (r.contains(address)) return std::move(r);
  }
  return std::nullopt;
}

}  // namespace

std::vector<Region> Task::regions() const {
  const Impl& t = common::present(impl_, Step::read_regions);
  return through_maps(t, [&](int fd) { return regions_through(t, fd); });
}

std::optional<Region> Task::region_at(std::uint64_t address) const {
  const Impl& t = common::present(impl_, Step::read_regions);
  return through_maps(t, [&](int fd) { return region_at_through(t, fd, address); });
}

}  // namespace taskport
