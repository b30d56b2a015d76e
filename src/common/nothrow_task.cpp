// SPDX-License-Identifier: MIT
// The non-throwing forms of Task (taskport/error.hpp, "Without
// exceptions"): each is its throwing form inside common::guarded.
#include <unistd.h>

#include "common/backend.hpp"
#include "common/guarded.hpp"
#include "common/task_access.hpp"
#include "taskport/task.hpp"
#if defined(__APPLE__)
#include "taskport/macos.hpp"
#endif

namespace taskport {
namespace {

// Error::program() of the task, for failures that do not come as an Error.
const char* name(const Task& task) noexcept {
  const Task::Impl* impl = detail::TaskAccess::impl_or_null(task);
  // "pid -1" names no process, as for every error about a moved-from Task.
  return impl != nullptr ? backend::program_of(*impl).c_str() : "pid -1";
}

}  // namespace

using common::guarded;

std::optional<Task> Task::open(pid_t pid, std::error_code& ec) noexcept {
  return guarded(ec, Step::open_task, common::PidName(pid).text, [&] { return open(pid); });
}

std::optional<Task> Task::open(pid_t pid, const OpenOptions& options, std::error_code& ec) noexcept {
  return guarded(ec, Step::open_task, common::PidName(pid).text, [&] { return open(pid, options); });
}

#if defined(__linux__)
std::optional<Task> Task::from_pidfd(UniqueFd pidfd, std::error_code& ec) noexcept {
  return guarded(ec, Step::open_task, common::PidName(::getpid()).text,
                 [&] { return from_pidfd(std::move(pidfd)); });
}
#endif

std::optional<std::uint64_t> Task::start_time(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_info, name(*this), [&] { return start_time(); });
}

std::optional<bool> Task::is_alive(std::error_code& ec) const noexcept {
  return guarded(ec, Step::poll, name(*this), [&] { return is_alive(); });
}

bool Task::signal(int sig, std::error_code& ec) noexcept {
  return guarded(ec, Step::send_signal, name(*this), [&] { signal(sig); });
}

bool Task::read(std::uint64_t address, void* buffer, std::size_t size, std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_memory, name(*this), [&] { read(address, buffer, size); });
}

std::optional<std::vector<std::byte>> Task::read(std::uint64_t address, std::size_t size,
                                                 std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_memory, name(*this), [&] { return read(address, size); });
}

std::optional<std::size_t> Task::read_many(ReadRequest* requests, std::size_t count,
                                           std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_memory, name(*this), [&] { return read_many(requests, count); });
}

bool Task::write(std::uint64_t address, const void* data, std::size_t size, std::error_code& ec) noexcept {
  return guarded(ec, Step::write_memory, name(*this), [&] { write(address, data, size); });
}

std::optional<std::vector<Region>> Task::regions(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_regions, name(*this), [&] { return regions(); });
}

std::optional<Region> Task::region_at(std::uint64_t address, std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_regions, name(*this), [&] { return region_at(address); });
}

std::optional<std::vector<Region>> Task::regions_with_resident_size(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_regions, name(*this), [&] { return regions_with_resident_size(); });
}

std::optional<std::vector<ThreadInfo>> Task::threads(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_threads, name(*this), [&] { return threads(); });
}

#if defined(__x86_64__) || defined(__aarch64__)
std::optional<Registers> Task::registers(pid_t tid, std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_registers, name(*this), [&] { return registers(tid); });
}

std::optional<std::vector<ThreadRegisters>> Task::registers_all(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_registers, name(*this), [&] { return registers_all(); });
}
#endif

std::optional<TaskInfo> Task::info(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_info, name(*this), [&] { return info(); });
}

std::optional<std::string> Task::executable(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_info, name(*this), [&] { return executable(); });
}

std::optional<std::vector<std::string>> Task::command_line(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_info, name(*this), [&] { return command_line(); });
}

std::optional<std::string> Task::current_dir(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_info, name(*this), [&] { return current_dir(); });
}

std::optional<std::vector<std::string>> Task::environment(std::error_code& ec) const noexcept {
  return guarded(ec, Step::read_info, name(*this), [&] { return environment(); });
}

bool Task::suspend(std::error_code& ec) noexcept {
  return guarded(ec, Step::suspend, name(*this), [&] { suspend(); });
}

bool Task::resume(std::error_code& ec) noexcept {
  return guarded(ec, Step::resume, name(*this), [&] { resume(); });
}

bool Task::hold_at_exit(std::error_code& ec) noexcept {
  return guarded(ec, Step::hold_at_exit, name(*this), [&] { hold_at_exit(); });
}

std::optional<bool> Task::is_held_at_exit(std::error_code& ec) const noexcept {
  return guarded(ec, Step::hold_at_exit, name(*this), [&] { return is_held_at_exit(); });
}

std::optional<bool> Task::wait_until_held_at_exit(std::chrono::milliseconds timeout,
                                                  std::error_code& ec) const noexcept {
  return guarded(ec, Step::hold_at_exit, name(*this), [&] { return wait_until_held_at_exit(timeout); });
}

bool Task::release_exit_hold(std::error_code& ec) noexcept {
  return guarded(ec, Step::hold_at_exit, name(*this), [&] { release_exit_hold(); });
}

#if defined(__APPLE__)
std::optional<macos::ExtmodInfo> macos::extmod_info(const Task& task, std::error_code& ec) noexcept {
  return guarded(ec, Step::read_info, name(task), [&] { return extmod_info(task); });
}
#endif

}  // namespace taskport
