// SPDX-License-Identifier: MIT
// Support for the rendezvous tests: the helper programs, line-by-line
// reading of their output, and running a piece of a test in a process of
// its own under another uid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"
#include "taskport/taskport.hpp"

namespace tp_rdv {

using namespace std::chrono_literals;
using tp_test::kLong;

// The helpers (helpers/target.cpp documents their arguments).
const std::string& target_path();           // child side compiled in (C core)
const std::string& cxx_target_path();       // links libtaskport
const std::string& plain_path();            // knows nothing of taskport
const std::string& plain_sanitized_path();  // the same, with the build's sanitizers
const std::string& static_path();           // statically linked
const std::string& preload_path();          // the build tree's libtaskport_preload.so

// Command(program) with the arguments, stdin and stdout piped.
taskport::Command helper(const std::string& program, std::initializer_list<std::string> args);

// Reads a child's output line by line, never waiting past a deadline.
class Lines {
 public:
  explicit Lines(int fd) : fd_(fd) {}
  // The next line (without '\n'), or nullopt at EOF or after `timeout`.
  std::optional<std::string> next(std::chrono::milliseconds timeout = kLong);
  // Skips lines until one starts with `prefix` + ' '; returns the rest.
  std::optional<std::string> value(const std::string& prefix, std::chrono::milliseconds timeout = kLong);
  // Every line until "end" (exclusive), or until EOF / timeout.
  std::vector<std::string> until_end(std::chrono::milliseconds timeout = kLong);

 private:
  int fd_;
  std::string buf_;
};

std::uint64_t parse_address(const std::string& hex);

// The NUL-terminated string at `address` in the task (at most 64 bytes).
std::string read_string(const taskport::Task& task, std::uint64_t address);

// The environment entries and descriptors a helper's --report listed.
struct Report {
  std::vector<std::string> env;
  std::vector<int> fds;
  bool mentions(const std::string& text) const;  // any env entry contains it
  std::optional<std::string> env_value(const std::string& key) const;
};
Report parse_helper_report(const std::vector<std::string>& lines);

// Runs `body` in a forked process that first becomes uid/gid `uid` with no
// supplementary groups (and so, from root, loses every capability). `body`
// reports facts with `say(key, value)`; the result maps each key to its
// last value. An exception escaping `body` is reported as key "exception".
// Records a test failure if the process does not end within kLong.
using Say = std::function<void(const std::string& key, const std::string& value)>;
std::map<std::string, std::string> in_process_as(uid_t uid, const std::function<void(const Say&)>& body);

// CapEff of this process, from /proc/self/status.
std::string effective_capabilities();

}  // namespace tp_rdv
