// SPDX-License-Identifier: MIT
#include "snapshot.hpp"

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

namespace taskport_cli {
namespace {

template <class F>
void section(Snapshot& s, const char* name, F&& f) {
  read_part(s.errors, name, std::forward<F>(f));
}

// The first mapping of the program's own file: its first bytes are the ELF
// (Mach-O) header, a value anyone can check with `head -c 16 FILE | xxd`.
void sample_memory(Snapshot& s, const taskport::Task& task) {
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

}  // namespace

const char* to_string(Trigger t) noexcept {
  switch (t) {
    case Trigger::start: return "start";
    case Trigger::at: return "at";
    case Trigger::every: return "every";
    case Trigger::exit: return "exit";
  }
  return "?";
}

Snapshot take_snapshot(taskport::Task& task, int index, Trigger trigger, SnapshotParts parts) {
  Snapshot s;
  s.index = index;
  s.trigger = trigger;
  s.taken = std::chrono::steady_clock::now();
  const bool held_from_start = task.suspend_count() > 0;
  const bool at_exit = trigger == Trigger::exit;
  // Threads first, as they are: while suspended, every thread would show the
  // tracing stop taskport itself put it in.
  section(s, "threads", [&] { s.threads = task.threads(); });
  section(s, "command_line", [&] { s.command_line = task.command_line(); });
  bool we_suspended = false;
  if (!held_from_start) {
    section(s, "suspend", [&] {
      task.suspend();
      we_suspended = true;
    });
  }
  s.suspended = held_from_start || we_suspended;
  section(s, "info", [&] { s.info = task.info(); });
  section(s, "regions", [&] { s.regions = task.regions_with_resident_size(); });
#if defined(__x86_64__) || defined(__aarch64__)
  if (at_exit) {
    if (s.suspended) {
      section(s, "registers", [&] {
        const auto all = task.registers_all();  // by tid: the main thread first, if still there
        s.registers = all.front().registers;
        s.registers_tid = all.front().tid;
      });
    }
  } else if (held_from_start || (we_suspended && parts.registers_whenever_suspended)) {
    section(s, "registers", [&] {
      s.registers = task.registers(task.pid());
      s.registers_tid = task.pid();
    });
  }
#else
  (void)parts;
#endif
  if (held_from_start || at_exit) section(s, "memory", [&] { sample_memory(s, task); });
  if (we_suspended) section(s, "resume", [&] { task.resume(); });
  return s;
}

RegionTotals totals(const std::vector<taskport::Region>& regions) {
  RegionTotals t;
  std::uint64_t resident = 0;
  bool all = true;
  for (const auto& r : regions) {
    t.bytes += r.size();
    if (r.resident_bytes) resident += *r.resident_bytes;
    else all = false;
  }
  if (all && !regions.empty()) t.resident = resident;
  return t;
}

std::vector<const taskport::Region*> largest_resident(const std::vector<taskport::Region>& regions,
                                                      std::size_t n) {
  std::vector<const taskport::Region*> out;
  for (const auto& r : regions) {
    if (r.resident_bytes && *r.resident_bytes > 0) out.push_back(&r);
  }
  std::stable_sort(out.begin(), out.end(), [](const taskport::Region* a, const taskport::Region* b) {
    return *a->resident_bytes > *b->resident_bytes;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

Changes changes_between(const Snapshot& before, const Snapshot& now) {
  Changes c;
  if (!before.threads.empty() && !now.threads.empty()) {  // a live task has a thread
    std::set<pid_t> old_tids, new_tids;
    for (const auto& t : before.threads) old_tids.insert(t.tid);
    for (const auto& t : now.threads) new_tids.insert(t.tid);
    c.born.emplace();
    c.ended.emplace();
    std::set_difference(new_tids.begin(), new_tids.end(), old_tids.begin(), old_tids.end(),
                        std::back_inserter(*c.born));
    std::set_difference(old_tids.begin(), old_tids.end(), new_tids.begin(), new_tids.end(),
                        std::back_inserter(*c.ended));
  }
  if (before.info && now.info && before.info->resident_size && now.info->resident_size) {
    c.resident_delta = static_cast<std::int64_t>(*now.info->resident_size) -
                       static_cast<std::int64_t>(*before.info->resident_size);
  }
  return c;
}

}  // namespace taskport_cli
