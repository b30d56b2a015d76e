// SPDX-License-Identifier: MIT
// Task::info(): /proc/<pid>/status, stat and io, each read once through the
// task's verified /proc directory. Whatever a file does not say (a zombie
// has no Vm* lines; io needs ptrace read access) stays absent.
#include <errno.h>

#include <string>

#include "common/usable.hpp"
#include "linux/proc_access.hpp"
#include "linux/proc_parse.hpp"

namespace taskport {

TaskInfo Task::info() const {
  const Impl& t = common::present(impl_, Step::read_info);
  using backend::key_kib_as_bytes;
  using backend::key_value;
  TaskInfo info;

  // Sizes, thread count, context switches. World-readable.
  const std::string status = backend::read_proc_file(t, "status", Step::read_info);
  info.virtual_size = key_kib_as_bytes(status, "VmSize");
  info.resident_size = key_kib_as_bytes(status, "VmRSS");
  info.resident_size_peak = key_kib_as_bytes(status, "VmHWM");
  info.resident_anonymous = key_kib_as_bytes(status, "RssAnon");
  info.resident_file = key_kib_as_bytes(status, "RssFile");
  info.swapped = key_kib_as_bytes(status, "VmSwap");
  if (auto n = key_value(status, "Threads")) info.thread_count = static_cast<std::uint32_t>(*n);
  info.voluntary_switches = key_value(status, "voluntary_ctxt_switches");
  info.involuntary_switches = key_value(status, "nonvoluntary_ctxt_switches");

  // CPU times and faults (whole thread group, exited threads included).
  // World-readable; the fields used here are never masked.
  const std::string stat_text = backend::read_proc_file(t, "stat", Step::read_info);
  if (auto stat = backend::parse_stat(stat_text)) {
    const long hz = backend::clock_ticks_per_second();
    info.user_time = backend::ticks_to_duration(stat->utime, hz);
    info.system_time = backend::ticks_to_duration(stat->stime, hz);
    info.minor_faults = stat->minflt;
    info.major_faults = stat->majflt;
  } else {
    throw Error(EBADMSG, Step::read_info, t.program,
                "unexpected format of /proc/" + std::to_string(t.pid) + "/stat");
  }

  // Syscall counts: needs PTRACE_MODE_READ; absent when refused.
  std::string io;
  if (backend::try_read_proc_file(t, "io", io, Step::read_info)) {
    info.syscalls_read = key_value(io, "syscr");
    info.syscalls_write = key_value(io, "syscw");
  }
  return info;
}

}  // namespace taskport
