// SPDX-License-Identifier: MIT
#include "hostile_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>
#include <typeinfo>

#include "support.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TP_HOSTILE_SANITIZED_BUILD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(TP_HOSTILE_SANITIZED)
#define TP_HOSTILE_SANITIZED_BUILD 1
#endif

namespace tp_hostile {

using clock = std::chrono::steady_clock;

// ---- scale --------------------------------------------------------------------------

bool sanitized() {
#if defined(TP_HOSTILE_SANITIZED_BUILD)
  return true;
#else
  return false;
#endif
}

int repetitions(int release, int under_sanitizer) {
  if (const char* scale = std::getenv("TASKPORT_HOSTILE_SCALE")) {
    const double f = std::atof(scale);
    if (f > 0) return std::max(1, static_cast<int>(release * f));
  }
  return sanitized() ? under_sanitizer : release;
}

// ---- helper programs ------------------------------------------------------------

const std::string& target_path() {
  static const std::string path = TP_HOSTILE_TARGET;
  return path;
}

const std::string& sender_path() {
  static const std::string path = TP_HOSTILE_SENDER;
  return path;
}

const std::string& cli_path() {
  static const std::string path = TP_HOSTILE_CLI;
  return path;
}

// ---- Report -------------------------------------------------------------------------

void Report::send(char kind, const std::string& text) {
  std::string line(1, kind);
  line += ' ';
  for (char c : text) {
    if (c == '\n') line += "\\n";
    else line += c;
  }
  line += '\n';
  write_str(fd_, line);
}

void Report::fail(const std::string& what) {
  ++failures_;
  send('F', what);
}

void Report::note(const std::string& what) { send('N', what); }

bool Report::check(bool ok, const std::string& what) {
  if (!ok) fail(what);
  return ok;
}

namespace {

// within(): the deadline is an interval timer, not a watchdog thread, so
// that it works where no thread can be started (RLIMIT_NPROC scenarios).
// On expiry the handler writes the prepared failure and the end marker and
// ends the process (async-signal-safe: write and _exit only).
int g_alarm_fd = -1;
char g_alarm_message[1024];
size_t g_alarm_length = 0;

extern "C" void on_deadline(int) {
  [[maybe_unused]] const ssize_t n = ::write(g_alarm_fd, g_alarm_message, g_alarm_length);
  ::_exit(0);
}

}  // namespace

bool Report::within(std::chrono::milliseconds timeout, const std::string& what,
                    const std::function<void()>& fn) {
  std::string message =
      "F hang: " + what + " did not return within " + std::to_string(timeout.count()) + " ms";
  for (size_t at; (at = message.find('\n')) != std::string::npos;) message.replace(at, 1, " ");
  message = message.substr(0, sizeof g_alarm_message - 4) + "\nX\n";
  std::memcpy(g_alarm_message, message.data(), message.size());
  g_alarm_length = message.size();
  g_alarm_fd = fd_;
  struct sigaction sa {
  }, old{};
  sa.sa_handler = on_deadline;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGALRM, &sa, &old);
  itimerval timer{};
  timer.it_value.tv_sec = timeout.count() / 1000;
  timer.it_value.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setitimer(ITIMER_REAL, &timer, nullptr);
  std::string error;
  try {
    fn();
  } catch (...) {
    error = describe_current_exception();
  }
  const itimerval off{};
  ::setitimer(ITIMER_REAL, &off, nullptr);
  ::sigaction(SIGALRM, &old, nullptr);
  if (!error.empty()) {
    fail(what + " threw " + error);
    return false;
  }
  return true;
}

// ---- isolated -------------------------------------------------------------------------

Outcome isolated(std::chrono::milliseconds timeout, const std::function<void(Report&)>& body) {
  Outcome out;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    out.failures.push_back(std::string("pipe2: ") + std::strerror(errno));
    return out;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    out.failures.push_back(std::string("fork: ") + std::strerror(errno));
    ::close(p[0]);
    ::close(p[1]);
    return out;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::close(p[0]);
    Report r(p[1]);
    try {
      body(r);
    } catch (...) {
      r.fail("exception escaped the scenario: " + describe_current_exception());
    }
    const pid_t self = ::getpid();
    for (const auto& line : summarize(leftovers_after(self, 3s))) r.fail("left behind: " + line);
    for (pid_t d : descendants(self)) ::kill(d, SIGKILL);
    write_str(p[1], "E\n");
    ::_exit(0);
  }
  ::setpgid(pid, pid);  // either side may win the race; both ask for the same
  ::close(p[1]);

  const auto deadline = clock::now() + timeout;
  std::string buffer;
  bool marker = false;
  while (!marker) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) {
      out.timed_out = true;
      break;
    }
    pollfd pf{p[0], POLLIN, 0};
    const int rc = ::poll(&pf, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the process is gone (crash) or closed the pipe
    buffer.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      std::string text = line.size() > 2 ? line.substr(2) : std::string();
      for (size_t at; (at = text.find("\\n")) != std::string::npos;) text.replace(at, 2, "\n");
      if (line[0] == 'F') out.failures.push_back(text);
      if (line[0] == 'N') out.notes.push_back(text);
      if (line[0] == 'E' || line[0] == 'X') {
        out.finished = true;
        marker = true;
      }
    }
  }
  ::close(p[0]);
  // The process ends at once after its marker; give it until the deadline
  // (plus a moment), then kill the whole group.
  const auto reap_deadline = std::max(deadline, clock::now()) + 2s;
  int status = 0;
  bool reaped = false;
  while (!reaped) {
    if (out.timed_out || clock::now() > reap_deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      reaped = true;
      break;
    }
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) reaped = true;
    else std::this_thread::sleep_for(2ms);
  }
  ::kill(-pid, SIGKILL);  // stragglers of the group (never a process outside it)
  if (WIFEXITED(status)) {
    out.ended = "exit code " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    out.ended =
        std::string("killed by SIG") + (name != nullptr ? name : std::to_string(WTERMSIG(status)).c_str());
  }
  return out;
}

namespace {

std::string last_note(const Outcome& o) { return o.notes.empty() ? std::string("(none)") : o.notes.back(); }

}  // namespace

void expect_passed(const Outcome& o) {
  if (const char* v = std::getenv("TASKPORT_HOSTILE_VERBOSE"); v != nullptr && *v == '1') {
    for (const auto& n : o.notes) std::printf("note: %s\n", n.c_str());
  }
  for (const auto& f : o.failures) ADD_FAILURE() << f;
  if (o.timed_out) {
    ADD_FAILURE() << "hang: the scenario did not finish in time (process group killed); last note: "
                  << last_note(o);
  } else if (!o.finished) {
    ADD_FAILURE() << "the scenario process ended early (" << o.ended << "); last note: " << last_note(o);
  }
}

void forward(Report& r, const Outcome& o, const std::string& prefix) {
  for (const auto& f : o.failures) r.fail(prefix + f);
  if (o.timed_out) r.fail(prefix + "hang: did not finish in time; last note: " + last_note(o));
  else if (!o.finished) r.fail(prefix + "process ended early (" + o.ended + "); last note: " + last_note(o));
}

// ---- /proc ------------------------------------------------------------------------------

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// State letter and comm from a stat line; state '?' if unreadable.
char stat_state(const std::string& stat, std::string* comm = nullptr, pid_t* ppid = nullptr) {
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) return '?';
  if (comm != nullptr) *comm = stat.substr(open + 1, close - open - 1);
  if (ppid != nullptr) *ppid = static_cast<pid_t>(std::strtol(stat.c_str() + close + 3, nullptr, 10));
  return stat[close + 2];
}

std::vector<int> numeric_entries(const std::string& dir) {
  std::vector<int> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.push_back(std::atoi(e->d_name));
  }
  ::closedir(d);
  return out;
}

}  // namespace

std::map<pid_t, char> thread_states(pid_t pid) {
  std::map<pid_t, char> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  for (int tid : numeric_entries(dir))
    out[tid] = stat_state(read_text(dir + "/" + std::to_string(tid) + "/stat"));
  return out;
}

std::vector<std::string> threads_in_state(pid_t pid, const std::string& states) {
  std::vector<std::string> out;
  for (const auto& [tid, state] : thread_states(pid)) {
    if (states.find(state) != std::string::npos) out.push_back(std::to_string(tid) + ":" + state);
  }
  return out;
}

char process_state(pid_t pid) { return stat_state(read_text("/proc/" + std::to_string(pid) + "/stat")); }

std::set<pid_t> descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;  // ppid -> pid
  for (int pid : numeric_entries("/proc")) {
    pid_t ppid = -1;
    if (stat_state(read_text("/proc/" + std::to_string(pid) + "/stat"), nullptr, &ppid) != '?')
      children.emplace(ppid, pid);
  }
  std::set<pid_t> out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    auto [b, e] = children.equal_range(p);
    for (auto it = b; it != e; ++it) {
      if (out.insert(it->second).second) todo.push_back(it->second);
    }
  }
  return out;
}

std::string Leftover::to_string() const {
  std::string s = "pid " + std::to_string(pid);
  if (tid != pid) s += " thread " + std::to_string(tid);
  s += " (" + comm + ") in state ";
  s += state;
  s += state == 'Z' ? " (zombie)" : state == 't' ? " (ptrace stop)" : " (stopped)";
  return s;
}

std::vector<Leftover> leftover_processes(pid_t root) {
  std::vector<Leftover> out;
  for (pid_t pid : descendants(root)) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    for (int tid : numeric_entries(dir)) {
      std::string comm;
      const char state = stat_state(read_text(dir + "/" + std::to_string(tid) + "/stat"), &comm);
      if (state == 't' || state == 'T' || state == 'Z') out.push_back({pid, tid, state, comm});
    }
  }
  return out;
}

std::vector<std::string> summarize(const std::vector<Leftover>& leftovers) {
  std::map<pid_t, std::vector<const Leftover*>> by_pid;
  for (const auto& l : leftovers) by_pid[l.pid].push_back(&l);
  std::vector<std::string> out;
  for (const auto& [pid, items] : by_pid) {
    std::string line;
    std::map<char, std::vector<pid_t>> threads;  // state -> tids other than the leader
    for (const Leftover* l : items) {
      if (l->tid == pid) line = l->to_string();
      else threads[l->state].push_back(l->tid);
    }
    if (line.empty()) line = "pid " + std::to_string(pid) + " (" + items.front()->comm + ")";
    for (const auto& [state, tids] : threads) {
      line += "; " + std::to_string(tids.size()) + " of its threads in state " + std::string(1, state) + ":";
      for (size_t i = 0; i < tids.size() && i < 10; ++i) line += " " + std::to_string(tids[i]);
      if (tids.size() > 10) line += " ...";
    }
    out.push_back(line);
  }
  return out;
}

std::vector<Leftover> leftovers_after(pid_t root, std::chrono::milliseconds grace) {
  std::vector<Leftover> left;
  eventually(
      [&] {
        left = leftover_processes(root);
        return left.empty();
      },
      grace);
  return left;
}

bool is_reaped(pid_t pid) {
  siginfo_t info{};
  const int r =
      ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT);
  return r == -1 && errno == ECHILD;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  while (true) {
    if (pred()) return true;
    if (clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(pause);
    if (pause < 10ms) pause *= 2;
  }
}

// ---- descriptors -------------------------------------------------------------------

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  const int own = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd != own) fds.insert(fd);
  }
  ::closedir(d);
  return fds;
}

std::string describe_fds(const std::set<int>& fds) {
  std::string s;
  for (int fd : fds) {
    char target[512];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (!s.empty()) s += ", ";
    s += std::to_string(fd) + " -> " + (n > 0 ? std::string(target, static_cast<size_t>(n)) : "?");
  }
  return s;
}

std::set<int> leaked_since(const std::set<int>& before, std::chrono::milliseconds grace) {
  std::set<int> leaked;
  eventually(
      [&] {
        leaked.clear();
        for (int fd : open_fds())
          if (before.count(fd) == 0) leaked.insert(fd);
        return leaked.empty();
      },
      grace);
  return leaked;
}

bool is_out_of_descriptors(int error) { return error == EMFILE || error == ENFILE; }

FdExhaustion::FdExhaustion(int free_slots) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    error_ = std::string("getrlimit: ") + std::strerror(errno);
    return;
  }
  old_soft_ = lim.rlim_cur;
  old_hard_ = lim.rlim_max;
  const std::set<int> fds = open_fds();
  const int highest = fds.empty() ? 2 : *fds.rbegin();
  rlimit low = lim;
  low.rlim_cur = static_cast<rlim_t>(highest + 1 + free_slots + 16);
  if (low.rlim_cur > lim.rlim_cur) {
    error_ = "RLIMIT_NOFILE too low to leave " + std::to_string(free_slots) + " descriptors free";
    return;
  }
  if (::setrlimit(RLIMIT_NOFILE, &low) != 0) {
    error_ = std::string("setrlimit: ") + std::strerror(errno);
    return;
  }
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0) {
    error_ = std::string("open /dev/null: ") + std::strerror(errno);
    return;
  }
  fillers_.push_back(null);
  while (true) {
    const int fd = ::fcntl(null, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) break;
    fillers_.push_back(fd);
  }
  std::sort(fillers_.begin(), fillers_.end());
  // Free the lowest numbers: the kernel hands out the lowest free one first.
  for (int k = 0; k < free_slots && !fillers_.empty(); ++k) {
    ::close(fillers_.front());
    fillers_.erase(fillers_.begin());
  }
  ok_ = true;
}

void FdExhaustion::release() {
  for (int fd : fillers_) ::close(fd);
  fillers_.clear();
}

FdExhaustion::~FdExhaustion() {
  release();
  if (old_soft_ != 0) {
    rlimit lim{static_cast<rlim_t>(old_soft_), static_cast<rlim_t>(old_hard_)};
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// ---- users ----------------------------------------------------------------------

std::string drop_to(uid_t uid, gid_t gid) {
  if (::setgroups(0, nullptr) != 0) return std::string("setgroups: ") + std::strerror(errno);
  if (::setresgid(gid, gid, gid) != 0) return std::string("setresgid: ") + std::strerror(errno);
  if (::setresuid(uid, uid, uid) != 0) return std::string("setresuid: ") + std::strerror(errno);
  return std::string();
}

// ---- targets ----------------------------------------------------------------------

Target spawn_target(Report& r, const std::vector<std::string>& args) {
  auto [child, task] = taskport::Command(target_path())
                           .args(args)
                           .standard_input(taskport::Stdio::piped())
                           .standard_output(taskport::Stdio::piped())
                           .spawn_with_task();
  child.kill_on_drop(true);
  Target t{std::move(child), std::move(task), {}};
  r.check(read_line(t.child.stdout_pipe().get(), t.pending, 10s) == std::optional<std::string>("ready"),
          "tp_hostile_target did not report ready");
  return t;
}

taskport::Command lifeline_probe(const Lifeline& lifeline) {
  taskport::Command cmd(tp_test::probe_path());
  cmd.arg("--wait-stdin").standard_input(taskport::Stdio::fd(lifeline.read_end));
  return cmd;
}

bool all_in_ptrace_stop(pid_t pid, std::vector<std::string>* others) {
  const auto states = thread_states(pid);
  bool all = !states.empty();
  for (const auto& [tid, state] : states) {
    if (state == 't') continue;
    all = false;
    if (others != nullptr) others->push_back(std::to_string(tid) + ":" + state);
  }
  return all;
}

std::vector<std::string> stopped_threads_after(pid_t pid, std::chrono::milliseconds grace) {
  std::vector<std::string> stuck;
  eventually([&] { return (stuck = threads_in_state(pid, "tT")).empty(); }, grace);
  return stuck;
}

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

namespace {

std::string state_of(pid_t pid) {
  const char s = process_state(pid);
  return s == '?' ? std::string("gone") : std::string(1, s);
}

}  // namespace

void drop_two_children(Report& r, const std::function<std::function<void()>()>& hostile) {
  Lifeline first_line, second_line;
  std::optional<taskport::Child> first(lifeline_probe(first_line).spawn());
  std::optional<taskport::Child> second(lifeline_probe(second_line).spawn());
  const pid_t first_pid = first->pid(), second_pid = second->pid();
  {
    std::function<void()> undo = hostile();
    first.reset();  // the first hand-off to the reaper
    undo();
  }
  second.reset();  // a hand-off once conditions are normal again
  first_line.cut();
  second_line.cut();
  const bool second_reaped = eventually([&] { return is_reaped(second_pid); }, 5s);
  r.check(second_reaped, "a child dropped after the failed first hand-off was never reaped (state " +
                             state_of(second_pid) + "): the reaper stopped for good");
  const bool first_reaped = eventually([&] { return is_reaped(first_pid); }, 5s);
  r.check(first_reaped, "the child dropped while the reaper could not start was never reaped (state " +
                            state_of(first_pid) + ")");
}

// ---- rendezvous senders -------------------------------------------------------------

Sender spawn_sender(taskport::Rendezvous& rdv, std::initializer_list<std::string> args) {
  taskport::Command cmd(sender_path());
  cmd.args(args).standard_input(taskport::Stdio::piped()).standard_output(taskport::Stdio::piped());
  rdv.prepare(cmd);
  Sender s{cmd.spawn(), {}};
  s.child.kill_on_drop(true);
  return s;
}

std::string value_of(Report& r, Sender& s, const std::string& key) {
  const auto line = read_line(s.child.stdout_pipe().get(), s.pending, 10s);
  if (!line || line->compare(0, key.size() + 1, key + " ") != 0) {
    r.fail("tp_hostile_sender: expected '" + key + " ...', got '" + line.value_or("(nothing)") + "'");
    return std::string();
  }
  return line->substr(key.size() + 1);
}

bool expect_line(Report& r, Sender& s, const std::string& expected) {
  const auto line = read_line(s.child.stdout_pipe().get(), s.pending, 10s);
  return r.check(line == expected,
                 "tp_hostile_sender: expected '" + expected + "', got '" + line.value_or("(nothing)") + "'");
}

// ---- small things ---------------------------------------------------------------

Lifeline::Lifeline() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) == 0) {
    read_end = p[0];
    write_end = p[1];
  }
}

Lifeline::~Lifeline() {
  cut();
  if (read_end >= 0) ::close(read_end);
}

void Lifeline::cut() {
  if (write_end >= 0) ::close(write_end);
  write_end = -1;
}

std::optional<std::string> read_line(int fd, std::string& buffer, std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (true) {
    const size_t nl = buffer.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buffer.append(buf, static_cast<size_t>(n));
  }
}

std::string drain(int fd, std::chrono::milliseconds wait) {
  std::string out;
  const auto deadline = clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return out;
    char buf[65536];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

void write_str(int fd, const std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string describe_current_exception() {
  try {
    throw;
  } catch (const taskport::Error& e) {
    const char* name = strerrorname_np(e.errno_value());
    return std::string("taskport::Error(") +
           (name != nullptr ? name : std::to_string(e.errno_value()).c_str()) + ", step " +
           taskport::to_string(e.step()) + "): " + e.what();
  } catch (const std::system_error& e) {
    return std::string("a bare std::system_error (not taskport::Error; errno ") +
           std::to_string(e.code().value()) + "): " + e.what();
  } catch (const std::exception& e) {
    return std::string("a ") + typeid(e).name() + " (not taskport::Error): " + e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace tp_hostile
