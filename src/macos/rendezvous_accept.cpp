// SPDX-License-Identifier: MIT
#include "macos/rendezvous_accept.hpp"

#include <errno.h>
#include <sys/wait.h>

#include "macos/exit_watch.hpp"
#include "macos/mach_error.hpp"
#include "macos/task_impl.hpp"
#include "macos/wait_status.hpp"
#include "taskport/error.hpp"

namespace taskport::backend {
namespace {

constexpr std::size_t kMaxQuotedRejections = 3;

std::string how_it_ended(const Expectation& expect) {
  if (expect.is_our_child) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(expect.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid != 0) {
      if (info.si_code == CLD_EXITED) return ExitStatus::exited(info.si_status).to_string();
      return ExitStatus::signaled(info.si_status, info.si_code == CLD_DUMPED).to_string();
    }
  }
  return "exited";
}

std::string with_rejections(std::string detail, const std::vector<std::string>& rejected) {
  if (rejected.empty()) return detail;
  detail += "; discarded ";
  for (std::size_t i = 0; i < rejected.size() && i < kMaxQuotedRejections; ++i) {
    if (i > 0) detail += ", ";
    detail += rejected[i];
  }
  if (rejected.size() > kMaxQuotedRejections) {
    detail += " and " + std::to_string(rejected.size() - kMaxQuotedRejections) + " more";
  }
  detail += " (only the child itself may send its task port)";
  return detail;
}

std::string with_hint(std::string detail, const Expectation& expect) {
  if (!expect.hint.empty()) detail += ": " + expect.hint;
  return detail;
}

}  // namespace

rendezvous::Handoff accept_handoff(rendezvous::Server& server, const Expectation& expect) {
  using rendezvous::Outcome;
  rendezvous::ReceiveResult r = server.receive(expect.pid, expect.exit_fd, expect.deadline);
  switch (r.outcome) {
    case Outcome::accepted: return std::move(r.handoff);
    case Outcome::child_exited:
      throw Error(
          ESRCH, Step::accept_task, expect.name,
          with_rejections(
              with_hint("the child " + how_it_ended(expect) + " before sending its task port", expect),
              r.rejected));
    case Outcome::timed_out:
      throw Error(ETIMEDOUT, Step::accept_task, expect.name,
                  with_rejections(with_hint("no task port from the child in time", expect), r.rejected));
    case Outcome::malformed:
      throw Error(EPROTO, Step::accept_task, expect.name,
                  with_rejections("the child sent " + r.reason, r.rejected));
    case Outcome::failed: break;
  }
  throw Error(errno_from_kern(r.kr), Step::accept_task, expect.name,
              with_rejections(kern_text("mach_msg receive", r.kr), r.rejected));
}

Task make_task(SendRight port, pid_t pid, std::string program) {
  // Without an exit watch (EVFILT_PROC refused) the Task still works; only
  // exit_fd() is -1 and is_alive() asks the port instead.
  UniqueFd kq = watch_exit(pid);
  return Task(std::make_unique<Task::Impl>(std::move(port), pid, std::move(program), std::move(kq)));
}

}  // namespace taskport::backend
