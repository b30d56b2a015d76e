// SPDX-License-Identifier: MIT
// exit_wait_asio — wait for children in an asio event loop: a
// posix::stream_descriptor on each Child's exit_fd() (Linux: the pidfd)
// reports the exit as "readable", and the handler reaps with try_wait().
//
// The descriptor is dup()ed first: a stream_descriptor owns its descriptor
// and closes it, and the Child must keep its own.
#include <fcntl.h>
#include <unistd.h>

#include <asio.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "taskport/taskport.hpp"

int main() {
  try {
    asio::io_context io;
    std::vector<taskport::Child> children;
    children.push_back(taskport::Command("/bin/sh").args({"-c", "sleep 0.3; exit 7"}).spawn());
    children.push_back(taskport::Command("/bin/sh").args({"-c", "kill -KILL $$"}).spawn());
    int left = static_cast<int>(children.size());

    std::vector<std::unique_ptr<asio::posix::stream_descriptor>> watches;
    for (taskport::Child& child : children) {
      const int fd = ::fcntl(child.exit_fd(), F_DUPFD_CLOEXEC, 3);
      if (fd < 0) return std::perror("dup"), 1;
      auto& watch = watches.emplace_back(std::make_unique<asio::posix::stream_descriptor>(io, fd));
      watch->async_wait(asio::posix::stream_descriptor::wait_read,
                        [&child, &left](const asio::error_code& ec) {
                          if (ec) return;
                          if (const auto status = child.try_wait()) {
                            std::printf("pid %d (%s) ended: %s\n", child.pid(), child.program().c_str(),
                                        status->to_string().c_str());
                            --left;
                          }
                        });
    }
    // Bounded: a child that never ends stops the loop after 10 s.
    asio::steady_timer limit(io, std::chrono::seconds(10));
    limit.async_wait([&](const asio::error_code& ec) {
      if (!ec) io.stop();
    });
    std::printf("waiting for %zu children in asio\n", children.size());
    while (left > 0 && !io.stopped()) io.run_one();
    return left == 0 ? 0 : 1;
  } catch (const std::exception& e) {  // taskport::Error, or asio's std::system_error
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
