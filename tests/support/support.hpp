// SPDX-License-Identifier: MIT
// Shared test support: the probe, its report, and ways to look at processes
// and descriptors from the outside (/proc, waitid, fstat).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "taskport/taskport.hpp"

namespace tp_test {

using namespace std::chrono_literals;

// Generous bound for anything that should happen "at once"; only reached
// when something is broken (sanitizer builds are slow, CI machines busy).
inline constexpr std::chrono::milliseconds kLong = 10s;

// ---- the helper programs -------------------------------------------------

const std::string& probe_path();

// Command(probe_path()) with the given arguments.
taskport::Command probe(std::initializer_list<std::string> args = {});

// A probe that runs until its stdin — a pipe whose write end only the Child
// holds — closes: it can never outlive the test process (unlike a sleep).
taskport::Command long_running_probe();

// ---- what the probe reports ----------------------------------------------

struct FdSeen {
  std::string id;      // "dev:ino" from fstat in the child
  std::string target;  // readlink of /proc/self/fd/N
};

struct ProbeReport {
  pid_t pid = -1, ppid = -1, pgid = -1, sid = -1, tracer_pid = -1;
  std::string exe, cwd;
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "KEY=VALUE" in environ order
  std::map<int, FdSeen> fds;
  uint64_t sigblk = 0, sigign = 0, sigcgt = 0;
  bool complete = false;  // saw the final "end" line

  // Values of every env entry named `key`, in order (to spot duplicates).
  std::vector<std::string> env_values(const std::string& key) const;
  std::optional<std::string> env_value(const std::string& key) const;
  std::set<int> fd_numbers() const;
};

ProbeReport parse_report(const std::string& text);

// Spawns `cmd` (a probe command whose arguments include "--report") with
// stdout piped, reads the report and waits for a successful exit.
// Records a test failure (and returns what it has) if anything goes wrong.
ProbeReport report_via_stdout(taskport::Command cmd);
// Same, but the report comes through a pipe placed at `child_fd` in the
// child (the command's arguments must include "--out <child_fd> --report"),
// so the test can configure stdout freely.
ProbeReport report_via_fd(taskport::Command cmd, int child_fd);

// ---- waiting without hanging ---------------------------------------------

// Waits at most kLong. On timeout: records a failure, kills the child and
// returns the status after the kill.
taskport::ExitStatus wait_exit(taskport::Child& child, std::chrono::milliseconds timeout = kLong);

// Polls `pred` every millisecond or so until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = kLong);

// Reads until EOF. Records a failure and returns what it has if EOF does
// not come within `timeout`.
std::string read_all(int fd, std::chrono::milliseconds timeout = kLong);

// Polls one fd for `events`; true if any is reported within `timeout`.
bool poll_readable(int fd, std::chrono::milliseconds timeout);

// Kills the task after `timeout` unless dismissed first: a guard for the
// rare test that must call a blocking API (Child::wait).
class Watchdog {
 public:
  Watchdog(taskport::Task& task, std::chrono::milliseconds timeout = kLong);
  ~Watchdog();
  bool fired() const { return fired_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

// ---- descriptors -----------------------------------------------------------

struct Pipe {
  taskport::UniqueFd read, write;
};
Pipe make_pipe(int flags = 0x80000 /* O_CLOEXEC */);

// For children that must outlive their Child object: they read the
// lifeline's pipe until the test cuts it (or this process dies).
class Lifeline {
 public:
  Lifeline();
  // probe --wait-stdin with stdin = the lifeline's pipe.
  taskport::Command probe() const;
  void cut() { pipe_.write.reset(); }

 private:
  Pipe pipe_;
};
void write_str(int fd, const std::string& s);

// Open descriptors of this process (from /proc/self/fd).
std::set<int> open_fds();
// Open descriptors without FD_CLOEXEC: what a child inherits by default.
std::set<int> inheritable_fds();
bool is_cloexec(int fd);
// "dev:ino" of an open descriptor, as the probe reports it.
std::string fd_identity(int fd);
std::string path_identity(const std::string& path);
// The "Pid:" line of /proc/self/fdinfo/<fd> (a pidfd), or nullopt.
std::optional<pid_t> pidfd_pid(int fd);

// ---- processes -------------------------------------------------------------

struct ProcStat {
  char state = '?';
  pid_t ppid = -1;
  unsigned long long start_time = 0;
};
std::optional<ProcStat> proc_stat(pid_t pid);
// The TracerPid of a process, or -1.
pid_t tracer_pid(pid_t pid);
// Every process whose parent is this process (zombies included).
std::set<pid_t> children_of_self();
// True once `pid` is no longer a child of ours at all (reaped), as waitid
// says; never reaps anything itself (WNOWAIT).
bool is_reaped(pid_t pid);
// Bounded wait until `pid` has been reaped by someone (the library).
bool eventually_reaped(pid_t pid, std::chrono::milliseconds timeout = kLong);

// ---- files -----------------------------------------------------------------

class TempDir {
 public:
  // A fresh directory under $TMPDIR (or /tmp), or under `base` if given;
  // removed with its contents at the end.
  explicit TempDir(const std::string& base = "");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool file_exists(const std::string& path);
void write_file(const std::string& path, const std::string& text, mode_t mode);
std::string real_path(const std::string& path);

// ---- errors ----------------------------------------------------------------

// Runs `f`; returns the taskport::Error it throws, or nullopt (and the
// child it returned is dropped with kill_on_drop) if it does not throw.
std::optional<taskport::Error> spawn_error(const taskport::Command& cmd);

}  // namespace tp_test
