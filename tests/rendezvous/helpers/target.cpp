// SPDX-License-Identifier: MIT
// The programs the rendezvous tests spawn. One source, built three ways:
//   tp_rdv_target       (TP_WITH_C_CORE) the child side compiled in from
//                       src/linux/rendezvous_child.c — no libtaskport, no
//                       sanitizer runtime, so it starts fast (1000-spawn test)
//   tp_rdv_cxx_target   (TP_WITH_TASKPORT) links libtaskport and calls
//                       taskport::send_task_to_spawner(), as a user would
//   tp_rdv_plain[_sanitized]  neither: a program that knows nothing of
//                       taskport (for the preload); _sanitized carries the
//                       build's sanitizer runtime.
//
// Arguments are processed left to right:
//   --send              send the task handle to the spawner; prints
//                       "sent 1" (sent), "sent 0" (no rendezvous) or
//                       "error <errno>"
//   --spoof             fork a process that sends *its own* handle over the
//                       rendezvous descriptor, and wait for it (C core only)
//   --spoof-pidfd       fork a process that sends a pidfd naming *this*
//                       process, with its own mem fd (C core only)
//   --garbage           send a 5-byte datagram without descriptors
//   --close-rendezvous  close the rendezvous descriptor without sending
//   --nondumpable       prctl(PR_SET_DUMPABLE, 0)
//   --dumpable          print "dumpable N" (prctl(PR_GET_DUMPABLE))
//   --report            print "env KEY=VALUE" per environ entry, "fd N" per
//                       open descriptor, then "end"
//   --print TEXT        print TEXT
//   --marker            print "marker 0x<address>" of a 64-byte buffer that
//                       holds "taskport-marker"
//   --serve             until stdin ends: for each line, print
//                       "marker <buffer contents>"
//   --sleep SEC         sleep SEC seconds
//   --exec PROG ARGS..  run PROG with the remaining arguments as a child
//                       (fork + execv, inheriting stdout), wait, exit with
//                       its exit code
// Output goes to stdout with write(2), one line per fact, unbuffered.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>

#if defined(TP_WITH_C_CORE)
#include "linux/rendezvous_child.h"
#endif
#if defined(TP_WITH_TASKPORT)
#include "taskport/taskport.hpp"
#endif

extern char** environ;

namespace {

char g_marker[64] = "taskport-marker";

void out(const std::string& line) {
  std::string s = line + "\n";
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    const ssize_t n = write(1, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(120);
    p += n;
    left -= static_cast<size_t>(n);
  }
}

int rendezvous_fd() {
  const char* s = getenv("TASKPORT_RENDEZVOUS_FD");
  return s != nullptr ? atoi(s) : -1;
}

void send() {
#if defined(TP_WITH_C_CORE)
  const int rc = tp_rdv_send_from_environment(0);
  out(rc == 0 ? "sent 1" : rc < 0 ? "sent 0" : "error " + std::to_string(rc));
#elif defined(TP_WITH_TASKPORT)
  try {
    out(taskport::send_task_to_spawner() ? "sent 1" : "sent 0");
  } catch (const taskport::Error& e) {
    out("error " + std::to_string(e.errno_value()));
  }
#else
  out("error 38");  // ENOSYS: this build knows nothing of taskport
#endif
}

#if defined(TP_WITH_C_CORE)
void run_in_fork(void (*fn)(int fd, pid_t parent)) {
  const int fd = rendezvous_fd();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    fn(fd, parent);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
}

void spoof_own(int fd, pid_t) { tp_rdv_send(fd, 0); }

// A handle that names the real child, sent by another process: only the
// kernel's credentials tell them apart.
void spoof_pidfd(int fd, pid_t parent) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 3)] = {};
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, parent, 0));
  const int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  const int maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  struct {
    uint32_t magic, version, flags;
    int32_t pid, e1, e2, e3, r;
  } hello = {0x56525054u, 1, 7, parent, 0, 0, 0, 0};
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
  memcpy(CMSG_DATA(cm), fds, sizeof fds);
  sendmsg(fd, &msg, MSG_NOSIGNAL);
}
#endif

void report() {
  for (char** e = environ; *e != nullptr; ++e) out(std::string("env ") + *e);
  DIR* d = opendir("/proc/self/fd");
  const int own = d != nullptr ? dirfd(d) : -1;
  while (dirent* ent = d != nullptr ? readdir(d) : nullptr) {
    if (ent->d_name[0] == '.') continue;
    const int fd = atoi(ent->d_name);
    if (fd != own) out("fd " + std::to_string(fd));
  }
  if (d != nullptr) closedir(d);
  out("end");
}

void serve() {
  std::string line;
  char c;
  while (true) {
    const ssize_t n = read(0, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    if (c == '\n') {
      out(std::string("marker ") + g_marker);
      line.clear();
    } else {
      line += c;
    }
  }
}

[[noreturn]] void exec_child(char** argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--send") {
      send();
#if defined(TP_WITH_C_CORE)
    } else if (a == "--spoof") {
      run_in_fork(spoof_own);
    } else if (a == "--spoof-pidfd") {
      run_in_fork(spoof_pidfd);
#endif
    } else if (a == "--garbage") {
      send(rendezvous_fd(), "hello", 5, MSG_NOSIGNAL);
    } else if (a == "--close-rendezvous") {
      close(rendezvous_fd());
    } else if (a == "--nondumpable") {
      prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    } else if (a == "--dumpable") {
      out("dumpable " + std::to_string(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)));
    } else if (a == "--report") {
      report();
    } else if (a == "--print" && i + 1 < argc) {
      out(argv[++i]);
    } else if (a == "--marker") {
      char buf[32];
      snprintf(buf, sizeof buf, "0x%llx",
               static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(g_marker)));
      out(std::string("marker ") + buf);
    } else if (a == "--serve") {
      serve();
    } else if (a == "--sleep" && i + 1 < argc) {
      const double sec = atof(argv[++i]);
      timespec ts{static_cast<time_t>(sec),
                  static_cast<long>((sec - static_cast<double>(static_cast<time_t>(sec))) * 1e9)};
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    } else if (a == "--exec" && i + 1 < argc) {
      exec_child(argv + i + 1);
    }
  }
  return 0;
}
