// SPDX-License-Identifier: MIT
// tp_hostile_sender — a rendezvous child that misbehaves. It speaks the
// Linux rendezvous wire format itself (one datagram: a 32-byte hello, then a
// pidfd, a mem fd and a maps fd as SCM_RIGHTS; layout in
// src/linux/rendezvous_wire.h, spelled out here as the rendezvous tests'
// own spoofing helper does) so that it can send what the library never would.
//
// Arguments, processed left to right:
//   --marker        print "marker 0x<address>" of a 64-byte buffer holding
//                   "child-memory"
//   --honest        send its own pidfd, /proc/self/mem and /proc/self/maps;
//                   print "sent"
//   --foreign-mem   fork a grandchild that writes "grandchild-memory" into
//                   the same buffer and maps one page holding the same text
//                   (printed as "gcmap 0x<address>"); then send *its own*
//                   pidfd with the grandchild's /proc/<pid>/mem and maps;
//                   print "grandchild <pid>" and "sent". The grandchild
//                   lives until stdin ends.
//   --flooders N    how many processes --flood forks (default 1)
//   --flood SEC     fork processes that send small datagrams over the
//                   rendezvous descriptor as fast as they can for SEC
//                   seconds (or until the socket breaks), each carrying 8
//                   descriptors of /dev/null; they never send a handle.
//                   Prints "flooding" once they are all started
//   --wait-stdin    block until stdin ends
// Output: one line per fact on stdout, written with write(2).
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

char g_marker[64] = "child-memory";

void out(const std::string& line) {
  const std::string s = line + "\n";
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    const ssize_t n = ::write(1, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(120);
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(p)));
  return buf;
}

int rendezvous_fd() {
  const char* s = std::getenv("TASKPORT_RENDEZVOUS_FD");
  return s != nullptr ? std::atoi(s) : -1;
}

// The wire format's hello (rendezvous_wire.h: struct tp_rdv_hello).
struct Hello {
  uint32_t magic, version, flags;
  int32_t pid, pidfd_error, mem_error, maps_error, reserved;
};
static_assert(sizeof(Hello) == 32, "tp_rdv_hello is 32 bytes");

int send_handles(int pidfd, int mem, int maps) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 3)] = {};
  Hello hello = {0x56525054u, 1, 0x1 | 0x2 | 0x4, static_cast<int32_t>(::getpid()), 0, 0, 0, 0};
  iovec iov = {&hello, sizeof hello};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * 3);
  const int fds[3] = {pidfd, mem, maps};
  std::memcpy(CMSG_DATA(cm), fds, sizeof fds);
  return ::sendmsg(rendezvous_fd(), &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof hello) ? 0 : errno;
}

void wait_stdin() {
  char buf[256];
  while (true) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

void honest() {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
  const int mem = ::open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  const int maps = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  const int rc = send_handles(pidfd, mem, maps);
  out(rc == 0 ? "sent" : "error " + std::to_string(rc));
  ::close(pidfd);
  ::close(mem);
  ::close(maps);
}

void foreign_mem() {
  int ready[2];
  if (::pipe(ready) != 0) _exit(121);
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) _exit(121);
  ::munmap(page, 4096);  // the address is the grandchild's alone
  const pid_t gc = ::fork();
  if (gc < 0) _exit(121);
  if (gc == 0) {
    ::close(ready[0]);
    std::strcpy(g_marker, "grandchild-memory");
    void* p = ::mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != MAP_FAILED) std::strcpy(static_cast<char*>(p), "grandchild-memory");
    [[maybe_unused]] const ssize_t n = ::write(ready[1], "r", 1);
    ::close(ready[1]);
    wait_stdin();
    _exit(0);
  }
  ::close(ready[1]);
  char byte;
  while (::read(ready[0], &byte, 1) < 0 && errno == EINTR) {
  }
  ::close(ready[0]);
  out("grandchild " + std::to_string(gc));
  out("gcmap " + hex(page));
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
  const std::string proc = "/proc/" + std::to_string(gc);
  const int mem = ::open((proc + "/mem").c_str(), O_RDWR | O_CLOEXEC);
  const int maps = ::open((proc + "/maps").c_str(), O_RDONLY | O_CLOEXEC);
  if (mem < 0 || maps < 0) {
    out("error open " + proc + ": " + std::strerror(errno));
    return;
  }
  const int rc = send_handles(pidfd, mem, maps);
  out(rc == 0 ? "sent" : "error " + std::to_string(rc));
  ::close(pidfd);
  ::close(mem);
  ::close(maps);
}

int g_flooders = 1;

void flood_from_one_process(double seconds) {
  const int fd = rendezvous_fd();
  const pid_t pid = ::fork();
  if (pid != 0) return;
  // Ends with its parent, too.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  timespec start;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  // Each datagram carries 8 descriptors: cheap to send again and again,
  // costly to receive (8 installs, 8 closes), so the receiver never catches up.
  char junk[8] = "flood!!";
  iovec iov = {junk, sizeof junk};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * 8);
  int fds[8];
  for (int& f : fds) f = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::memcpy(CMSG_DATA(cm), fds, sizeof fds);
  for (unsigned long n = 0;; ++n) {
    if (::sendmsg(fd, &msg, MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != EINTR) _exit(0);
    if ((n & 255) == 0) {
      timespec now;
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      const double elapsed = static_cast<double>(now.tv_sec - start.tv_sec) +
                             static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9;
      if (elapsed >= seconds) _exit(0);
    }
  }
}

void flood(double seconds) {
  for (int k = 0; k < g_flooders; ++k) flood_from_one_process(seconds);
  out("flooding");
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--marker") {
      out("marker " + hex(g_marker));
    } else if (a == "--honest") {
      honest();
    } else if (a == "--foreign-mem") {
      foreign_mem();
    } else if (a == "--flooders" && i + 1 < argc) {
      g_flooders = std::atoi(argv[++i]);
    } else if (a == "--flood" && i + 1 < argc) {
      flood(std::atof(argv[++i]));
    } else if (a == "--wait-stdin") {
      wait_stdin();
    }
  }
  return 0;
}
