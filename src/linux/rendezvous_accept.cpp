// SPDX-License-Identifier: MIT
#include "linux/rendezvous_accept.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "common/command_access.hpp"
#include "linux/proc_parse.hpp"
#include "linux/rendezvous_wire.h"
#include "linux/sys.hpp"
#include "linux/task_impl.hpp"
#include "linux/wait_status.hpp"
#include "posix/eintr.hpp"
#include "posix/read_to_end.hpp"
#include "posix/socket_message.hpp"

namespace taskport::backend::rendezvous {
namespace {

using clock = std::chrono::steady_clock;

constexpr long kProcSuperMagic = 0x9fa0;
// Room for more descriptors than a valid message carries: a sender that
// sends too many is told apart from one that sends the right number (the
// kernel closes what does not fit and sets MSG_CTRUNC).
constexpr size_t kMaxReceivedFds = 8;
// How long a hang-up of the child's end may precede its exit (the kernel
// closes a dying process's files before it becomes a zombie).
constexpr std::chrono::milliseconds kExitGrace{250};
// What the child sends, as errors call it.
constexpr const char* kHandle = "task handle";

enum class Verdict {
  accepted,     // from the expected process, well-formed
  foreign,      // from another process: discard, keep waiting
  malformed,    // from the expected process, but not a valid message
  child_error,  // the expected process could not make its pidfd
};

struct Received {
  Verdict verdict = Verdict::foreign;
  std::string reason;  // for foreign/malformed
  int error = 0;       // for child_error
  Handover handover;
};

// The "Pid:" line of /proc/self/fdinfo/<fd>: the process a pidfd names
// (-1 once it has been reaped; absent for descriptors that are no pidfd).
std::optional<pid_t> pidfd_target(int fd) {
  const std::string path = "/proc/self/fdinfo/" + std::to_string(fd);
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string text;
  if (!f || posix::read_to_end(f.get(), text) != 0) return std::nullopt;
  const auto pid = key_signed_value(text, "Pid");
  if (!pid) return std::nullopt;
  return static_cast<pid_t>(*pid);
}

// A descriptor the child says is its /proc/<pid>/<name>: a procfs file of
// that name (by the path the kernel reports for it). Which pid the path
// shows depends on the child's /proc mount, so only the name is compared;
// the sender itself is already proven to be the child.
bool is_proc_file(int fd, const char* name) {
  struct statfs fs {};
  if (::fstatfs(fd, &fs) != 0 || static_cast<long>(fs.f_type) != kProcSuperMagic) return false;
  char target[256];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return false;
  const std::string path(target, static_cast<size_t>(n));
  const std::string suffix = std::string("/") + name;
  return path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// One datagram as it arrived: its data, what the kernel said about it, and
// every descriptor it carried (owned here, so none can leak).
struct Datagram {
  tp_rdv_hello hello{};
  ssize_t size = 0;
  int flags = 0;  // msg_flags: MSG_TRUNC, MSG_CTRUNC
  std::vector<UniqueFd> fds;
  std::optional<struct ucred> creds;  // SCM_CREDENTIALS: who sent it
};

// The descriptors and sender credentials of a received message.
void take_control(struct msghdr& msg, Datagram& d) {
  d.fds.reserve(kMaxReceivedFds);  // what the control buffer can carry: no throw while taking them
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET) continue;
    if (cm->cmsg_type == SCM_RIGHTS) {
      const size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
        d.fds.emplace_back(fd);
      }
    } else if (cm->cmsg_type == SCM_CREDENTIALS && cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred c;
      std::memcpy(&c, CMSG_DATA(cm), sizeof c);
      d.creds = c;
    }
  }
}

// One datagram, if one is waiting. Returns nullopt when none is (EAGAIN) or
// on end-of-file.
std::optional<Datagram> receive_datagram(int socket, const std::string& name) {
  Datagram d;
  char extra;  // a longer datagram fills this and is truncated
  struct iovec iov[2] = {{&d.hello, sizeof d.hello}, {&extra, 1}};
  alignas(struct cmsghdr) char
      control[CMSG_SPACE(sizeof(int) * kMaxReceivedFds) + CMSG_SPACE(sizeof(struct ucred))];
  struct msghdr msg = posix::message_header(iov, 2, control, sizeof control);
  d.size = posix::retry_on_eintr([&] { return ::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC); });
  if (d.size < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    throw Error(errno, Step::accept_task, name, "recvmsg on the rendezvous socket");
  }
  if (d.size == 0 && msg.msg_controllen == 0) return std::nullopt;  // end-of-file
  d.flags = msg.msg_flags;
  take_control(msg, d);
  return d;
}

// Why a datagram is not from the expected process, or nothing if it is
// (only the kernel's credentials count).
std::optional<std::string> foreign_sender(const Datagram& d, pid_t expected) {
  if (!d.creds) return std::string("a message without sender credentials");
  if (d.creds->pid == expected) return std::nullopt;
  return "a message from pid " + std::to_string(d.creds->pid) + " (uid " + std::to_string(d.creds->uid) + ")";
}

// Why a datagram from the expected process is not a well-formed hello with
// the descriptors it announces, or nothing if it is.
std::optional<std::string> malformed_hello(const Datagram& d) {
  const tp_rdv_hello& hello = d.hello;
  if ((d.flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || d.size != static_cast<ssize_t>(sizeof hello)) {
    return "a message of " + std::to_string(d.size) + " bytes" +
           ((d.flags & MSG_CTRUNC) != 0 ? " with too many descriptors" : "") + "; expected " +
           std::to_string(sizeof hello);
  }
  if (hello.magic != TP_RDV_MAGIC || hello.version != TP_RDV_VERSION) {
    return "a message that is not a taskport rendezvous message of version " +
           std::to_string(TP_RDV_VERSION) + " (magic " + std::to_string(hello.magic) + ", version " +
           std::to_string(hello.version) + ")";
  }
  const size_t announced = size_t{(hello.flags & TP_RDV_HAS_PIDFD) != 0} +
                           size_t{(hello.flags & TP_RDV_HAS_MEM) != 0} +
                           size_t{(hello.flags & TP_RDV_HAS_MAPS) != 0};
  if (d.fds.size() != announced) {
    return "a message announcing " + std::to_string(announced) + " descriptors with " +
           std::to_string(d.fds.size());
  }
  return std::nullopt;
}

// The handover of a well-formed hello that carries a pidfd, each descriptor
// checked to be what the child says it is; or why one is not.
Received check_descriptors(Datagram& d, pid_t expected) {
  Received r;
  r.verdict = Verdict::malformed;
  size_t next = 0;
  UniqueFd pidfd = std::move(d.fds[next++]);
  const auto target = pidfd_target(pidfd.get());
  if (!target || *target != expected) {
    r.reason = target ? "a pidfd naming pid " + std::to_string(*target) : "a descriptor that is not a pidfd";
    return r;
  }
  UniqueFd mem = (d.hello.flags & TP_RDV_HAS_MEM) != 0 ? std::move(d.fds[next++]) : UniqueFd();
  UniqueFd maps = (d.hello.flags & TP_RDV_HAS_MAPS) != 0 ? std::move(d.fds[next++]) : UniqueFd();
  if (mem && !is_proc_file(mem.get(), "mem")) {
    r.reason = "a memory descriptor that is not a /proc/<pid>/mem file";
    return r;
  }
  if (maps && !is_proc_file(maps.get(), "maps")) {
    r.reason = "a maps descriptor that is not a /proc/<pid>/maps file";
    return r;
  }
  r.verdict = Verdict::accepted;
  r.handover.pidfd = std::move(pidfd);
  r.handover.mem = std::move(mem);
  r.handover.maps = std::move(maps);
  r.handover.waits = (d.hello.flags & TP_RDV_WAITS) != 0;
  return r;
}

// One message, if one is waiting, judged. Returns nullopt when none is
// (EAGAIN) or on end-of-file. Every descriptor received is owned by the
// result or closed.
std::optional<Received> receive_one(int socket, pid_t expected, const std::string& name) {
  std::optional<Datagram> d = receive_datagram(socket, name);
  if (!d) return std::nullopt;
  Received r;
  if (auto why = foreign_sender(*d, expected)) {
    r.reason = std::move(*why);
    return r;
  }
  // From the expected process: from here on, a defect is the child's.
  r.verdict = Verdict::malformed;
  if (auto why = malformed_hello(*d)) {
    r.reason = std::move(*why);
    return r;
  }
  if ((d->hello.flags & TP_RDV_HAS_PIDFD) == 0) {
    r.verdict = Verdict::child_error;
    r.error = d->hello.pidfd_error != 0 ? d->hello.pidfd_error : EPROTO;
    r.reason = "the child could not make a pidfd of itself (pidfd_open needs Linux 5.3)";
    return r;
  }
  return check_descriptors(*d, expected);
}

// True if the process exits within kExitGrace (its pidfd turns readable).
bool exits_soon(int exit_fd) {
  pollfd p{exit_fd, POLLIN, 0};
  return posix::poll_until(&p, 1, clock::now() + kExitGrace) > 0;
}

}  // namespace

void make_socket_pair(UniqueFd& ours, UniqueFd& theirs, Step step, const std::string& name) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    throw Error(errno, step, name, "socketpair for the rendezvous");
  }
  ours.reset(sv[0]);
  theirs.reset(sv[1]);
  const int on = 1;
  if (::setsockopt(ours.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    throw Error(errno, step, name, "SO_PASSCRED on the rendezvous socket");
  }
}

Handover receive_handover(int socket, const Expectation& expect) {
  std::vector<std::string> rejected;
  // Every message waiting now: the child's is returned, others' discarded.
  auto drain = [&]() -> std::optional<Handover> {
    while (auto r = receive_one(socket, expect.pid, expect.name)) {
      switch (r->verdict) {
        case Verdict::accepted: return std::move(r->handover);
        case Verdict::foreign: rejected.push_back(std::move(r->reason)); break;
        case Verdict::malformed: throw common::malformed_message(expect, r->reason, rejected);
        case Verdict::child_error: throw common::accept_failed(expect, r->error, r->reason, rejected);
      }
    }
    return std::nullopt;
  };

  while (true) {
    if (auto h = drain()) return std::move(*h);

    pollfd p[2] = {{socket, POLLIN, 0}, {expect.exit_fd, POLLIN, 0}};
    if (posix::poll_until(p, 2, expect.deadline) < 0) {
      throw Error(errno, Step::poll, expect.name, "waiting for the child's task handle");
    }
    const bool hangup = (p[0].revents & (POLLHUP | POLLERR)) != 0;
    // A dying process closes its descriptors (our peer hangs up) a moment
    // before its pidfd turns readable: on a hang-up, give the exit a
    // moment to show, so that the error says what happened to the child.
    if ((p[1].revents & POLLIN) != 0 || (hangup && exits_soon(expect.exit_fd))) {
      // What it sent was queued before it exited: one more drain sees it.
      if (auto h = drain()) return std::move(*h);
      throw common::exited_before_sending(expect, kHandle, rejected);
    }
    if (hangup) {
      // Every copy of the child's end is closed (end-of-file polls readable
      // too, so this is checked before POLLIN).
      if (auto h = drain()) return std::move(*h);
      throw common::closed_before_sending(expect, kHandle, rejected);
    }
    if ((p[0].revents & POLLIN) != 0) continue;
    if (expect.deadline && clock::now() >= *expect.deadline)
      throw common::nothing_in_time(expect, kHandle, rejected);
  }
}

Task make_task(Handover handover, pid_t pid, std::string program, bool mem_first) {
  auto impl = std::make_unique<Task::Impl>(std::move(handover.pidfd), pid, std::move(program));
  const bool have_mem = handover.mem.valid();
  impl->mem_fd = std::move(handover.mem);
  impl->use_mem_fd.store(mem_first && have_mem, std::memory_order_release);
  impl->maps_fd = std::move(handover.maps);
  return Task(std::move(impl));
}

int free_child_fd(const Command& cmd, int preferred) {
  std::set<int> used = {0, 1, 2};
  for (const auto& m : detail::CommandAccess::fd_mappings(cmd)) used.insert(m.child_fd);
  int fd = std::max(preferred, 3);
  while (used.count(fd) != 0) ++fd;
  return fd;
}

void let_child_go(int socket) noexcept {
  if (socket >= 0) ::shutdown(socket, SHUT_RDWR);
}

}  // namespace taskport::backend::rendezvous
