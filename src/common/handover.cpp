// SPDX-License-Identifier: MIT
#include "common/handover.hpp"

#include <errno.h>
#include <sys/wait.h>

#include <algorithm>

#include "taskport/exit_status.hpp"

namespace taskport::common {
namespace {

// "exit code 0" / "killed by SIGKILL" for our own child (without reaping
// it: WNOWAIT; by pid, which an unreaped child keeps), or "exited" when it
// is not ours to wait for.
std::string how_it_ended(const Expectation& expect) {
  if (expect.is_our_child) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(expect.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid != 0) {
      if (info.si_code == CLD_EXITED) return ExitStatus::exited(info.si_status).to_string();
      // A ptrace stop (WEXITED reports those of our tracer's tracees) is no end.
      if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED)
        return ExitStatus::signaled(info.si_status, info.si_code == CLD_DUMPED).to_string();
    }
  }
  return "exited";
}

std::string with_rejections(std::string detail, const Rejections& rejected) {
  if (rejected.count() == 0) return detail;
  detail += "; discarded ";
  for (std::size_t i = 0; i < rejected.quoted().size(); ++i) {
    if (i > 0) detail += ", ";
    detail += rejected.quoted()[i];
  }
  if (rejected.count() > rejected.quoted().size()) {
    detail += " and " + std::to_string(rejected.count() - rejected.quoted().size()) + " more";
  }
  detail += " (only the child itself may send its handle)";
  return detail;
}

std::string with_hint(std::string detail, const Expectation& expect) {
  if (!expect.hint.empty()) detail += ": " + expect.hint;
  return detail;
}

}  // namespace

void Rejections::add(std::string reason) {
  if (quoted_.size() < kQuoted) quoted_.push_back(std::move(reason));
  ++count_;
}

Expectation expect_from(const Child& child) {
  Expectation expect;
  expect.pid = child.pid();
  expect.exit_fd = child.exit_fd();
  expect.is_our_child = true;
  expect.name = child.program();
  return expect;
}

std::chrono::steady_clock::time_point deadline_after(std::chrono::nanoseconds timeout) {
  using clock = std::chrono::steady_clock;
  return clock::now() +
         std::chrono::duration_cast<clock::duration>(std::max(timeout, std::chrono::nanoseconds(0)));
}

Error exited_before_sending(const Expectation& expect, const char* handle, const Rejections& rejected) {
  return Error(ESRCH, Step::accept_task, expect.name,
               with_rejections(
                   with_hint("the child " + how_it_ended(expect) + " before sending its " + handle, expect),
                   rejected));
}

Error closed_before_sending(const Expectation& expect, const char* handle, const Rejections& rejected) {
  return Error(
      ECONNABORTED, Step::accept_task, expect.name,
      with_rejections(
          with_hint(std::string("the child closed its end of the rendezvous without sending its ") + handle,
                    expect),
          rejected));
}

Error nothing_in_time(const Expectation& expect, const char* handle, const Rejections& rejected) {
  return Error(
      ETIMEDOUT, Step::accept_task, expect.name,
      with_rejections(with_hint(std::string("no ") + handle + " from the child in time", expect), rejected));
}

Error malformed_message(const Expectation& expect, const std::string& what, const Rejections& rejected) {
  return Error(EPROTO, Step::accept_task, expect.name, with_rejections("the child sent " + what, rejected));
}

Error accept_failed(const Expectation& expect, int error, const std::string& detail,
                    const Rejections& rejected) {
  return Error(error, Step::accept_task, expect.name, with_rejections(detail, rejected));
}

}  // namespace taskport::common
