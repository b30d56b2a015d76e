#include <errno.h>
#include <poll.h>
#include <signal.h>

#include "linux/sys.hpp"
#include "linux/task_impl.hpp"
#include "taskport/error.hpp"

namespace taskport {
namespace {
std::string task_name(pid_t pid) { return "task " + std::to_string(pid); }
}  // namespace

Task::Task(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Task::Task(Task&&) noexcept = default;
Task& Task::operator=(Task&&) noexcept = default;

Task::~Task() {
  if (!impl_) return;
  // The target is always restored: a task left suspended would stay frozen
  // with nobody left to resume it.
  if (impl_->suspend_count > 0) linux_sys::pidfd_send_signal(impl_->pidfd.get(), SIGCONT);
}

Task::native_handle_type Task::native_handle() const noexcept { return impl_->pidfd.get(); }
pid_t Task::pid() const noexcept { return impl_->pid; }
int Task::exit_fd() const noexcept { return impl_->pidfd.get(); }

bool Task::is_alive() const {
  // A pidfd polls readable once the process has exited (zombie or reaped).
  pollfd p{impl_->pidfd.get(), POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) throw Error(errno, Step::poll, task_name(impl_->pid));
  return rc == 0;
}

void Task::signal(int sig) {
  if (linux_sys::pidfd_send_signal(impl_->pidfd.get(), sig) != 0) {
    throw Error(errno, Step::send_signal, task_name(impl_->pid));
  }
}

void Task::resume() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->suspend_count == 0) throw Error(EINVAL, Step::resume, task_name(impl_->pid), "task is not suspended");
  if (impl_->suspend_count == 1 && linux_sys::pidfd_send_signal(impl_->pidfd.get(), SIGCONT) != 0) {
    throw Error(errno, Step::resume, task_name(impl_->pid));
  }
  --impl_->suspend_count;
}

int Task::suspend_count() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->suspend_count;
}

}  // namespace taskport
