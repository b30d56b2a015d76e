// SPDX-License-Identifier: MIT
// Reading a child's piped stdout and stderr at once until it has exited:
// what Child::wait_with_output (and so Command::output) is made of.
#pragma once

#include <string>

namespace taskport::posix {

// Reads `out_fd` and `err_fd` (either may be -1: not piped) into `out` and
// `err`, polling both, so a child that fills one pipe while we would block
// on the other cannot deadlock. Ends when both reach end-of-file, or once
// `exit_fd` (readable when the child has exited; -1 if there is none) fires:
// then what the pipes hold at that moment is read and nothing more is
// waited for — a grandchild holding a pipe open cannot stretch the wait.
// Returns 0, or the errno of the poll, ioctl or read that failed.
int collect_output(int exit_fd, int out_fd, int err_fd, std::string& out, std::string& err);

}  // namespace taskport::posix
