// SPDX-License-Identifier: MIT
/* The child side of the Linux rendezvous (see rendezvous_child.h).
 *
 * INVARIANT for tp_rdv_send and everything it calls: async-signal-safe.
 * Raw syscall() only — no libc wrapper that a sanitizer could intercept (its
 * interceptors take locks), no allocation, no stdio. This file is compiled
 * without sanitizer instrumentation for the same reason (src/CMakeLists.txt). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "linux/rendezvous_child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/rendezvous_wire.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static long sys_close(int fd) { return syscall(SYS_close, fd); }

/* Opens one of our own /proc files; returns the fd, or -1 with *error set. */
static int open_self(const char* path, int flags, int32_t* error) {
  long fd;
  do {
    fd = syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    *error = errno;
    return -1;
  }
  return (int)fd;
}

/* /proc/self/mem and /proc/self/maps. Opening one's own mem file passes the
 * ptrace check (same thread group), but while the process is not dumpable
 * its /proc/<pid> files belong to root (mode 0600 for mem), so the open is
 * refused for a non-root process. Be dumpable for the two opens, then go
 * back. An open fd stays usable after that (it was checked at open).
 * PR_SET_DUMPABLE can set only 0 or 1: a process that was at 2
 * (suid_dumpable=2) goes back to 0, the stricter of the two. */
static void open_memory_files(int* mem, int32_t* mem_error, int* maps, int32_t* maps_error) {
  const long dumpable = syscall(SYS_prctl, PR_GET_DUMPABLE, 0L, 0L, 0L, 0L);
  const int changed = dumpable != 1 && syscall(SYS_prctl, PR_SET_DUMPABLE, 1L, 0L, 0L, 0L) == 0;
  *mem = open_self("/proc/self/mem", O_RDWR, mem_error);
  if (*mem < 0) *mem = open_self("/proc/self/mem", O_RDONLY, mem_error);
  if (*mem >= 0) *mem_error = 0;
  *maps = open_self("/proc/self/maps", O_RDONLY, maps_error);
  if (changed) syscall(SYS_prctl, PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
}

/* Blocks until the spawner shuts its end down (recv returns 0) or the
 * socket breaks. Stray data is ignored: only the shutdown lets us go. */
static void wait_until_let_go(int fd) {
  char byte;
  for (;;) {
    const long n = syscall(SYS_recvfrom, fd, &byte, 1L, 0L, (void*)0, (void*)0);
    if (n == 0) return;
    if (n < 0 && errno != EINTR) return;
  }
}

/* Fills `hello` and `fds` (*nfds of them) with this process's handles: a
 * pidfd of itself, /proc/self/mem and /proc/self/maps, each flagged when
 * present, its errno recorded when not. */
static void make_handles(struct tp_rdv_hello* hello, int fds[TP_RDV_MAX_FDS], unsigned* nfds) {
  int mem = -1, maps = -1;
  long pid, pidfd;

  memset(hello, 0, sizeof *hello);
  hello->magic = TP_RDV_MAGIC;
  hello->version = TP_RDV_VERSION;
  *nfds = 0;

  pid = syscall(SYS_getpid);
  hello->pid = (int32_t)pid;
  pidfd = syscall(SYS_pidfd_open, pid, 0L);
  if (pidfd >= 0) {
    hello->flags |= TP_RDV_HAS_PIDFD;
    fds[(*nfds)++] = (int)pidfd;
  } else {
    hello->pidfd_error = errno;
  }
  open_memory_files(&mem, &hello->mem_error, &maps, &hello->maps_error);
  if (mem >= 0) {
    hello->flags |= TP_RDV_HAS_MEM;
    fds[(*nfds)++] = mem;
  }
  if (maps >= 0) {
    hello->flags |= TP_RDV_HAS_MAPS;
    fds[(*nfds)++] = maps;
  }
}

/* Sends `hello` with the `nfds` descriptors in `fds` (SCM_RIGHTS) as one
 * datagram. Returns 0, or the errno of the failure (EPROTO: sent short). */
static int send_hello(int fd, const struct tp_rdv_hello* hello, const int fds[TP_RDV_MAX_FDS],
                      unsigned nfds) {
  union {
    char buf[CMSG_SPACE(sizeof(int) * TP_RDV_MAX_FDS)];
    struct cmsghdr align;
  } control;
  struct iovec iov;
  struct msghdr msg;
  long n;

  memset(&control, 0, sizeof control);
  memset(&msg, 0, sizeof msg);
  iov.iov_base = (void*)hello;
  iov.iov_len = sizeof *hello;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    struct cmsghdr* cm;
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  }
  do {
    n = syscall(SYS_sendmsg, fd, &msg, (long)MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  return (size_t)n == sizeof *hello ? 0 : EPROTO;
}

int tp_rdv_send(int fd, unsigned flags) {
  struct tp_rdv_hello hello;
  int fds[TP_RDV_MAX_FDS];
  unsigned nfds;
  int result;

  make_handles(&hello, fds, &nfds);
  if (flags & TP_RDV_SEND_WAIT) hello.flags |= TP_RDV_WAITS;
  result = send_hello(fd, &hello, fds, nfds);

  /* The spawner holds its own copies now. */
  while (nfds > 0) sys_close(fds[--nfds]);

  if (result == 0 && !(hello.flags & TP_RDV_HAS_PIDFD)) result = hello.pidfd_error;
  if (result == 0 && (flags & TP_RDV_SEND_WAIT)) wait_until_let_go(fd);
  return result;
}

/* The descriptor number in TASKPORT_RENDEZVOUS_FD: decimal digits only,
 * >= 0 and <= INT_MAX; -1 if malformed. */
static int parse_fd(const char* s) {
  long value = 0;
  if (*s == '\0') return -1;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return -1;
    value = value * 10 + (*s - '0');
    if (value > INT_MAX) return -1;
  }
  return (int)value;
}

/* Our rendezvous end is an AF_UNIX SOCK_SEQPACKET socket. Anything else at
 * that number belongs to the program (a stale variable): never touch it. */
static int is_rendezvous_socket(int fd) {
  int type = 0, domain = 0;
  socklen_t len = sizeof type;
  if (syscall(SYS_getsockopt, fd, (long)SOL_SOCKET, (long)SO_TYPE, &type, &len) != 0) return 0;
  len = sizeof domain;
  if (syscall(SYS_getsockopt, fd, (long)SOL_SOCKET, (long)SO_DOMAIN, &domain, &len) != 0) return 0;
  return type == SOCK_SEQPACKET && domain == AF_UNIX;
}

int tp_rdv_send_from_environment(unsigned flags) {
  const char* fd_text = getenv(TP_RDV_ENV_FD);
  const char* wait_text;
  int fd, result;

  if (fd_text == NULL) return -1;
  fd = parse_fd(fd_text);
  wait_text = getenv(TP_RDV_ENV_WAIT);
  if (wait_text != NULL && strcmp(wait_text, "1") == 0) flags |= TP_RDV_SEND_WAIT;
  /* Gone from the environment before anything else happens, so that no
   * child this process starts from now on sees them. */
  unsetenv(TP_RDV_ENV_FD);
  unsetenv(TP_RDV_ENV_WAIT);

  if (fd < 0) return EBADF;
  if (syscall(SYS_fcntl, fd, (long)F_GETFD) < 0) return EBADF;
  if (!is_rendezvous_socket(fd)) return ENOTSOCK;
  result = tp_rdv_send(fd, flags);
  sys_close(fd);
  return result;
}
