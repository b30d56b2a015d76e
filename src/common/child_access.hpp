// SPDX-License-Identifier: MIT
// How the backends make a Child: its constructor is private (a Child always
// comes from a spawn), and this friend is the one way to it.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "taskport/child.hpp"

namespace taskport::detail {

struct ChildAccess {
  // `handle` is what Child::exit_fd() returns (Linux: the pidfd; macOS: the
  // exit kqueue); in/out/err are the parent's ends of piped stdio, or invalid.
  static Child make(pid_t pid, UniqueFd handle, std::string program, UniqueFd in = UniqueFd(),
                    UniqueFd out = UniqueFd(), UniqueFd err = UniqueFd()) noexcept {
    return Child(pid, std::move(handle), std::move(program), std::move(in), std::move(out), std::move(err));
  }
};

}  // namespace taskport::detail
