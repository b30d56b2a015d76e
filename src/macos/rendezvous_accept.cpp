// SPDX-License-Identifier: MIT
#include "macos/rendezvous_accept.hpp"

#include <errno.h>

#include "macos/exit_watch.hpp"
#include "macos/mach_error.hpp"
#include "macos/task_impl.hpp"
#include "taskport/error.hpp"

namespace taskport::backend::rendezvous {
namespace {

// What the child sends, as errors call it.
constexpr const char* kHandle = "task port";

}  // namespace

Handoff accept_handoff(Server& server, const Expectation& expect) {
  ReceiveResult r = server.receive(expect.pid, expect.exit_fd, *expect.deadline);
  switch (r.outcome) {
    case Outcome::accepted: return std::move(r.handoff);
    case Outcome::child_exited: throw common::exited_before_sending(expect, kHandle, r.rejected);
    case Outcome::timed_out: throw common::nothing_in_time(expect, kHandle, r.rejected);
    case Outcome::malformed: throw common::malformed_message(expect, r.reason, r.rejected);
    case Outcome::task_gone:
      throw common::accept_failed(expect, ESRCH, "the child sent " + r.reason, r.rejected);
    case Outcome::failed: break;
  }
  throw common::accept_failed(expect, errno_from_kern(r.kr), kern_text("mach_msg receive", r.kr), r.rejected);
}

Task make_task(SendRight port, const TaskIdentity& identity, std::string program) {
  // Without an exit watch (EVFILT_PROC refused) the Task still works; only
  // exit_fd() is -1 and is_alive() asks the port alone.
  UniqueFd kq = watch_exit(identity.pid);
  return Task(std::make_unique<Task::Impl>(std::move(port), identity.pid, identity.pid_version,
                                           std::move(program), std::move(kq)));
}

}  // namespace taskport::backend::rendezvous
