// SPDX-License-Identifier: MIT
#include "macos/reaper.hpp"

#include <errno.h>
#include <sys/event.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "common/never_destroyed.hpp"
#include "macos/wait_status.hpp"
#include "posix/eintr.hpp"

namespace taskport::backend {
namespace {

// One kqueue holds an EVFILT_PROC/NOTE_EXIT filter per orphaned child; one
// thread waits on it and reaps whatever exited. Registering a filter is
// thread-safe, so adding a child needs no wake-up of the thread.
class Reaper {
 public:
  void add(pid_t pid) {
    int kq;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // kqueues and threads do not survive fork(): a forked child that
      // drops a Child of its own starts over.
      if (owner_ != ::getpid()) {
        kq_ = ::kqueue();
        owner_ = ::getpid();
        if (kq_ >= 0) {
          const int fd = kq_;
          try {
            std::thread([fd] { run(fd); }).detach();
          } catch (...) {
            ::close(kq_);
            kq_ = -1;
            owner_ = 0;  // try again at the next call
            throw;
          }
        }
      }
      kq = kq_;
    }
    if (kq < 0) return;  // no kqueue: the child stays a zombie until we exit
    struct kevent change;
    EV_SET(&change, static_cast<uintptr_t>(pid), EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0, nullptr);
    const int rc = posix::retry_on_eintr([&] { return ::kevent(kq, &change, 1, nullptr, 0, nullptr); });
    if (rc < 0 && errno == ESRCH) {
      // Exited between the caller's check and now: reap here.
      reap_if_exited(pid);
    }
  }

 private:
  static void run(int kq) {
    struct kevent events[16];
    while (true) {
      const int n = posix::retry_on_eintr([&] { return ::kevent(kq, nullptr, 0, events, 16, nullptr); });
      if (n < 0) return;
      for (int i = 0; i < n; ++i) {
        if (events[i].filter == EVFILT_PROC) reap_if_exited(static_cast<pid_t>(events[i].ident));
      }
    }
  }

  std::mutex mutex_;
  int kq_ = -1;
  pid_t owner_ = 0;
};

// Never destroyed: the detached thread may use the kqueue until we exit.
Reaper& reaper() { return common::never_destroyed<Reaper>(); }

}  // namespace

void reap_in_background(pid_t pid) noexcept {
  try {
    reaper().add(pid);
  } catch (...) {
    // No thread could be started: the child stays a zombie until we exit
    // — the only alternative would be blocking here.
  }
}

}  // namespace taskport::backend
