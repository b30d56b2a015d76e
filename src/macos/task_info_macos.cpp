// SPDX-License-Identifier: MIT
// Task::info() and macos::extmod_info(): task_info flavors on the port.
//   MACH_TASK_BASIC_INFO   virtual/resident size, peak, times of ended threads
//   TASK_THREAD_TIMES_INFO times of live threads (added: whole-task times)
//   TASK_VM_INFO           internal (anonymous), external (file), compressed
//   TASK_EVENTS_INFO       faults, pageins, context switches
//   task_threads           thread count
// A flavor the kernel refuses leaves its fields absent; a dead port (task
// exited or exec'd) throws ESRCH.
#include <errno.h>
#include <mach/mach.h>

#include "common/task_access.hpp"
#include "common/usable.hpp"
#include "macos/mach_error.hpp"
#include "macos/task_impl.hpp"
#include "macos/thread_list.hpp"
#include "taskport/macos.hpp"

namespace taskport {
namespace {

using backend::errno_from_kern;
using backend::kern_error;

std::chrono::nanoseconds to_ns(time_value_t t) {
  return std::chrono::seconds(t.seconds) + std::chrono::microseconds(t.microseconds);
}

// task_info of one flavor: true on success, false if the kernel does not
// know it; throws when the task is gone.
template <class T>
bool query(const Task::Impl& t, task_flavor_t flavor, T& out, mach_msg_type_number_t count,
           const char* what) {
  const kern_return_t kr = ::task_info(t.port.get(), flavor, reinterpret_cast<task_info_t>(&out), &count);
  if (kr == KERN_SUCCESS) return true;
  if (errno_from_kern(kr) == ESRCH) throw kern_error(kr, Step::read_info, t.program, what);
  return false;
}

}  // namespace

TaskInfo Task::info() const {
  const Impl& t = common::usable(impl_, Step::read_info);
  TaskInfo info;

  mach_task_basic_info_data_t basic{};
  const bool have_basic =
      query(t, MACH_TASK_BASIC_INFO, basic, MACH_TASK_BASIC_INFO_COUNT, "task_info(MACH_TASK_BASIC_INFO)");
  if (have_basic) {
    info.virtual_size = basic.virtual_size;
    info.resident_size = basic.resident_size;
    info.resident_size_peak = basic.resident_size_max;
  }
  task_thread_times_info_data_t live{};
  if (have_basic && query(t, TASK_THREAD_TIMES_INFO, live, TASK_THREAD_TIMES_INFO_COUNT,
                          "task_info(TASK_THREAD_TIMES_INFO)")) {
    info.user_time = to_ns(basic.user_time) + to_ns(live.user_time);
    info.system_time = to_ns(basic.system_time) + to_ns(live.system_time);
  }

  task_vm_info_data_t vm{};
  if (query(t, TASK_VM_INFO, vm, TASK_VM_INFO_COUNT, "task_info(TASK_VM_INFO)")) {
    info.resident_anonymous = vm.internal;
    info.resident_file = vm.external;
    info.swapped = vm.compressed;
  }

  task_events_info_data_t events{};
  if (query(t, TASK_EVENTS_INFO, events, TASK_EVENTS_INFO_COUNT, "task_info(TASK_EVENTS_INFO)")) {
    // Mach counts every fault; pageins are the ones that read from disk.
    const auto faults = static_cast<std::uint64_t>(events.faults);
    const auto pageins = static_cast<std::uint64_t>(events.pageins);
    info.minor_faults = faults >= pageins ? faults - pageins : 0;
    info.major_faults = pageins;
    info.voluntary_switches = static_cast<std::uint64_t>(events.csw);
  }

  const backend::ThreadList threads(t.port.get(), t.program, Step::read_info);
  info.thread_count = static_cast<std::uint32_t>(threads.size());
  return info;
}

namespace macos {

ExtmodInfo extmod_info(const Task& task) {
  task_extmod_info_data_t raw{};
  mach_msg_type_number_t count = TASK_EXTMOD_INFO_COUNT;
  const kern_return_t kr =
      ::task_info(task.native_handle(), TASK_EXTMOD_INFO, reinterpret_cast<task_info_t>(&raw), &count);
  if (kr != KERN_SUCCESS)
    throw kern_error(kr, Step::read_info, detail::TaskAccess::impl(task).program,
                     "task_info(TASK_EXTMOD_INFO)");
  ExtmodInfo info;
  for (std::size_t i = 0; i < info.task_uuid.size(); ++i) info.task_uuid[i] = raw.task_uuid[i];
  info.task_for_pid_count = raw.extmod_statistics.task_for_pid_count;
  info.task_for_pid_caller_count = raw.extmod_statistics.task_for_pid_caller_count;
  info.thread_creation_count = raw.extmod_statistics.thread_creation_count;
  info.thread_creation_caller_count = raw.extmod_statistics.thread_creation_caller_count;
  info.thread_set_state_count = raw.extmod_statistics.thread_set_state_count;
  info.thread_set_state_caller_count = raw.extmod_statistics.thread_set_state_caller_count;
  return info;
}

}  // namespace macos
}  // namespace taskport
