// SPDX-License-Identifier: MIT
// The Linux Task's resident size per mapping:
// Task::regions_with_resident_size().
//
// /proc/<pid>/smaps is opened relative to the task's verified /proc/<pid>
// directory, as maps is (task_regions_linux.cpp), so a recycled pid can never
// redirect it; the open is where the kernel checks PTRACE_MODE_READ. Kept
// apart from regions() because the kernel walks every page table to answer:
// a caller that needs no resident sizes never pays for it.
#include <errno.h>
#include <fcntl.h>

#include <string>

#include "common/usable.hpp"
#include "linux/proc_access.hpp"
#include "linux/proc_smaps.hpp"
#include "posix/read_to_end.hpp"
#include "taskport/error.hpp"

namespace taskport {

namespace {

std::string smaps_path(const Task::Impl& task) { return "/proc/" + std::to_string(task.pid) + "/smaps"; }

// Every line must parse and every mapping must have its Rss: the kernel's
// format is ABI. A task that has exited has no mm and an empty smaps file,
// and so has a main thread that has exited while others run on; both are
// reported as ESRCH, as regions() does (the caller then tries another
// thread).
std::vector<Region> parse_smaps(const Task::Impl& task, const std::string& text) {
  backend::SmapsText parsed = backend::parse_proc_smaps(text);
  if (parsed.malformed_lines != 0) {
    throw Error(EBADMSG, Step::read_regions, task.program,
                smaps_path(task) + ": line " + std::to_string(parsed.first_malformed) +
                    " is not in the kernel's smaps format (" + std::to_string(parsed.malformed_lines) +
                    " such lines)");
  }
  if (parsed.regions.empty()) throw backend::access_error(task, ESRCH, Step::read_regions, smaps_path(task));
  return std::move(parsed.regions);
}

std::vector<Region> read_smaps(const Task::Impl& task, int fd) {
  std::string text;
  if (const int error = posix::read_to_end(fd, text); error != 0) {
    throw backend::access_error(task, error, Step::read_regions, "read " + smaps_path(task));
  }
  return parse_smaps(task, text);
}

}  // namespace

std::vector<Region> Task::regions_with_resident_size() const {
  const Impl& t = common::present(impl_, Step::read_regions);
  UniqueFd smaps(backend::open_proc_file(t, "smaps", O_RDONLY, Step::read_regions));
  if (!smaps) {
    const int error = errno;
    // Refused, but the task gave us its maps file: the mappings without sizes.
    if ((error == EACCES || error == EPERM) && t.maps_fd) return regions();
    throw backend::access_error(t, error, Step::read_regions, "open " + smaps_path(t));
  }
  try {
    return read_smaps(t, smaps.get());
  } catch (const Error& e) {
    // No address space through the main thread while the task lives: it
    // has exited, the others run on (proc_access.hpp).
    if (e.errno_value() != ESRCH || backend::exited(t.pidfd.get())) throw;
  }
  UniqueFd other(backend::open_other_thread_file(t, "smaps", O_RDONLY, Step::read_regions));
  if (!other)
    throw backend::access_error(t, errno, Step::read_regions, "open " + smaps_path(t) + " of a thread");
  return read_smaps(t, other.get());
}

}  // namespace taskport
