// SPDX-License-Identifier: MIT
// Support for the Task tests: the tp_task_target helper driven over its
// stdin/stdout, outside oracles (ps, gdb, strace) run with a time limit, and
// forked subprocesses that read a task with other credentials or under a
// seccomp filter.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"
#include "taskport/taskport.hpp"

namespace tp_task {

using namespace std::chrono_literals;
using tp_test::kLong;

const std::string& target_path();
const std::string& read_many_driver_path();

// A running tp_task_target (see helpers/target.cpp) with its Task. Killed
// and reaped on destruction, whatever state the test left it in.
class Target {
 public:
  // `configure` may add pre_exec hooks etc. to the Command before spawning.
  explicit Target(std::vector<std::string> args = {},
                  const std::function<void(taskport::Command&)>& configure = {});
  ~Target();
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  taskport::Task& task() { return *task_; }
  taskport::Child& child() { return *child_; }
  pid_t pid() const { return pid_; }

  // Addresses from the startup report ("buffer", "hole", …).
  std::uint64_t address(const std::string& name) const;
  std::size_t buffer_size() const { return buffer_size_; }
  // The size a report line gave after the address ("buffer", "large").
  std::size_t size(const std::string& name) const;

  // Sends one command line; returns the answer line (without "\n"), or
  // records a failure and returns "" if none comes within kLong.
  std::string command(const std::string& line);
  // What the target reads at [address, address+size) with its own loads.
  std::vector<unsigned char> own_bytes(std::uint64_t address, std::size_t size);

  // Makes the target exit and waits (bounded) until it is a zombie: exited,
  // not reaped (the Child is not waited).
  void exit_to_zombie();
  // Makes the target exit and reaps it.
  void exit_and_reap();
  // Makes the target exec itself (a new address space, new addresses).
  void reexec();

 private:
  std::string read_line();
  void read_report();

  std::optional<taskport::Child> child_;
  std::optional<taskport::Task> task_;
  pid_t pid_ = -1;
  std::map<std::string, std::uint64_t> addresses_;
  std::map<std::string, std::size_t> sizes_;
  std::size_t buffer_size_ = 0;
  std::string pending_;
};

// A pre_exec hook that makes the child run as uid:gid (setgroups,
// setresgid, setresuid as raw system calls: async-signal-safe).
void run_child_as(taskport::Command& cmd, uid_t uid, gid_t gid);

// Runs argv (a PATH search) with stdout captured; kills it after `timeout`.
// Records a failure if it does not exit 0.
std::string run_capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 30s);
// True if `program` is found in PATH.
bool have_program(const std::string& program);

// Runs `body` in a forked copy of this process and returns what it
// returned (or "exception: <what>" if it threw). The copy is killed after
// `timeout`; then the result says "timeout". `body` must not use gtest
// assertions (they would not reach the parent).
std::string in_subprocess(const std::function<std::string()>& body,
                          std::chrono::milliseconds timeout = kLong);

// In a subprocess: become uid:gid with no supplementary groups; going from
// root to a non-root uid clears every capability. Returns "" or an error.
std::string drop_to(uid_t uid, gid_t gid);

// In a subprocess: install a seccomp filter that makes process_vm_readv fail
// with `error`. Returns "" or an error.
std::string refuse_process_vm_readv(int error);

std::string hex(std::uint64_t value);
std::string hex_bytes(const unsigned char* data, std::size_t size);

}  // namespace tp_task
