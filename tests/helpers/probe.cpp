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
//   fd N DEV:INO TARGET (every open fd except the one listing /proc/self/fd;
//                        DEV:INO from fstat, TARGET from readlink)
//   sigblk HEX | sigign HEX | sigcgt HEX (the SigBlk/SigIgn/SigCgt lines of
//                        /proc/self/status, i.e. the kernel's view)
//   end
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

std::string link_target(const char* path) {
  char buf[4096];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  if (n < 0) return "?";
  buf[n] = '\0';
  return buf;
}

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
  line("exe " + encode(link_target("/proc/self/exe").c_str()));
  {
    char cwd[4096];
    line(std::string("cwd ") + (getcwd(cwd, sizeof cwd) ? encode(cwd) : std::string("?")));
  }
  line("argc " + std::to_string(argc));
  for (int i = 0; i < argc; ++i) line("argv " + std::to_string(i) + " " + encode(argv[i]));
  for (char** e = environ; e && *e; ++e) line("env " + encode(*e));

  // Open descriptors: list them first (the directory's own fd excluded),
  // then describe each once the listing fd is closed again.
  std::vector<int> fds;
  if (DIR* dir = opendir("/proc/self/fd")) {
    const int self = dirfd(dir);
    while (dirent* d = readdir(dir)) {
      if (d->d_name[0] == '.') continue;
      int fd = std::atoi(d->d_name);
      if (fd != self) fds.push_back(fd);
    }
    closedir(dir);
  } else {
    line("error opendir");
  }
  for (int fd : fds) {
    struct stat st;
    std::string id = "?";
    if (fstat(fd, &st) == 0)
      id = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
           std::to_string(static_cast<unsigned long long>(st.st_ino));
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    line("fd " + std::to_string(fd) + " " + id + " " + encode(link_target(path.c_str()).c_str()));
  }

  const std::string status = "\n" + read_file("/proc/self/status");
  line("sigblk " + status_field(status, "SigBlk"));
  line("sigign " + status_field(status, "SigIgn"));
  line("sigcgt " + status_field(status, "SigCgt"));
  line("tracerpid " + status_field(status, "TracerPid"));
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
