// SPDX-License-Identifier: MIT
// taskport — what a child's stdin, stdout or stderr is connected to.
#pragma once

#include "taskport/export.hpp"

namespace taskport {

class TASKPORT_API Stdio {
 public:
  enum class Kind { inherit, null, piped, fd };

  // The child uses the parent's stream (the default).
  static Stdio inherit() noexcept { return Stdio(Kind::inherit, -1); }
  // The child's stream is /dev/null.
  static Stdio null() noexcept { return Stdio(Kind::null, -1); }
  // A new pipe; the parent's end is in Child::stdin_pipe()/stdout_pipe()/stderr_pipe().
  static Stdio piped() noexcept { return Stdio(Kind::piped, -1); }
  // An existing descriptor of the parent, borrowed: it must stay open until
  // spawn returns; the child gets a duplicate.
  static Stdio fd(int parent_fd) noexcept { return Stdio(Kind::fd, parent_fd); }

  Kind kind() const noexcept { return kind_; }
  int parent_fd() const noexcept { return fd_; }

 private:
  Stdio(Kind kind, int fd) noexcept : kind_(kind), fd_(fd) {}
  Kind kind_;
  int fd_;
};

}  // namespace taskport
