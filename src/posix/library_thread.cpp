// SPDX-License-Identifier: MIT
#include "posix/library_thread.hpp"

#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include <new>
#include <system_error>
#include <utility>

namespace taskport::posix {
namespace {

// Every signal blocked in the calling thread for the lifetime of the object.
class SignalsBlocked {
 public:
  SignalsBlocked() noexcept {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~SignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t saved_{};
};

}  // namespace

int start_detached_thread(std::function<void()> body, std::thread::id* id) noexcept {
  const SignalsBlocked blocked;
  try {
    std::thread t(std::move(body));
    if (id != nullptr) *id = t.get_id();
    t.detach();
    return 0;
  } catch (const std::system_error& e) {
    // std::thread reports pthread_create's error (EAGAIN, ENOMEM) as the code.
    return e.code().value() != 0 ? e.code().value() : EAGAIN;
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  } catch (...) {
    return EAGAIN;
  }
}

}  // namespace taskport::posix
