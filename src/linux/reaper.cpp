// SPDX-License-Identifier: MIT
#include "linux/reaper.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <mutex>
#include <thread>
#include <vector>

#include "common/never_destroyed.hpp"
#include "linux/wait_status.hpp"
#include "posix/eintr.hpp"

namespace taskport::backend {
namespace {

// One thread polls an eventfd (new work) and the pidfds of orphaned
// children; a readable pidfd means the child exited and can be reaped
// without blocking. The thread lives until the process exits.
class Reaper {
 public:
  void add(UniqueFd pidfd) {
    std::lock_guard<std::mutex> lock(mutex_);
    // After fork() the child process inherits this object but not the thread
    // or the children: start over there.
    if (owner_ != ::getpid()) {
      pending_.clear();
      wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      owner_ = ::getpid();
      if (wake_) std::thread([this] { run(); }).detach();
    }
    pending_.push_back(std::move(pidfd));
    if (wake_) {
      const uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
    }
  }

 private:
  void run() {
    std::vector<UniqueFd> watched;
    std::vector<pollfd> fds;
    while (true) {
      int wake_fd;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (owner_ != ::getpid()) return;
        for (auto& p : pending_) watched.push_back(std::move(p));
        pending_.clear();
        wake_fd = wake_.get();
      }
      fds.assign(1, pollfd{wake_fd, POLLIN, 0});
      for (const auto& w : watched) fds.push_back(pollfd{w.get(), POLLIN, 0});
      if (posix::retry_on_eintr([&] { return ::poll(fds.data(), fds.size(), -1); }) < 0) return;
      if (fds[0].revents & POLLIN) {
        uint64_t count;
        [[maybe_unused]] ssize_t n = ::read(wake_fd, &count, sizeof count);
      }
      std::vector<UniqueFd> still_running;
      for (size_t i = 0; i < watched.size(); ++i) {
        if (fds[i + 1].revents == 0) {
          still_running.push_back(std::move(watched[i]));
          continue;
        }
        const Reaped r = reap_if_exited(watched[i].get());
        // Not exited yet (spurious wake-up): keep watching. Reaped, or no
        // longer ours (ECHILD): drop it.
        if (!r.status && r.error == 0) still_running.push_back(std::move(watched[i]));
      }
      watched.swap(still_running);
    }
  }

  std::mutex mutex_;
  std::vector<UniqueFd> pending_;
  UniqueFd wake_;
  pid_t owner_ = 0;
};

// Never destroyed: the detached thread may use it until the process exits.
Reaper& reaper() { return common::never_destroyed<Reaper>(); }

}  // namespace

void reap_in_background(UniqueFd pidfd) noexcept {
  try {
    reaper().add(std::move(pidfd));
  } catch (...) {
    // Out of memory or no thread: the child becomes a zombie until the
    // process exits — the only alternative would be blocking here.
  }
}

}  // namespace taskport::backend
