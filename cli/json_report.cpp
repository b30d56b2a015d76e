// SPDX-License-Identifier: MIT
// The JSON Lines report (docs/cli-json.md, docs/cli-json.schema.json): one
// object per line, each with the schema version and a monotonic timestamp —
// run: "spawn", each "snapshot", then "exit" or "error"; inspect: "open",
// each "snapshot", then "end" or "error".
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "exit_codes.hpp"
#include "format.hpp"
#include "json.hpp"
#include "report.hpp"

namespace taskport_cli {
namespace {

constexpr int kSchemaVersion = 1;

template <class T>
void optional_number(JsonObject& o, const char* key, const std::optional<T>& v) {
  if (v) o.unsigned_number(key, static_cast<std::uint64_t>(*v));
  else o.null(key);
}

void optional_ns(JsonObject& o, const char* key, const std::optional<std::chrono::nanoseconds>& v) {
  if (v) o.number(key, v->count());
  else o.null(key);
}

JsonObject info_json(const taskport::TaskInfo& i) {
  JsonObject j;
  optional_number(j, "virtual_size", i.virtual_size);
  optional_number(j, "resident_size", i.resident_size);
  optional_number(j, "resident_size_peak", i.resident_size_peak);
  optional_number(j, "resident_anonymous", i.resident_anonymous);
  optional_number(j, "resident_file", i.resident_file);
  optional_number(j, "swapped", i.swapped);
  optional_ns(j, "user_time_ns", i.user_time);
  optional_ns(j, "system_time_ns", i.system_time);
  optional_number(j, "thread_count", i.thread_count);
  optional_number(j, "minor_faults", i.minor_faults);
  optional_number(j, "major_faults", i.major_faults);
  optional_number(j, "voluntary_switches", i.voluntary_switches);
  optional_number(j, "involuntary_switches", i.involuntary_switches);
  optional_number(j, "syscalls_read", i.syscalls_read);
  optional_number(j, "syscalls_write", i.syscalls_write);
  return j;
}

JsonArray threads_json(const std::vector<taskport::ThreadInfo>& threads) {
  JsonArray a;
  for (const auto& t : threads) {
    JsonObject j;
    j.number("tid", t.tid)
        .text("name", t.name)
        .word("state", taskport::to_string(t.state))
        .number("user_time_ns", t.user_time.count())
        .number("system_time_ns", t.system_time.count());
    a.add(j);
  }
  return a;
}

JsonArray regions_json(const std::vector<taskport::Region>& regions) {
  JsonArray a;
  for (const auto& r : regions) {
    char device[24];
    std::snprintf(device, sizeof device, "%02x:%02x", r.device_major, r.device_minor);
    JsonObject j;
    j.word("start", hex(r.start))
        .word("end", hex(r.end))
        .unsigned_number("size", r.size())
        .word("permissions", permissions(r))
        .unsigned_number("offset", r.offset)
        .word("device", device)
        .unsigned_number("inode", r.inode)
        .text("path", r.path)
        .word("kind", taskport::to_string(r.kind));
    optional_number(j, "resident_bytes", r.resident_bytes);
    a.add(j);
  }
  return a;
}

JsonObject summary_json(const std::vector<taskport::Region>& regions) {
  const RegionTotals sum = totals(regions);
  JsonObject j;
  j.unsigned_number("count", regions.size()).unsigned_number("bytes", sum.bytes);
  optional_number(j, "resident_bytes", sum.resident);
  return j;
}

void add_start_details(JsonObject& o, const Snapshot& s) {
#if defined(__x86_64__) || defined(__aarch64__)
  if (s.registers) {
    JsonObject r;
    r.number("tid", s.registers_tid)
        .word("pc", hex(s.registers->program_counter()))
        .word("sp", hex(s.registers->stack_pointer()))
        .word("fp", hex(s.registers->frame_pointer()));
    o.object("registers", r);
  } else {
    o.null("registers");
  }
#else
  o.null("registers");
#endif
  if (!s.memory) {
    o.null("memory");
    return;
  }
  std::string bytes;
  for (unsigned char b : s.memory->bytes) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x", b);
    bytes += buf;
  }
  JsonObject m;
  m.word("address", hex(s.memory->address)).text("what", s.memory->what).word("bytes_hex", bytes);
  o.object("memory", m);
}

JsonArray tids_json(const std::vector<pid_t>& tids) {
  JsonArray a;
  for (pid_t t : tids) a.add_number(t);
  return a;
}

JsonObject changes_json(const Snapshot& before, const Snapshot& now) {
  const Changes c = changes_between(before, now);
  JsonObject j;
  j.number("since_index", before.index);
  if (c.born) j.array("threads_born", tids_json(*c.born));
  else j.null("threads_born");
  if (c.ended) j.array("threads_ended", tids_json(*c.ended));
  else j.null("threads_ended");
  if (c.resident_delta) j.number("resident_delta", *c.resident_delta);
  else j.null("resident_delta");
  return j;
}

JsonArray errors_json(const std::vector<SectionError>& errors) {
  JsonArray a;
  for (const auto& e : errors) {
    JsonObject j;
    j.word("section", e.section)
        .word("step", e.step)
        .number("errno", e.errno_value)
        .text("message", e.message);
    a.add(j);
  }
  return a;
}

JsonObject snapshot_json(const Snapshot& s, const Snapshot* previous) {
  JsonObject o;
  o.number("index", s.index).word("trigger", to_string(s.trigger)).boolean("suspended", s.suspended);
  if (s.info) o.object("info", info_json(*s.info));
  else o.null("info");
  o.texts("command_line", s.command_line);
  o.array("threads", threads_json(s.threads))
      .array("regions", regions_json(s.regions))
      .object("regions_summary", summary_json(s.regions));
  add_start_details(o, s);
  if (previous != nullptr) o.object("changes", changes_json(*previous, s));
  else o.null("changes");
  return o.array("errors", errors_json(s.errors));
}

// "ENOENT" for 2; nullptr where the C library cannot name it.
const char* errno_name(int e) {
#if defined(__GLIBC__)
  return ::strerrorname_np(e);
#else
  (void)e;
  return nullptr;
#endif
}

// The fields every line starts with; `start`: when the spawn (the open)
// returned, if it has.
JsonObject head(const char* event, std::chrono::steady_clock::time_point when,
                const std::optional<std::chrono::steady_clock::time_point>& start) {
  JsonObject o;
  o.number("schema", kSchemaVersion)
      .word("event", event)
      .number("monotonic_ns", std::chrono::nanoseconds(when.time_since_epoch()).count());
  if (start) o.number("elapsed_ns", std::chrono::nanoseconds(when - *start).count());
  else o.null("elapsed_ns");
  return o;
}

JsonObject failure_json(const Failure& f) {
  JsonObject e;
  e.word("step", f.step);
  const char* name = f.errno_value ? errno_name(*f.errno_value) : nullptr;
  if (f.errno_value) e.number("errno", *f.errno_value);
  else e.null("errno");
  if (name != nullptr) e.word("errno_name", name);
  else e.null("errno_name");
  e.text("message", f.message);
  if (f.program) e.text("program", *f.program);
  else e.null("program");
  return e;
}

void emit(const JsonObject& o) { (void)write_all(STDOUT_FILENO, o.str() + "\n"); }

// The error line on stdout, and the "taskport: …" line on stderr.
void emit_failure(const Failure& f, int exit_code,
                  const std::optional<std::chrono::steady_clock::time_point>& start) {
  emit(head("error", std::chrono::steady_clock::now(), start)
           .object("error", failure_json(f))
           .number("exit_status", exit_code));
  (void)write_all(STDERR_FILENO, failure_line(f));
}

JsonObject every_and_count(JsonObject schedule, const std::optional<std::chrono::nanoseconds>& every,
                           const std::optional<long>& count) {
  if (every) schedule.number("every_ns", every->count());
  else schedule.null("every_ns");
  if (count) schedule.number("count", *count);
  else schedule.null("count");
  return schedule;
}

class JsonReporter : public Reporter {
 public:
  explicit JsonReporter(const RunOptions& o) : options_(o) {}

  void spawned(const SpawnFacts& f) override {
    start_ = f.start;
    JsonObject handle;
    handle.word("kind", f.handle_kind).number("value", f.handle);
    JsonArray at;
    for (const auto& d : options_.at) at.add_number(d.count());
    JsonObject schedule;
    schedule.array("at_ns", at);
    JsonObject o = head("spawn", f.start, start_);
    o.text("program", f.argv[0])
        .texts("argv", f.argv)
        .number("pid", f.pid)
        .object("handle", handle)
        .boolean("suspended", options_.suspended)
        .boolean("via_preload", options_.via_preload)
        .object("schedule", every_and_count(schedule, options_.every, options_.count));
    emit(o);
  }

  void snapshot(const Snapshot& now, const Snapshot* previous) override {
    emit(head("snapshot", now.taken, start_).object("snapshot", snapshot_json(now, previous)));
  }

  void exited(const taskport::ExitStatus& status, int exit_code) override {
    JsonObject e;
    if (status.code()) e.number("code", *status.code());
    else e.null("code");
    if (status.signal()) e.number("signal", *status.signal());
    else e.null("signal");
    e.boolean("core_dumped", status.core_dumped()).word("description", status.to_string());
    emit(head("exit", std::chrono::steady_clock::now(), start_)
             .object("exit", e)
             .number("exit_status", exit_code));
  }

  void failed(const Failure& f, int exit_code) override { emit_failure(f, exit_code, start_); }

 private:
  const RunOptions& options_;
  std::optional<std::chrono::steady_clock::time_point> start_;
};

class InspectJsonReporter : public InspectReporter {
 public:
  explicit InspectJsonReporter(const InspectOptions& o) : options_(o) {}

  void opened(const OpenFacts& f) override {
    start_ = f.start;
    JsonObject handle;
    handle.word("kind", f.handle_kind).number("value", f.handle);
    JsonObject o = head("open", f.start, start_);
    o.number("pid", f.pid);
    if (f.start_time) o.unsigned_number("start_time", *f.start_time);
    else o.null("start_time");
    if (f.executable) o.text("executable", *f.executable);
    else o.null("executable");
    if (f.argv) o.texts("argv", *f.argv);
    else o.null("argv");
    o.object("handle", handle)
        .object("schedule", every_and_count(JsonObject(), options_.every, options_.count))
        .array("errors", errors_json(f.errors));
    emit(o);
  }

  void snapshot(const Snapshot& now, const Snapshot* previous) override {
    emit(head("snapshot", now.taken, start_).object("snapshot", snapshot_json(now, previous)));
  }

  void ended(const EndFacts& e, int exit_code) override {
    JsonObject end;
    end.word("reason", to_string(e.reason));
    if (e.signal) end.number("signal", *e.signal);
    else end.null("signal");
    end.number("snapshots", e.snapshots);
    emit(head("end", std::chrono::steady_clock::now(), start_)
             .object("end", end)
             .number("exit_status", exit_code));
  }

  void failed(const Failure& f, int exit_code) override { emit_failure(f, exit_code, start_); }

 private:
  const InspectOptions& options_;
  std::optional<std::chrono::steady_clock::time_point> start_;
};

}  // namespace

std::unique_ptr<Reporter> json_reporter(const RunOptions& options) {
  return std::make_unique<JsonReporter>(options);
}

std::unique_ptr<InspectReporter> inspect_json_reporter(const InspectOptions& options) {
  return std::make_unique<InspectJsonReporter>(options);
}

int report_usage_error(const UsageError& error) {
  const Failure f{"parse options", std::nullopt,
                  error.command + ": " + error.message + " (see 'taskport " + error.command + " --help')",
                  std::nullopt};
  if (error.json) emit_failure(f, kExitTaskportFailed, std::nullopt);
  else (void)write_all(STDERR_FILENO, failure_line(f));
  return kExitTaskportFailed;
}

}  // namespace taskport_cli
