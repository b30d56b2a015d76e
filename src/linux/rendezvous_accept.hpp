// SPDX-License-Identifier: MIT
// The spawner side of the Linux rendezvous: receiving and checking the
// handles a child sends (wire format: rendezvous_wire.h), and turning them
// into a Task. Shared by Rendezvous (rendezvous_linux.cpp), fork_with_task
// and the preload spawn path.
//
// Whom to believe: only the kernel. A message counts as the child's only if
// the kernel's SCM_CREDENTIALS (attached to every message because our end
// has SO_PASSCRED; a sender cannot forge them without CAP_SYS_ADMIN — which
// already lets it do anything to the child) names the expected pid, and the
// pidfd it carries names that pid too (/proc/self/fdinfo "Pid:"), and so do
// the mem and maps descriptors (procfs files at "<n>/mem", "<n>/maps" with <n>
// one of the pidfd's "NSpid:" pids). SO_PEERCRED
// does not help here: on a socketpair it names the process that created the
// pair, i.e. the spawner itself. Messages from any other process (one that
// inherited or was handed the child's end) are discarded and remembered for
// the error message.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "common/handover.hpp"
#include "taskport/command.hpp"
#include "taskport/error.hpp"
#include "taskport/task.hpp"
#include "taskport/unique_fd.hpp"

namespace taskport::backend::rendezvous {

// What one child handed over, checked.
struct Handover {
  UniqueFd pidfd;      // names the expected pid
  UniqueFd mem;        // /proc/<pid>/mem, or invalid if the child could not open it
  UniqueFd maps;       // /proc/<pid>/maps, or invalid
  bool waits = false;  // the child waits until let go (shutdown of our end)
};

// A SOCK_SEQPACKET pair, both ends close-on-exec; `ours` has SO_PASSCRED.
// Throws Error(errno, step, name).
void make_socket_pair(UniqueFd& ours, UniqueFd& theirs, Step step, const std::string& name);

// What to wait for and how to word failures (the same on both backends).
using common::Expectation;

// Waits for the expected process's message on `socket`. Throws
// Error(…, Step::accept_task, name):
//   ETIMEDOUT     the deadline passed (nothing is consumed but discarded
//                 messages: a later call may still succeed);
//   ESRCH         the process exited without sending (detail: its status);
//   ECONNABORTED  every copy of the child's end was closed without a message;
//   EPROTO        the expected process sent a malformed message;
//   EPERM         it sent a mem or maps descriptor of another process;
//   EMFILE        no descriptor was free to receive or check its handles;
//   the child's errno, if it reported that it could not make a pidfd.
Handover receive_handover(int socket, const Expectation& expect);

// The Task for a checked handover from `pid`; `program` is its
// Error::program() (taskport/error.hpp). mem_first: every memory access goes
// through the handed-over mem fd (Impl::use_mem_fd); otherwise
// process_vm_readv is tried first and the mem fd is the fallback.
Task make_task(Handover handover, pid_t pid, std::string program, bool mem_first);

// The descriptor number for the child's end in `cmd`'s child: `preferred`
// (at least 3) unless stdio or an inherit_fd() target of `cmd` is there.
int free_child_fd(const Command& cmd, int preferred);

// Lets a waiting child run on: shutdown(SHUT_RDWR) of our end, which its
// recv sees as end-of-file even if other copies of either end exist.
void let_child_go(int socket) noexcept;

}  // namespace taskport::backend::rendezvous
