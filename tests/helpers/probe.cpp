// SPDX-License-Identifier: MIT
// tp_probe — the child the tests spawn. It reports its own state as the
// kernel sees it, and performs small actions chosen by its arguments, so a
// test can observe every Command option from the other side.
//
// Arguments are processed left to right; anything that is not an option
// below is plain data (it only shows up in the argv report).
//
//   --touch PATH      create PATH. When it is the first argument this is the
//                     very first act of main(), before anything else runs.
//   --out N           send later --report output to fd N (default 1)
//   --report          print the report (format below) to the --out fd
//   --cat             copy stdin to stdout until EOF
//   --wait-stdin      block reading stdin until EOF (data is discarded)
//   --wait-fd N       block reading fd N until EOF (data is discarded)
//   --write-fd N TEXT write TEXT (no newline added) to fd N
//   --sleep SEC       sleep SEC seconds (fractions allowed)
//   --kill-self SIG   kill(getpid(), SIG); continues if it survives
//   --fork            fork: the original process exits 0 at once, the new
//                     one continues with the remaining arguments
//   --exit N          _exit(N) at once
// After the last argument the probe exits 0.
//
// Report format: one fact per line, "key value...", ending with "end".
// Strings are percent-encoded: bytes <= 0x20, >= 0x7f and '%' become %XX.
//   pid N | ppid N | pgid N | sid N | tracerpid N
//   exe PATH | cwd PATH
//   argc N | argv I ARG (one per argument)
//   env KEY=VALUE (one per environ entry, in order)
//   fd N DEV:INO TARGET (every open fd except one the listing itself opens;
//                        DEV:INO from fstat; TARGET as Linux's readlink of
//                        /proc/self/fd/N: a path, "pipe:[INO]", "socket:[INO]", ...)
//   sigblk HEX | sigign HEX | sigcgt HEX (blocked, ignored and caught signals,
//                        bit N-1 for signal N, as the kernel reports them)
//   end
//
// The same report on every platform, from what each kernel offers:
//   Linux: /proc/self/exe, /proc/self/fd and the SigBlk/SigIgn/SigCgt and
//          TracerPid lines of /proc/self/status.
//   macOS (no /proc): proc_pidpath, proc_pidinfo(PROC_PIDLISTFDS) and
//          fcntl(F_GETPATH), sigprocmask and sigaction of every signal, and
//          P_TRACED of sysctl KERN_PROC_PID (a traced process's tracer is its
//          parent on macOS: ptrace reparents).
//
// Deliberately plain POSIX: no stdio, no iostreams, no threads, so that the
// probe itself opens no descriptors and installs no handlers of its own.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <libproc.h>
#include <sys/proc_info.h>
#include <sys/sysctl.h>
#endif

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      _exit(120);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

std::string encode(const char* s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char* p = reinterpret_cast<const unsigned char*>(s); *p; ++p) {
    if (*p <= 0x20 || *p >= 0x7f || *p == '%') {
      out += '%';
      out += hex[*p >> 4];
      out += hex[*p & 0xf];
    } else {
      out += static_cast<char>(*p);
    }
  }
  return out;
}

struct Signals {
  std::string blocked, ignored, caught;  // hex masks, bit N-1 for signal N
};

#if defined(__linux__)

std::string link_target(const char* path) {
  char buf[4096];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  if (n < 0) return "?";
  buf[n] = '\0';
  return buf;
}

std::string read_file(const char* path) {
  std::string text;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

std::string status_field(const std::string& status, const char* key) {
  std::string k = std::string("\n") + key + ":";
  size_t at = status.find(k);
  if (at == std::string::npos) return "?";
  at += k.size();
  while (at < status.size() && (status[at] == ' ' || status[at] == '\t')) ++at;
  size_t end = status.find('\n', at);
  return status.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string executable() { return link_target("/proc/self/exe"); }

// Every open descriptor but the directory's own.
std::vector<int> open_fds() {
  std::vector<int> fds;
  if (DIR* dir = opendir("/proc/self/fd")) {
    const int self = dirfd(dir);
    while (dirent* d = readdir(dir)) {
      if (d->d_name[0] == '.') continue;
      int fd = std::atoi(d->d_name);
      if (fd != self) fds.push_back(fd);
    }
    closedir(dir);
  }
  return fds;
}

std::string fd_target(int fd) { return link_target(("/proc/self/fd/" + std::to_string(fd)).c_str()); }

Signals signals(std::string& tracer) {
  const std::string status = "\n" + read_file("/proc/self/status");
  tracer = status_field(status, "TracerPid");
  return {status_field(status, "SigBlk"), status_field(status, "SigIgn"), status_field(status, "SigCgt")};
}

#elif defined(__APPLE__)

std::string executable() {
  char path[PROC_PIDPATHINFO_MAXSIZE];
  return proc_pidpath(getpid(), path, sizeof path) > 0 ? std::string(path) : std::string("?");
}

// Every open descriptor, from the kernel's table (listing opens none).
std::vector<int> open_fds() {
  std::vector<int> fds;
  const int bytes = proc_pidinfo(getpid(), PROC_PIDLISTFDS, 0, nullptr, 0);
  if (bytes <= 0) return fds;
  std::vector<proc_fdinfo> info(static_cast<size_t>(bytes) / sizeof(proc_fdinfo) + 16);
  const int got = proc_pidinfo(getpid(), PROC_PIDLISTFDS, 0, info.data(),
                               static_cast<int>(info.size() * sizeof(proc_fdinfo)));
  for (int i = 0; got > 0 && i < got / static_cast<int>(sizeof(proc_fdinfo)); ++i)
    fds.push_back(info[static_cast<size_t>(i)].proc_fd);
  return fds;
}

// What Linux's /proc/self/fd/N link would say: the path of a vnode, or
// "<kind>:[<inode>]" for the rest.
std::string fd_target(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return "?";
  const std::string ino = std::to_string(static_cast<unsigned long long>(st.st_ino));
  if (S_ISFIFO(st.st_mode)) return "pipe:[" + ino + "]";
  if (S_ISSOCK(st.st_mode)) return "socket:[" + ino + "]";
  char path[MAXPATHLEN];
  if (fcntl(fd, F_GETPATH, path) == 0) return path;
  return "anon:[" + ino + "]";
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

Signals signals(std::string& tracer) {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigprocmask(SIG_BLOCK, nullptr, &blocked);
  uint64_t blk = 0, ign = 0, cgt = 0;
  for (int sig = 1; sig < NSIG; ++sig) {
    const uint64_t bit = uint64_t{1} << (sig - 1);
    if (sigismember(&blocked, sig) == 1) blk |= bit;
    struct sigaction sa;
    if (sigaction(sig, nullptr, &sa) != 0) continue;
    if (sa.sa_handler == SIG_IGN) ign |= bit;
    else if (sa.sa_handler != SIG_DFL) cgt |= bit;
  }
  kinfo_proc kp{};
  size_t size = sizeof kp;
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, getpid()};
  if (sysctl(mib, 4, &kp, &size, nullptr, 0) != 0 || size != sizeof kp) tracer = "?";
  else tracer = (kp.kp_proc.p_flag & P_TRACED) ? std::to_string(getppid()) : "0";
  return {hex(blk), hex(ign), hex(cgt)};
}

#endif

void report(int out, int argc, char** argv) {
  std::string r;
  auto line = [&r](const std::string& s) {
    r += s;
    r += '\n';
  };
  line("pid " + std::to_string(getpid()));
  line("ppid " + std::to_string(getppid()));
  line("pgid " + std::to_string(getpgid(0)));
  line("sid " + std::to_string(getsid(0)));
  line("exe " + encode(executable().c_str()));
  {
    char cwd[4096];
    line(std::string("cwd ") + (getcwd(cwd, sizeof cwd) ? encode(cwd) : std::string("?")));
  }
  line("argc " + std::to_string(argc));
  for (int i = 0; i < argc; ++i) line("argv " + std::to_string(i) + " " + encode(argv[i]));
  for (char** e = environ; e && *e; ++e) line("env " + encode(*e));

  // List the descriptors first, then describe each once the listing is done.
  for (int fd : open_fds()) {
    struct stat st;
    std::string id = "?";
    if (fstat(fd, &st) == 0)
      id = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
           std::to_string(static_cast<unsigned long long>(st.st_ino));
    line("fd " + std::to_string(fd) + " " + id + " " + encode(fd_target(fd).c_str()));
  }

  std::string tracer;
  const Signals s = signals(tracer);
  line("sigblk " + s.blocked);
  line("sigign " + s.ignored);
  line("sigcgt " + s.caught);
  line("tracerpid " + tracer);
  line("end");
  write_all(out, r.data(), r.size());
}

void drain(int fd, int copy_to) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) _exit(121);
    if (n == 0) return;
    if (copy_to >= 0) write_all(copy_to, buf, static_cast<size_t>(n));
  }
}

[[noreturn]] void usage(const char* what) {
  const char* msg = "tp_probe: missing or bad value for ";
  write_all(2, msg, std::strlen(msg));
  write_all(2, what, std::strlen(what));
  write_all(2, "\n", 1);
  _exit(122);
}

}  // namespace

int main(int argc, char** argv) {
  // The very first act: used to prove the program has (or has not) started.
  if (argc >= 3 && std::strcmp(argv[1], "--touch") == 0) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  }

  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    auto value = [&](const char* what) -> const char* {
      if (i + 1 >= argc) usage(what);
      return argv[++i];
    };
    if (std::strcmp(a, "--touch") == 0) {
      const char* path = value(a);
      if (i != 2) {  // not already done above
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) close(fd);
      }
    } else if (std::strcmp(a, "--out") == 0) {
      out = std::atoi(value(a));
    } else if (std::strcmp(a, "--report") == 0) {
      report(out, argc, argv);
    } else if (std::strcmp(a, "--cat") == 0) {
      drain(0, 1);
    } else if (std::strcmp(a, "--wait-stdin") == 0) {
      drain(0, -1);
    } else if (std::strcmp(a, "--wait-fd") == 0) {
      drain(std::atoi(value(a)), -1);
    } else if (std::strcmp(a, "--write-fd") == 0) {
      int fd = std::atoi(value(a));
      const char* text = value(a);
      write_all(fd, text, std::strlen(text));
    } else if (std::strcmp(a, "--sleep") == 0) {
      double sec = std::atof(value(a));
      timespec ts;
      ts.tv_sec = static_cast<time_t>(sec);
      ts.tv_nsec = static_cast<long>((sec - static_cast<double>(ts.tv_sec)) * 1e9);
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    } else if (std::strcmp(a, "--kill-self") == 0) {
      kill(getpid(), std::atoi(value(a)));
    } else if (std::strcmp(a, "--fork") == 0) {
      pid_t p = fork();
      if (p < 0) _exit(123);
      if (p > 0) _exit(0);
    } else if (std::strcmp(a, "--exit") == 0) {
      _exit(std::atoi(value(a)));
    }
  }
  return 0;
}
