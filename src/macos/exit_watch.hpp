// SPDX-License-Identifier: MIT
// A descriptor that becomes readable once a process has exited: a kqueue
// holding an EVFILT_PROC/NOTE_EXIT filter for the pid (macOS has no pidfd).
// Child::exit_fd() and Task::exit_fd() are such kqueues; poll/select/kevent
// see them readable from the exit on.
#pragma once

#include <sys/types.h>

#include <string>

#include "taskport/unique_fd.hpp"

namespace taskport::backend {

// A new kqueue watching `pid`. The pid must name our unreaped child (or a
// process known not to have been reaped), so that it cannot have been
// recycled. If the process has already exited (a zombie: EVFILT_PROC refuses
// it with ESRCH), the kqueue is made readable at once with an EVFILT_USER
// event. Returns an invalid UniqueFd with errno set on failure.
UniqueFd watch_exit(pid_t pid) noexcept;

// watch_exit for a child just started: if the watch cannot be set up, the
// child is killed and reaped and Error(Step::poll, program) is thrown.
UniqueFd watch_new_child(pid_t pid, const std::string& program);

// True if the watch has fired: one poll(2) with a zero timeout, which does
// not consume the event (the kqueue stays readable for other waiters).
// Throws Error(Step::poll, program) if poll fails.
bool exit_watch_fired(int kq, const std::string& program);

}  // namespace taskport::backend
