// SPDX-License-Identifier: MIT
// exit_wait_epoll — wait for several children in one epoll loop: each
// Child's exit_fd() (Linux: its pidfd) becomes readable when it exits, and
// is then reaped with try_wait(), which cannot block any more. A Task's
// exit_fd() works the same way, also for a process opened by pid.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "taskport/taskport.hpp"

int main() {
  try {
    std::vector<taskport::Child> children;
    children.push_back(taskport::Command("/bin/sh").args({"-c", "sleep 0.4"}).spawn());
    children.push_back(taskport::Command("/bin/sh").args({"-c", "exit 3"}).spawn());
    children.push_back(taskport::Command("/bin/sh").args({"-c", "sleep 0.2; kill -TERM $$"}).spawn());

    taskport::UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) return std::perror("epoll_create1"), 1;
    for (std::size_t i = 0; i < children.size(); ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, children[i].exit_fd(), &ev) != 0)
        return std::perror("epoll_ctl"), 1;
    }
    std::printf("waiting for %zu children\n", children.size());
    for (std::size_t left = children.size(); left > 0;) {
      epoll_event ev{};
      const int n = ::epoll_wait(epoll.get(), &ev, 1, 10000);  // bounded: 10 s at most per exit
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::fprintf(stderr, "no exit within 10 s\n"), 1;
      taskport::Child& child = children[ev.data.u64];
      const auto status = child.try_wait();  // exited: reaps without blocking
      if (!status) continue;
      ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, child.exit_fd(), nullptr);
      std::printf("pid %d (%s %s) ended: %s\n", child.pid(), child.program().c_str(),
                  ev.data.u64 == 0   ? "sleep 0.4"
                  : ev.data.u64 == 1 ? "exit 3"
                                     : "kill -TERM itself",
                  status->to_string().c_str());
      --left;
    }
    return 0;
  } catch (const std::exception& e) {  // taskport::Error, or std::bad_alloc
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
