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
  accepted,   // from the expected process, well-formed
  foreign,    // from another process: discard, keep waiting
  malformed,  // from the expected process, but not a valid message (EPROTO)
  failed,     // from the expected process, and refused with `error`: the child could not
              // make its pidfd (its errno), a descriptor names another process (EPERM), or
              // no descriptor was free to receive or check them (EMFILE)
};

struct Received {
  Verdict verdict = Verdict::foreign;
  std::string reason;  // for foreign/malformed/failed
  int error = 0;       // for failed
  Handover handover;
};

Received failed(int error, std::string reason) {
  Received r;
  r.verdict = Verdict::failed;
  r.error = error;
  r.reason = std::move(reason);
  return r;
}

// What /proc/self/fdinfo/<fd> says a pidfd names: "Pid:" (-1 once the
// process has been reaped; absent for descriptors that are no pidfd) and
// "NSpid:" (its pid in each pid namespace from ours down to its own).
struct PidfdTarget {
  int error = 0;  // the fdinfo could not be read (EMFILE: no descriptor free)
  std::optional<pid_t> pid;
  std::vector<std::uint64_t> nspids;
};

PidfdTarget pidfd_target(int fd) {
  PidfdTarget t;
  const std::string path = "/proc/self/fdinfo/" + std::to_string(fd);
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string text;
  t.error = f ? posix::read_to_end(f.get(), text) : errno;
  if (t.error != 0) return t;
  if (const auto pid = key_signed_value(text, "Pid")) t.pid = static_cast<pid_t>(*pid);
  t.nspids = key_values(text, "NSpid");
  return t;
}

// Why a descriptor the child says is its /proc/<pid>/`name` is not, if it is
// not: it must live on a procfs (fstatfs), its path must end in
// "/<n>/<name>" (the kernel's path of the file: the mount point is the
// child's business), and <n> must be one of the child's pids (`nspids`,
// from its pidfd): the path shows the pid in the pid namespace of that
// procfs, which for a child in a container is an inner one. EPROTO for a
// descriptor that is no such file, EPERM for the file of another process.
std::optional<Received> not_the_childs(int fd, const char* name, const std::vector<std::uint64_t>& nspids) {
  const std::string what = std::string("a ") + name + " descriptor";
  Received malformed;
  malformed.verdict = Verdict::malformed;
  malformed.reason = what + " that is not a /proc/<pid>/" + name + " file";
  struct statfs fs {};
  if (::fstatfs(fd, &fs) != 0 || static_cast<long>(fs.f_type) != kProcSuperMagic) return malformed;
  char target[256];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return malformed;
  const std::string path(target, static_cast<size_t>(n));
  const std::string suffix = std::string("/") + name;
  if (path.size() <= suffix.size() || path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0)
    return malformed;
  const std::string dir = path.substr(0, path.size() - suffix.size());
  const std::string number = dir.substr(dir.rfind('/') + 1);
  const auto pid = parse_number(number);
  if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos || !pid) return malformed;
  if (std::find(nspids.begin(), nspids.end(), *pid) != nspids.end()) return std::nullopt;
  return failed(EPERM, "the child sent " + what + " of another process (" + path + "; the child is pid " +
                           std::to_string(nspids.empty() ? 0 : nspids.front()) + "): only its own are taken");
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
// checked to name the child (the pidfd, by its "Pid:"; mem and maps by their
// paths and the pidfd's "NSpid:", so all three name the same process); or
// why one does not.
Received check_descriptors(Datagram& d, pid_t expected) {
  Received r;
  r.verdict = Verdict::malformed;
  size_t next = 0;
  UniqueFd pidfd = std::move(d.fds[next++]);
  const PidfdTarget target = pidfd_target(pidfd.get());
  if (target.error != 0) {
    return failed(target.error, "cannot check the child's pidfd (/proc/self/fdinfo): " +
                                    std::string(std::strerror(target.error)));
  }
  if (!target.pid || *target.pid != expected) {
    r.reason =
        target.pid ? "a pidfd naming pid " + std::to_string(*target.pid) : "a descriptor that is not a pidfd";
    return r;
  }
  UniqueFd mem = (d.hello.flags & TP_RDV_HAS_MEM) != 0 ? std::move(d.fds[next++]) : UniqueFd();
  UniqueFd maps = (d.hello.flags & TP_RDV_HAS_MAPS) != 0 ? std::move(d.fds[next++]) : UniqueFd();
  if (mem) {
    if (auto why = not_the_childs(mem.get(), "mem", target.nspids)) return std::move(*why);
  }
  if (maps) {
    if (auto why = not_the_childs(maps.get(), "maps", target.nspids)) return std::move(*why);
  }
  r.verdict = Verdict::accepted;
  r.handover.pidfd = std::move(pidfd);
  r.handover.mem = std::move(mem);
  r.handover.maps = std::move(maps);
  r.handover.waits = (d.hello.flags & TP_RDV_WAITS) != 0;
  return r;
}

// The errno if the kernel could not install a received descriptor for lack
// of a free one (EMFILE, ENFILE): it then drops it and sets MSG_CTRUNC, as it
// does for a sender that sent more than the control buffer holds — which
// leaves that buffer full. 0 otherwise.
int descriptors_dropped(const Datagram& d, int socket) {
  if ((d.flags & MSG_CTRUNC) == 0 || d.fds.size() >= kMaxReceivedFds) return 0;
  UniqueFd probe(::fcntl(socket, F_DUPFD_CLOEXEC, 0));
  return !probe && (errno == EMFILE || errno == ENFILE) ? errno : 0;
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
  // From the expected process: from here on, a defect is the child's — or,
  // for descriptors the kernel could not hand us, ours.
  if (const int error = descriptors_dropped(*d, socket); error != 0) {
    return failed(error, "no descriptor free to receive the child's task handle (the kernel dropped it)");
  }
  r.verdict = Verdict::malformed;
  if (auto why = malformed_hello(*d)) {
    r.reason = std::move(*why);
    return r;
  }
  if ((d->hello.flags & TP_RDV_HAS_PIDFD) == 0) {
    return failed(d->hello.pidfd_error != 0 ? d->hello.pidfd_error : EPROTO,
                  "the child could not make a pidfd of itself (pidfd_open needs Linux 5.3)");
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
  common::Rejections rejected;
  const auto past_deadline = [&] { return expect.deadline && clock::now() >= *expect.deadline; };
  // Every message waiting now (until the deadline: a foreign sender may keep
  // the queue full for good): the child's is returned, others' discarded.
  auto drain = [&]() -> std::optional<Handover> {
    while (auto r = receive_one(socket, expect.pid, expect.name)) {
      switch (r->verdict) {
        case Verdict::accepted: return std::move(r->handover);
        case Verdict::foreign: rejected.add(std::move(r->reason)); break;
        case Verdict::malformed: throw common::malformed_message(expect, r->reason, rejected);
        case Verdict::failed: throw common::accept_failed(expect, r->error, r->reason, rejected);
      }
      if (past_deadline()) throw common::nothing_in_time(expect, kHandle, rejected);
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
    if ((p[0].revents & POLLIN) == 0 && past_deadline())
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
