// SPDX-License-Identifier: MIT
// Spawn benchmarks `boost_v2_default` and `boost_v2_vfork`: Boost.Process v2
// (Debian's 1.81 headers, header-only; it uses boost::filesystem::path, whose
// parts used here are inline, so no Boost library is linked — 1.81's
// BOOST_PROCESS_USE_STD_FS mode does not compile). Both launchers return a
// process once the exec outcome is known — the default launcher forks and
// waits on a CLOEXEC error pipe, the vfork launcher gets it through vfork's
// shared memory — and the process's handle is a pidfd that Boost opens with
// pidfd_open right after the spawn.
#include <boost/asio/io_context.hpp>
#include <boost/process/v2.hpp>
#include <boost/process/v2/posix/vfork_launcher.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/harness.hpp"

#if !defined(BOOST_PROCESS_V2_PIDFD_OPEN)
#error "Boost.Process v2 without pidfd_open: the process would hold no handle"
#endif

namespace bp = boost::process::v2;
using Process = bp::basic_process<boost::asio::io_context::executor_type>;

int main(int argc, char** argv) {
  using namespace taskport_bench;
  Options o = parse_options(argc, argv, {"boost_v2_default", "boost_v2_vfork"});
  boost::asio::io_context ctx;
  const bp::filesystem::path exe(o.target);
  const std::vector<std::string> no_args;
  std::optional<Process> proc;

  auto reap = [&] {
    int code = proc->wait();
    proc.reset();
    if (code != 0) throw std::runtime_error("child did not exit 0");
  };
  // A launcher keeps per-launch state (argv, fd list): one per spawn, as in user code.
  Method def{"boost_v2_default", [&] { proc.emplace(bp::posix::default_launcher()(ctx, exe, no_args)); },
             reap};

  // Boost 1.81's vfork_launcher calls io_context::notify_fork(fork_child) in
  // the vfork child, which rebuilds the context's epoll reactor in memory it
  // shares with the parent: the parent's context then holds the child's fd
  // numbers and the next pidfd registration fails with EINVAL
  // (boostorg/process#314, fixed in later Boost). Workaround: a fresh
  // io_context per spawn, made outside the timed region. Its reactor
  // (eventfd, epoll, timerfd: 5 syscalls) is then created inside the timed
  // region when Boost registers the pidfd — where an unbroken vfork launcher
  // would pay about the same in the child's notify_fork.
  std::optional<boost::asio::io_context> vctx;
  vctx.emplace();
  Method vfork{"boost_v2_vfork", [&] { proc.emplace(bp::posix::vfork_launcher()(*vctx, exe, no_args)); },
               [&] {
                 reap();
                 vctx.emplace();
               }};
  return run_spawn_benchmarks(argc, argv, {def, vfork});
}
