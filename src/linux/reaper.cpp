// SPDX-License-Identifier: MIT
#include "linux/reaper.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/fork_generation.hpp"
#include "linux/wait_status.hpp"
#include "posix/eintr.hpp"
#include "posix/library_thread.hpp"

namespace taskport::backend {
namespace {

// Without its eventfd (none could be made: no descriptor free) the thread
// looks for new children this often instead of being woken.
constexpr int kPollWithoutWakeMs = 50;
// A poll that failed (ENOMEM) is tried again after this.
constexpr auto kRetryAfterFailure = std::chrono::milliseconds(50);

// One thread polls an eventfd (new work) and the pidfds of orphaned
// children; a readable pidfd means the child exited and can be reaped
// without blocking. The thread lives until the process exits.
//
// It never stops silently: if the thread cannot be started (EAGAIN at
// RLIMIT_NPROC, ENOMEM) the children stay in `pending_` and the next
// hand-off or spawn tries again — and reaps meanwhile those that have
// exited; without an eventfd (EMFILE) it polls.
class Reaper {
 public:
  void add(UniqueFd pidfd) {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(std::move(pidfd));
    start_locked();
  }

  // The fallback for a reaper that could not start: reaps the pending
  // children that have exited, and tries to start it again.
  void retry() {
    if (!waiting_.load(std::memory_order_acquire)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      const Reaped r = reap_if_exited(it->get());
      it = r.status || r.error != 0 ? pending_.erase(it) : std::next(it);
    }
    start_locked();
  }

 private:
  void start_locked() {
    if (!wake_) wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!running_) running_ = posix::start_detached_thread([this] { run(); }) == 0;
    waiting_.store(!running_ && !pending_.empty(), std::memory_order_release);
    if (wake_) {
      const uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
    }
  }

  // The children handed over since the last look, and the eventfd (-1 if
  // there is none yet).
  int take_pending(std::vector<UniqueFd>& watched) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& p : pending_) watched.push_back(std::move(p));
    pending_.clear();
    return wake_.get();
  }

  void run() {
    std::vector<UniqueFd> watched;
    std::vector<pollfd> fds;
    while (true) {
      const int wake_fd = take_pending(watched);
      fds.assign(1, pollfd{wake_fd, POLLIN, 0});
      for (const auto& w : watched) fds.push_back(pollfd{w.get(), POLLIN, 0});
      const int timeout = wake_fd < 0 ? kPollWithoutWakeMs : -1;
      if (posix::retry_on_eintr([&] { return ::poll(fds.data(), fds.size(), timeout); }) < 0) {
        std::this_thread::sleep_for(kRetryAfterFailure);
        continue;
      }
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
  bool running_ = false;
  std::atomic<bool> waiting_{false};  // children wait in pending_ for a thread that could not start
};

// One per process: a process forked from this one has neither the thread
// nor the children (common/fork_generation.hpp).
common::PerProcess<Reaper> g_reaper;

}  // namespace

void reap_in_background(UniqueFd pidfd) noexcept {
  try {
    g_reaper.get().add(std::move(pidfd));
  } catch (...) {
    // Out of memory (the reaper, or its list): the child becomes a zombie
    // until the process exits — the only alternative would be blocking here.
  }
}

void retry_background_reaps() noexcept {
  try {
    g_reaper.get().retry();
  } catch (...) {
    // Out of memory: the next call tries again.
  }
}

}  // namespace taskport::backend
