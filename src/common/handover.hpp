// SPDX-License-Identifier: MIT
// What a spawner expects when it waits for a child's task handle (a
// Rendezvous, the preload spawn, fork_with_task), and the errors of that
// wait as taskport/rendezvous.hpp promises them — worded once for both
// backends. The transports differ (Linux: a socketpair, rendezvous_accept;
// macOS: a Mach port, rendezvous_server); what a failure means does not.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "taskport/child.hpp"
#include "taskport/error.hpp"

namespace taskport::common {

struct Expectation {
  pid_t pid = -1;
  int exit_fd = -1;  // readable once the expected process exits (a pidfd, or the exit kqueue)
  // Our child: its exit status can be quoted (waitid WNOWAIT never reaps).
  bool is_our_child = false;
  std::optional<std::chrono::steady_clock::time_point> deadline;  // none: no limit
  std::string name;  // Error::program() of every error (taskport/error.hpp)
  std::string hint;  // appended to "never sent" errors: what the child should have done
};

// The messages of other senders that a wait discarded, as its errors quote
// them: the first few reasons, and how many there were. Bounded, however
// many a foreign sender floods the wait with.
class Rejections {
 public:
  static constexpr std::size_t kQuoted = 3;
  void add(std::string reason);
  const std::vector<std::string>& quoted() const noexcept { return quoted_; }
  std::size_t count() const noexcept { return count_; }

 private:
  std::vector<std::string> quoted_;
  std::size_t count_ = 0;
};

// What to expect from `child`, our own unreaped child: its pid, exit_fd()
// and program, no deadline, no hint.
Expectation expect_from(const Child& child);

// The deadline `timeout` from now (a negative timeout is 0).
std::chrono::steady_clock::time_point deadline_after(std::chrono::nanoseconds timeout);

// The errors, all Step::accept_task and naming `expect.name`. `rejected`:
// the messages of other senders that were discarded (the first few are
// quoted). `handle` is what the child sends, as the errors call it:
// "task handle" (Linux) or "task port" (macOS).
//   ESRCH:        the process exited before sending (how, if it is our child);
Error exited_before_sending(const Expectation& expect, const char* handle, const Rejections& rejected);
//   ECONNABORTED: every copy of the child's end was closed without a message;
Error closed_before_sending(const Expectation& expect, const char* handle, const Rejections& rejected);
//   ETIMEDOUT:    nothing from the process before the deadline;
Error nothing_in_time(const Expectation& expect, const char* handle, const Rejections& rejected);
//   EPROTO:       the process itself sent something malformed (`what` it was);
Error malformed_message(const Expectation& expect, const std::string& what, const Rejections& rejected);
//   `error`:      anything else, with `detail` (the child's own errno, a
//                 failed receive).
Error accept_failed(const Expectation& expect, int error, const std::string& detail,
                    const Rejections& rejected);

}  // namespace taskport::common
