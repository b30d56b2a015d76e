// SPDX-License-Identifier: MIT
#include "snapshot.hpp"

#include <cinttypes>
#include <cstdio>
#include <map>

#include <taskport/error.hpp>

namespace taskport_cli {
namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string bytes_human(std::uint64_t n) {
  char buf[32];
  if (n >= (1ULL << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(n) / (1ULL << 30));
  else if (n >= (1ULL << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1ULL << 20));
  else if (n >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  else std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
  return buf;
}

std::string seconds(std::chrono::nanoseconds ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(ns.count()) / 1e9);
  return buf;
}

std::string prot(const taskport::Region& r) {
  std::string p;
  p += r.protection.read ? 'r' : '-';
  p += r.protection.write ? 'w' : '-';
  p += r.protection.execute ? 'x' : '-';
  p += r.shared ? 's' : 'p';
  return p;
}

template <class F>
void section(Snapshot& s, const char* name, F&& f) {
  try {
    f();
  } catch (const taskport::Error& e) {
    s.errors.push_back(std::string(name) + ": " + e.what());
  }
}

// The first mapping of the program's own file: its first bytes are the ELF
// header, a value anyone can check with `head -c 16 FILE | xxd`.
void sample_memory(Snapshot& s, taskport::Task& task) {
  for (const auto& r : s.regions) {
    if (r.kind != taskport::RegionKind::file || r.offset != 0 || !r.protection.read) continue;
    MemorySample m;
    m.address = r.start;
    m.what = "start of " + r.path;
    m.bytes.resize(16);
    task.read(r.start, m.bytes.data(), m.bytes.size());
    s.memory = std::move(m);
    return;
  }
}

struct KindTotal {
  std::size_t count = 0;
  std::uint64_t bytes = 0;
};

std::map<std::string, KindTotal> totals_by_kind(const std::vector<taskport::Region>& regions) {
  std::map<std::string, KindTotal> out;
  for (const auto& r : regions) {
    auto& t = out[taskport::to_string(r.kind)];
    ++t.count;
    t.bytes += r.size();
  }
  return out;
}

template <class T>
void opt_field(JsonObject& o, const char* key, const std::optional<T>& v) {
  if (v) o.field(key, static_cast<long long>(*v));
  else o.null_field(key);
}

void opt_ns_field(JsonObject& o, const char* key, const std::optional<std::chrono::nanoseconds>& v) {
  if (v) o.field(key, static_cast<long long>(v->count()));
  else o.null_field(key);
}

std::string opt_bytes(const std::optional<std::uint64_t>& v) { return v ? bytes_human(*v) : "n/a"; }
std::string opt_count(const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "n/a"; }

}  // namespace

Snapshot take_snapshot(taskport::Task& task) {
  Snapshot s;
  s.handle = describe(task);
  bool we_suspended = false;
  section(s, "suspend", [&] {
    if (task.suspend_count() == 0) {
      task.suspend();
      we_suspended = true;
    }
  });
  section(s, "info", [&] { s.info = task.info(); });
  section(s, "threads", [&] { s.threads = task.threads(); });
  section(s, "regions", [&] { s.regions = task.regions(); });
#if defined(__x86_64__) || defined(__aarch64__)
  if (task.suspend_count() > 0) section(s, "registers", [&] { s.registers = task.registers(task.pid()); });
#endif
  section(s, "memory", [&] { sample_memory(s, task); });
  if (we_suspended) section(s, "resume", [&] { task.resume(); });
  return s;
}

void print_snapshot(const Snapshot& s) {
#if defined(__x86_64__) || defined(__aarch64__)
  if (s.registers) {
    std::printf("  registers   pc %s  sp %s  fp %s (main thread)\n",
                hex(s.registers->program_counter()).c_str(), hex(s.registers->stack_pointer()).c_str(),
                hex(s.registers->frame_pointer()).c_str());
  }
#endif
  if (s.memory) {
    std::printf("  memory      %s:", hex(s.memory->address).c_str());
    for (unsigned char b : s.memory->bytes) std::printf(" %02x", b);
    std::printf("  (%s)\n", s.memory->what.c_str());
  }
  if (s.info) {
    const auto& i = *s.info;
    std::printf("usage:\n");
    std::printf("  memory      virtual %s, resident %s (peak %s; anonymous %s, file %s), swapped %s\n",
                opt_bytes(i.virtual_size).c_str(), opt_bytes(i.resident_size).c_str(),
                opt_bytes(i.resident_size_peak).c_str(), opt_bytes(i.resident_anonymous).c_str(),
                opt_bytes(i.resident_file).c_str(), opt_bytes(i.swapped).c_str());
    std::printf("  cpu         user %s, system %s\n", i.user_time ? seconds(*i.user_time).c_str() : "n/a",
                i.system_time ? seconds(*i.system_time).c_str() : "n/a");
    std::printf(
        "  events      faults %s minor / %s major, switches %s voluntary / %s involuntary, syscalls %s read "
        "/ %s write\n",
        opt_count(i.minor_faults).c_str(), opt_count(i.major_faults).c_str(),
        opt_count(i.voluntary_switches).c_str(), opt_count(i.involuntary_switches).c_str(),
        opt_count(i.syscalls_read).c_str(), opt_count(i.syscalls_write).c_str());
  }
  if (!s.threads.empty()) {
    std::printf("threads (%zu):\n", s.threads.size());
    for (const auto& t : s.threads) {
      std::printf("  %-8d %-16s %-14s user %s, system %s\n", t.tid, t.name.c_str(),
                  taskport::to_string(t.state), seconds(t.user_time).c_str(), seconds(t.system_time).c_str());
    }
  }
  if (!s.regions.empty()) {
    std::uint64_t total = 0;
    for (const auto& r : s.regions) total += r.size();
    std::printf("regions (%zu mappings, %s):\n", s.regions.size(), bytes_human(total).c_str());
    for (const auto& [kind, t] : totals_by_kind(s.regions)) {
      std::printf("  %-10s %4zu mappings %10s\n", kind.c_str(), t.count, bytes_human(t.bytes).c_str());
    }
    for (const auto& r : s.regions) {
      if (r.kind == taskport::RegionKind::file && r.protection.execute) {
        std::printf("  code       %s-%s %s %s\n", hex(r.start).c_str(), hex(r.end).c_str(), prot(r).c_str(),
                    r.path.c_str());
      }
    }
  }
  for (const auto& e : s.errors) std::printf("  (%s)\n", e.c_str());
  std::fflush(stdout);
}

namespace {

void add_registers(JsonObject& o, const Snapshot& s) {
#if defined(__x86_64__) || defined(__aarch64__)
  if (s.registers) {
    JsonObject r;
    r.field("pc", hex(s.registers->program_counter()))
        .field("sp", hex(s.registers->stack_pointer()))
        .field("fp", hex(s.registers->frame_pointer()));
    o.field("registers", r);
  } else {
    o.null_field("registers");
  }
#else
  (void)o;
  (void)s;
#endif
}

void add_memory(JsonObject& o, const Snapshot& s) {
  if (!s.memory) {
    o.null_field("memory");
    return;
  }
  std::string bytes;
  for (unsigned char b : s.memory->bytes) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x", b);
    bytes += buf;
  }
  JsonObject m;
  m.field("address", hex(s.memory->address)).field("what", s.memory->what).field("bytes_hex", bytes);
  o.field("memory", m);
}

void add_info(JsonObject& o, const Snapshot& s) {
  if (!s.info) {
    o.null_field("info");
    return;
  }
  const auto& i = *s.info;
  JsonObject j;
  opt_field(j, "virtual_size", i.virtual_size);
  opt_field(j, "resident_size", i.resident_size);
  opt_field(j, "resident_size_peak", i.resident_size_peak);
  opt_field(j, "resident_anonymous", i.resident_anonymous);
  opt_field(j, "resident_file", i.resident_file);
  opt_field(j, "swapped", i.swapped);
  opt_ns_field(j, "user_time_ns", i.user_time);
  opt_ns_field(j, "system_time_ns", i.system_time);
  opt_field(j, "thread_count", i.thread_count);
  opt_field(j, "minor_faults", i.minor_faults);
  opt_field(j, "major_faults", i.major_faults);
  opt_field(j, "voluntary_switches", i.voluntary_switches);
  opt_field(j, "involuntary_switches", i.involuntary_switches);
  opt_field(j, "syscalls_read", i.syscalls_read);
  opt_field(j, "syscalls_write", i.syscalls_write);
  o.field("info", j);
}

void add_threads(JsonObject& o, const Snapshot& s) {
  std::string threads = "[";
  for (const auto& t : s.threads) {
    JsonObject j;
    j.field("tid", static_cast<long long>(t.tid))
        .field("name", t.name)
        .field("state", taskport::to_string(t.state))
        .field("user_time_ns", static_cast<long long>(t.user_time.count()))
        .field("system_time_ns", static_cast<long long>(t.system_time.count()));
    threads += (threads.size() > 1 ? "," : "") + j.str();
  }
  o.raw_field("threads", threads + "]");
}

void add_regions(JsonObject& o, const Snapshot& s) {
  JsonObject regions;
  std::uint64_t total = 0;
  for (const auto& r : s.regions) total += r.size();
  regions.field("count", static_cast<long long>(s.regions.size()))
      .field("bytes", static_cast<long long>(total));
  JsonObject by_kind;
  for (const auto& [kind, t] : totals_by_kind(s.regions)) {
    JsonObject k;
    k.field("count", static_cast<long long>(t.count)).field("bytes", static_cast<long long>(t.bytes));
    by_kind.field(kind, k);
  }
  regions.field("by_kind", by_kind);
  o.field("regions", regions);
}

}  // namespace

JsonObject snapshot_json(const Snapshot& s) {
  JsonObject o;
  add_registers(o, s);
  add_memory(o, s);
  add_info(o, s);
  add_threads(o, s);
  add_regions(o, s);
  std::string errors = "[";
  for (const auto& e : s.errors) errors += (errors.size() > 1 ? "," : "") + json_quote(e);
  o.raw_field("errors", errors + "]");
  return o;
}

}  // namespace taskport_cli
