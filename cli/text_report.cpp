// SPDX-License-Identifier: MIT
// The text report of `run` and `inspect`: each snapshot as one block a
// person reads at a glance — usage, the threads with state and CPU
// (busiest first), the regions with the most resident memory, what changed
// since the snapshot before, and the parts that were refused or failed.
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include "format.hpp"
#include "report.hpp"

namespace taskport_cli {
namespace {

constexpr std::size_t kThreadsShown = 8;
constexpr std::size_t kRegionsShown = 5;
constexpr std::size_t kTidsListed = 8;

// printf into a std::string.
template <class... A>
std::string line(const char* format, A... args) {
  const int n = std::snprintf(nullptr, 0, format, args...);
  if (n <= 0) return std::string();
  std::string out(static_cast<std::size_t>(n) + 1, '\0');
  std::snprintf(&out[0], out.size(), format, args...);
  out.pop_back();
  return out;
}

// Why `run` took snapshot `s`.
std::string run_trigger(const RunOptions& o, const Snapshot& s) {
  switch (s.trigger) {
    case Trigger::start:
      return !o.suspended    ? "start, right after execve"
             : o.via_preload ? "start, suspended before main, in the preload's initializer"
                             : "start, suspended before its first instruction";
    case Trigger::at: return "--at";
    case Trigger::every: return "every " + duration_words(*o.every);
    case Trigger::exit: return "at exit, held there";
  }
  return "?";
}

std::string title(const Snapshot& s, const std::string& why, std::chrono::steady_clock::time_point start) {
  return line("snapshot %d at +%s (%s)%s\n", s.index, seconds(s.taken - start).c_str(), why.c_str(),
              s.suspended ? ":" : ", not suspended:");
}

std::string usage(const taskport::TaskInfo& i) {
  const auto b = [](const std::optional<std::uint64_t>& v) {
    return v ? bytes_human(*v) : std::string("n/a");
  };
  const auto n = [](const std::optional<std::uint64_t>& v) {
    return v ? std::to_string(*v) : std::string("n/a");
  };
  const auto t = [](const std::optional<std::chrono::nanoseconds>& v) {
    return v ? seconds(*v) : std::string("n/a");
  };
  return line("  usage       resident %s (peak %s; anonymous %s, file %s), virtual %s, swapped %s\n",
              b(i.resident_size).c_str(), b(i.resident_size_peak).c_str(), b(i.resident_anonymous).c_str(),
              b(i.resident_file).c_str(), b(i.virtual_size).c_str(), b(i.swapped).c_str()) +
         line("  cpu         user %s, system %s\n", t(i.user_time).c_str(), t(i.system_time).c_str()) +
         line(
             "  events      faults %s minor / %s major, switches %s voluntary / %s involuntary, "
             "syscalls %s read / %s write\n",
             n(i.minor_faults).c_str(), n(i.major_faults).c_str(), n(i.voluntary_switches).c_str(),
             n(i.involuntary_switches).c_str(), n(i.syscalls_read).c_str(), n(i.syscalls_write).c_str());
}

std::string threads(const std::vector<taskport::ThreadInfo>& all) {
  std::vector<const taskport::ThreadInfo*> busiest;
  busiest.reserve(all.size());
  for (const auto& t : all) busiest.push_back(&t);
  std::stable_sort(busiest.begin(), busiest.end(), [](const auto* a, const auto* b) {
    return a->user_time + a->system_time > b->user_time + b->system_time;
  });
  std::string out = line("  threads (%zu)%s:\n", all.size(), all.size() > 1 ? ", busiest first" : "");
  for (std::size_t k = 0; k < busiest.size() && k < kThreadsShown; ++k) {
    const auto& t = *busiest[k];
    out += line("    %-8d %-16s %-13s user %s  system %s\n", t.tid, printable(t.name).c_str(),
                taskport::to_string(t.state), seconds(t.user_time).c_str(), seconds(t.system_time).c_str());
  }
  if (busiest.size() > kThreadsShown) out += line("    … and %zu more\n", busiest.size() - kThreadsShown);
  return out;
}

std::string regions(const std::vector<taskport::Region>& all) {
  const RegionTotals sum = totals(all);
  std::string out = line("  regions (%zu mappings, %s", all.size(), bytes_human(sum.bytes).c_str());
  if (sum.resident) out += ", resident " + bytes_human(*sum.resident);
  const auto largest = largest_resident(all, kRegionsShown);
  out += largest.empty() ? "):\n" : "), largest resident:\n";
  for (const taskport::Region* r : largest) {
    std::string row = line("    %10s  %s  %-9s %s-%s %s", bytes_human(*r->resident_bytes).c_str(),
                           permissions(*r).c_str(), taskport::to_string(r->kind), hex(r->start).c_str(),
                           hex(r->end).c_str(), printable(r->path).c_str());
    while (row.back() == ' ') row.pop_back();  // an anonymous mapping has no path
    out += row + "\n";
  }
  return out;
}

std::string tid_list(const std::vector<pid_t>& tids) {
  std::string out;
  for (std::size_t k = 0; k < tids.size() && k < kTidsListed; ++k)
    out += (k ? " " : "") + std::to_string(tids[k]);
  if (tids.size() > kTidsListed) out += " …";
  return out;
}

std::string changes(const Snapshot& before, const Snapshot& now) {
  const Changes c = changes_between(before, now);
  std::string out = line("  changed     since snapshot %d (%s ago):", before.index,
                         seconds(now.taken - before.taken).c_str());
  if (c.born && c.ended) {
    out += line(" threads %zu born", c.born->size());
    if (!c.born->empty()) out += " (" + tid_list(*c.born) + ")";
    out += line(", %zu ended", c.ended->size());
    if (!c.ended->empty()) out += " (" + tid_list(*c.ended) + ")";
    out += ";";
  }
  if (c.resident_delta) {
    out += " resident " + signed_bytes_human(*c.resident_delta) + " (" +
           bytes_human(*before.info->resident_size) + " → " + bytes_human(*now.info->resident_size) + ")";
  }
  return out + "\n";
}

// "taskport: 'pid 42': read /proc/42/smaps: Permission denied" without
// what the report says already.
std::string without_prefix(std::string message) {
  constexpr std::string_view kPrefix = "taskport: ";
  if (message.compare(0, kPrefix.size(), kPrefix) == 0) message.erase(0, kPrefix.size());
  return message;
}

// The parts of a snapshot that could not be taken: "refused" where the
// kernel denied the access (EPERM, EACCES), "failed" for anything else.
// Each reason is given in full once; when it comes again (every snapshot of
// another user's process is refused the same way) the part is only named.
class Problems {
 public:
  std::string lines(const std::vector<SectionError>& errors) {
    std::string out, again[2];
    for (const auto& e : errors) {
      const bool refused = e.errno_value == EPERM || e.errno_value == EACCES;
      if (!said_.insert(e.section + '\0' + e.message).second) {
        again[refused] += (again[refused].empty() ? "" : ", ") + e.section;
        continue;
      }
      out += line("  %-11s %s: %s\n", refused ? "refused" : "failed", e.section.c_str(),
                  printable(without_prefix(e.message)).c_str());
    }
    for (int refused = 0; refused < 2; ++refused) {
      if (!again[refused].empty())
        out += line("  %-11s %s (as before)\n", refused ? "refused" : "failed", again[refused].c_str());
    }
    return out;
  }

 private:
  std::set<std::string> said_;
};

// The command line as the process holds it, when it is not what was given
// (a program may rewrite its argv).
std::string command(const RunOptions& o, const Snapshot& s) {
  if (s.command_line.empty() || s.command_line == o.argv) return std::string();
  std::string out = "  command    ";
  for (const auto& a : s.command_line) out += " " + printable(a);
  return out + "\n";
}

std::string start_details(const Snapshot& s) {
  std::string out;
#if defined(__x86_64__) || defined(__aarch64__)
  if (s.registers) {
    const std::string whose = s.trigger == Trigger::exit ? line("thread %d, at its exit", s.registers_tid)
                                                         : std::string("main thread");
    out += line("  registers   pc %s  sp %s  fp %s (%s)\n", hex(s.registers->program_counter()).c_str(),
                hex(s.registers->stack_pointer()).c_str(), hex(s.registers->frame_pointer()).c_str(),
                whose.c_str());
  }
#endif
  if (s.memory) {
    out += "  memory      " + hex(s.memory->address) + ":";
    for (unsigned char b : s.memory->bytes) out += line(" %02x", b);
    out += "  (" + printable(s.memory->what) + ")\n";
  }
  return out;
}

// A snapshot as one block, after its title line.
std::string block(const Snapshot& now, const Snapshot* previous, const std::string& title_line,
                  Problems& problems) {
  std::string out = title_line + start_details(now);
  if (now.info) out += usage(*now.info);
  if (!now.threads.empty()) out += threads(now.threads);
  if (!now.regions.empty()) out += regions(now.regions);
  if (previous != nullptr) out += changes(*previous, now);
  return out + problems.lines(now.errors);
}

class TextReporter : public Reporter {
 public:
  TextReporter(const RunOptions& o, LineRelay& out) : options_(o), out_(out) {}

  void spawned(const SpawnFacts& f) override {
    start_ = f.start;
    emit(line("spawned     %s\n", printable(f.argv[0]).c_str()) + line("pid         %d\n", f.pid) +
         line("handle      %s %lld\n", f.handle_kind.c_str(), f.handle));
  }

  void snapshot(const Snapshot& now, const Snapshot* previous) override {
    emit(block(now, previous, title(now, run_trigger(options_, now), start_) + command(options_, now),
               problems_));
  }

  void exited(const taskport::ExitStatus& status, int /*exit_code*/) override {
    emit("exit        " + status.to_string() + "\n");
  }

  void failed(const Failure& failure, int /*exit_code*/) override {
    (void)write_all(STDERR_FILENO, failure_line(failure));
  }

 private:
  // One write(2) per block, never after an unfinished line of the child's.
  void emit(const std::string& block) {
    (void)write_all(STDOUT_FILENO, (out_.mid_line() ? "\n" : "") + block);
    out_.line_ended_elsewhere();
  }

  const RunOptions& options_;
  LineRelay& out_;
  std::chrono::steady_clock::time_point start_;
  Problems problems_;
};

const char* signal_name(int signo) {
  switch (signo) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
  }
  return "a signal";
}

std::string words(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + printable(a);
  return out;
}

class InspectTextReporter : public InspectReporter {
 public:
  explicit InspectTextReporter(const InspectOptions& o) : options_(o) {}

  void opened(const OpenFacts& f) override {
    start_ = f.start;
    std::string out = line("inspecting  pid %d\n", f.pid);
    if (f.executable) out += "program     " + printable(*f.executable) + "\n";
    if (f.argv) out += "argv        " + words(*f.argv) + "\n";
    out += line("handle      %s %lld\n", f.handle_kind.c_str(), f.handle);
    emit(out + problems_.lines(f.errors));
  }

  void snapshot(const Snapshot& now, const Snapshot* previous) override {
    const std::string why = now.trigger == Trigger::start ? "start, right after the open"
                                                          : "every " + duration_words(*options_.every);
    emit(block(now, previous, title(now, why, start_), problems_));
  }

  void ended(const EndFacts& e, int /*exit_code*/) override {
    const std::string taken = line("%d snapshot%s", e.snapshots, e.snapshots == 1 ? "" : "s");
    switch (e.reason) {
      case EndReason::completed: emit("end         " + taken + ", as asked\n"); break;
      case EndReason::exited: emit("end         the process exited; " + taken + "\n"); break;
      case EndReason::signal:
        emit(std::string("end         ") + signal_name(e.signal.value_or(0)) + " to taskport; " + taken +
             "\n");
        break;
    }
  }

  void failed(const Failure& failure, int /*exit_code*/) override {
    (void)write_all(STDERR_FILENO, failure_line(failure));
  }

 private:
  static void emit(const std::string& text) { (void)write_all(STDOUT_FILENO, text); }

  const InspectOptions& options_;
  std::chrono::steady_clock::time_point start_;
  Problems problems_;
};

}  // namespace

std::string failure_line(const Failure& failure) { return "taskport: " + printable(failure.message) + "\n"; }

Failure failure_of(const taskport::Error& e) {
  // what() says "taskport: 'PROGRAM': step (detail): strerror"; the report
  // adds its own "taskport: ".
  std::string message = without_prefix(e.what());
  return Failure{taskport::to_string(e.step()), e.errno_value(), message, e.program()};
}

std::unique_ptr<Reporter> text_reporter(const RunOptions& options, LineRelay& out) {
  return std::make_unique<TextReporter>(options, out);
}

std::unique_ptr<InspectReporter> inspect_text_reporter(const InspectOptions& options) {
  return std::make_unique<InspectTextReporter>(options);
}

}  // namespace taskport_cli
