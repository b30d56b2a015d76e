// SPDX-License-Identifier: MIT
// Support for the hostile tests (label "hostile"): running a scenario in a
// process of its own with a deadline, looking at process and thread states
// from outside (/proc), leaving a chosen number of descriptors free, and
// scaling race repetitions down under sanitizers.
//
// Why a process of its own (isolated()): many scenarios change what is
// process-wide (signal dispositions, rlimits, the uid, the library's tracer
// and reaper threads, which start once per process) or are expected to hang
// or crash before the fixes of issue 10. In a forked copy of the test
// process, with a deadline, a hang becomes a bounded failure that says how
// far the scenario got, and the next test starts from a fresh library state.
// The copy is forked before the test process has used taskport (ctest runs
// every test in a process of its own), so it has no library threads yet.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "taskport/taskport.hpp"

namespace tp_hostile {

using namespace std::chrono_literals;

// ---- scale --------------------------------------------------------------------------

// True if this build carries a sanitizer (ASan/TSan detected by the
// compiler; any TASKPORT_SANITIZE build by the CMake's TP_HOSTILE_SANITIZED).
bool sanitized();
// `release` repetitions in a release build, `under_sanitizer` in a sanitizer
// build; TASKPORT_HOSTILE_SCALE (a factor, e.g. 0.1) overrides both.
int repetitions(int release, int under_sanitizer);

// ---- helper programs ------------------------------------------------------------

const std::string& target_path();  // helpers/target.cpp
const std::string& sender_path();  // helpers/sender.cpp
const std::string& cli_path();     // the taskport CLI, or "" if not built

// ---- a scenario in a process of its own -------------------------------------------

// What a scenario tells the test. Usable only inside isolated(); every call
// is written to the test at once, so a scenario that hangs or crashes later
// still has its notes and failures reported.
class Report {
 public:
  explicit Report(int fd) : fd_(fd) {}
  void fail(const std::string& what);
  void note(const std::string& what);  // progress: the last note is quoted on a timeout
  // fail(what) unless `ok`; returns `ok`.
  bool check(bool ok, const std::string& what);
  // Runs `fn` with a deadline (an interval timer: no thread is needed, so it
  // works at RLIMIT_NPROC too). If `fn` does not return within `timeout` the
  // scenario ends there: fail("hang: <what> ...") and the process exits.
  // Exceptions escaping `fn` are reported as failures. Returns true if `fn`
  // returned normally. Not nested; uses SIGALRM meanwhile.
  bool within(std::chrono::milliseconds timeout, const std::string& what, const std::function<void()>& fn);
  int failures() const { return failures_; }

 private:
  void send(char kind, const std::string& text);
  int fd_;
  int failures_ = 0;
};

struct Outcome {
  std::vector<std::string> failures;
  std::vector<std::string> notes;
  bool timed_out = false;
  bool finished = false;  // the scenario ran to its end
  std::string ended;      // how the process ended ("exit code 0", "killed by SIGSEGV", ...)
};

// Forks; the copy becomes a process group leader and runs `body`, then checks
// that it leaves no process in state t, T or Z behind (see
// leftover_processes) and exits. The whole process group is killed after
// `timeout`. Safe to call from a scenario, too (nested).
Outcome isolated(std::chrono::milliseconds timeout, const std::function<void(Report&)>& body);

// In a test: one gtest failure per failure of the outcome; a timeout or a
// crash is a failure that quotes the last note. TASKPORT_HOSTILE_VERBOSE=1
// prints every note.
void expect_passed(const Outcome& outcome);

// In a scenario: forwards a nested outcome's failures, prefixed.
void forward(Report& r, const Outcome& outcome, const std::string& prefix);

// ---- processes and threads, from /proc --------------------------------------------

// tid -> state letter of every thread the kernel lists for `pid`.
std::map<pid_t, char> thread_states(pid_t pid);
// "tid:state" of each thread of `pid` whose state is one of `states`.
std::vector<std::string> threads_in_state(pid_t pid, const std::string& states);
// The state letter of a process ('?' if it is gone).
char process_state(pid_t pid);
// Every descendant of `root` (children, their children, ...), from /proc.
std::set<pid_t> descendants(pid_t root);

struct Leftover {
  pid_t pid;
  pid_t tid;
  char state;
  std::string comm;
  std::string to_string() const;
};
// Threads of descendants of `root` in state t, T or Z.
std::vector<Leftover> leftover_processes(pid_t root);
// One line per process: "pid N (comm) in state Z (zombie); 3 of its threads
// in state Z: 12 13 14".
std::vector<std::string> summarize(const std::vector<Leftover>& leftovers);
// Waits (bounded) until no descendant of `root` is in t, T or Z; returns what
// is left after `grace`.
std::vector<Leftover> leftovers_after(pid_t root, std::chrono::milliseconds grace);

// True once `pid` is no longer a child of this process (reaped), without
// reaping anything (waitid WNOWAIT).
bool is_reaped(pid_t pid);
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// ---- descriptors ------------------------------------------------------------------

std::set<int> open_fds();
std::string describe_fds(const std::set<int>& fds);
// Descriptors open now that were not in `before`, after up to `grace` for
// the library's reaper to reap (and close the pidfd of) children just
// dropped.
std::set<int> leaked_since(const std::set<int>& before, std::chrono::milliseconds grace = 3s);
bool is_out_of_descriptors(int error);  // EMFILE or ENFILE

// Leaves exactly `free_slots` descriptor numbers free below RLIMIT_NOFILE:
// lowers the soft limit to just above the highest open descriptor plus
// room, fills every free number with a copy of /dev/null, and closes
// `free_slots` of the copies (the lowest numbers, which the kernel hands out
// first). The destructor closes the copies and restores the limit.
class FdExhaustion {
 public:
  explicit FdExhaustion(int free_slots);
  ~FdExhaustion();
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;
  // Frees every copy (the limit stays low until destruction).
  void release();
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  std::vector<int> fillers_;
  unsigned long long old_soft_ = 0, old_hard_ = 0;
  bool ok_ = false;
  std::string error_;
};

// ---- users ----------------------------------------------------------------------

// In a scenario: become uid:gid (no supplementary groups; from root this
// drops every capability). Returns "" or what failed.
std::string drop_to(uid_t uid, gid_t gid);

// ---- targets ----------------------------------------------------------------------

// A running tp_hostile_target (helpers/target.cpp) with its Task: stdin and
// stdout piped (it exits when the Child closes its stdin), kill_on_drop set,
// past its "ready" line (a failure is reported if that line does not come).
struct Target {
  taskport::Child child;
  taskport::Task task;
  std::string pending;  // output read but not consumed
};
Target spawn_target(Report& r, const std::vector<std::string>& args);

class Lifeline;
// probe --wait-stdin with stdin = the lifeline's read end; nothing piped, so
// dropping the Child closes nothing of the child's.
taskport::Command lifeline_probe(const Lifeline& lifeline);

// True if every thread of `pid` is in a ptrace stop (state t); `states`
// receives "tid:state" of the others.
bool all_in_ptrace_stop(pid_t pid, std::vector<std::string>* others = nullptr);
// Threads of `pid` in a ptrace stop, after up to `grace` for them to go.
std::vector<std::string> stopped_threads_after(pid_t pid, std::chrono::milliseconds grace);

std::string join(const std::vector<std::string>& words);

// Drops two running children (lifeline probes, nothing piped) — the first
// while `hostile()` holds, until the function it returned is called — then
// ends both and checks that the library reaps both within 5 s.
void drop_two_children(Report& r, const std::function<std::function<void()>()>& hostile);

// ---- rendezvous senders -------------------------------------------------------------

// A running tp_hostile_sender (helpers/sender.cpp), stdin and stdout piped,
// prepared for a Rendezvous; kill_on_drop set.
struct Sender {
  taskport::Child child;
  std::string pending;
};
Sender spawn_sender(taskport::Rendezvous& rdv, std::initializer_list<std::string> args);
// The value of the sender's next output line "<key> <value>" ("" and a
// failure if the line is another).
std::string value_of(Report& r, Sender& s, const std::string& key);
// The sender's next output line is `expected` (else a failure).
bool expect_line(Report& r, Sender& s, const std::string& expected);

// ---- small things ---------------------------------------------------------------

// A pipe whose read end a child gets as stdin: it runs until the write end
// (held here) closes.
class Lifeline {
 public:
  Lifeline();
  ~Lifeline();
  Lifeline(const Lifeline&) = delete;
  Lifeline& operator=(const Lifeline&) = delete;
  void cut();
  int read_end = -1, write_end = -1;
};

// Reads one line (without '\n') from `fd` within `timeout`, or nullopt.
std::optional<std::string> read_line(int fd, std::string& buffer, std::chrono::milliseconds timeout);
// Everything readable from `fd` within `wait` (stops early at EOF).
std::string drain(int fd, std::chrono::milliseconds wait);
void write_str(int fd, const std::string& text);

// "Error(<errno name>, <step>): what()" for a taskport::Error, "<type>: what()"
// for anything else (the current exception).
std::string describe_current_exception();

}  // namespace tp_hostile
