// SPDX-License-Identifier: MIT
#include "macos/exit_watch.hpp"

#include <errno.h>
#include <sys/event.h>
#include <sys/time.h>

#include "common/child_guard.hpp"
#include "posix/eintr.hpp"
#include "taskport/error.hpp"

namespace taskport::backend {

UniqueFd watch_exit(pid_t pid) noexcept {
  // Close-on-exec and close-on-fork from birth: xnu bsd/kern/kern_event.c
  // kqueue_internal sets FP_CLOEXEC | FP_CLOFORK (F_GETFD reports FD_CLOEXEC).
  UniqueFd kq(::kqueue());
  if (!kq) return kq;
  struct kevent change;
  EV_SET(&change, static_cast<uintptr_t>(pid), EVFILT_PROC, EV_ADD | EV_RECEIPT, NOTE_EXIT, 0, nullptr);
  struct kevent receipt;
  if (posix::retry_on_eintr([&] { return ::kevent(kq.get(), &change, 1, &receipt, 1, nullptr); }) < 0) {
    return UniqueFd();
  }
  const auto error = static_cast<int>((receipt.flags & EV_ERROR) ? receipt.data : 0);
  if (error == 0) return kq;
  if (error != ESRCH) {
    errno = error;
    return UniqueFd();
  }
  // Already exited (a zombie cannot be watched): a user event that stays
  // triggered makes the kqueue readable from now on.
  EV_SET(&change, 1, EVFILT_USER, EV_ADD, NOTE_TRIGGER, 0, nullptr);
  if (posix::retry_on_eintr([&] { return ::kevent(kq.get(), &change, 1, nullptr, 0, nullptr); }) < 0) {
    return UniqueFd();
  }
  return kq;
}

UniqueFd watch_new_child(pid_t pid, const std::string& program) {
  common::ChildGuard guard(pid, -1);
  UniqueFd watch = watch_exit(pid);
  if (!watch) throw Error(errno, Step::poll, program, "kqueue EVFILT_PROC on the child");
  guard.dismiss();
  return watch;
}

bool exit_watch_fired(int kq, const std::string& program) {
  const int revents = posix::poll_now(kq);
  if (revents < 0) throw Error(errno, Step::poll, program, "poll on the exit kqueue");
  return revents != 0;
}

}  // namespace taskport::backend
