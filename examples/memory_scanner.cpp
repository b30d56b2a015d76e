// SPDX-License-Identifier: MIT
// memory_scanner — find a byte pattern in a running process's memory:
// Task::open by pid, regions() for what is mapped, read_many() to read it
// in large batches.
//
//   memory_scanner PID PATTERN   scan process PID for the bytes of PATTERN
//   memory_scanner               start python3 with a pattern in a ctypes
//                                buffer, and find it there
//
// Needs ptrace access to the process (same user and dumpable, or
// CAP_SYS_PTRACE; macOS: root or a debugger entitlement): Task::open itself
// needs none, the first read says what is missing.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "taskport/taskport.hpp"

namespace {

constexpr std::size_t kChunk = 1 << 20;     // bytes per ReadRequest
constexpr std::size_t kChunksPerRead = 32;  // ReadRequests per read_many call

struct Scan {
  std::vector<std::uint64_t> matches;
  std::size_t regions = 0, bytes = 0, reads = 0;
};

// Every readable mapping, cut into chunks that overlap by the pattern's
// length - 1, so a match across a chunk border is found once.
std::vector<taskport::ReadRequest> plan_reads(const taskport::Task& task, std::size_t pattern_size,
                                              Scan& scan) {
  std::vector<taskport::ReadRequest> plan;
  for (const taskport::Region& r : task.regions()) {
    // [vvar] and similar kernel pages are not readable from outside.
    if (!r.protection.read || r.kind == taskport::RegionKind::vdso) continue;
    ++scan.regions;
    for (std::uint64_t at = r.start; at < r.end; at += kChunk) {
      taskport::ReadRequest req;
      req.address = at;
      req.size = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk + pattern_size - 1, r.end - at));
      plan.push_back(req);
    }
  }
  return plan;
}

Scan scan_for(const taskport::Task& task, const std::string& pattern) {
  Scan scan;
  std::vector<taskport::ReadRequest> plan = plan_reads(task, pattern.size(), scan);
  std::vector<char> arena(kChunksPerRead * (kChunk + pattern.size()));
  for (std::size_t first = 0; first < plan.size(); first += kChunksPerRead) {
    const std::size_t n = std::min(kChunksPerRead, plan.size() - first);
    for (std::size_t i = 0; i < n; ++i) plan[first + i].buffer = arena.data() + i * (kChunk + pattern.size());
    task.read_many(&plan[first], n);  // a range that fails (a guard page) is skipped below
    ++scan.reads;
    for (std::size_t i = 0; i < n; ++i) {
      const taskport::ReadRequest& req = plan[first + i];
      const char* data = static_cast<const char*>(req.buffer);
      scan.bytes += req.bytes_read;
      for (const char* at = data; (at = std::search(at, data + req.bytes_read, pattern.begin(),
                                                    pattern.end())) != data + req.bytes_read;
           ++at) {
        scan.matches.push_back(req.address + static_cast<std::uint64_t>(at - data));
      }
    }
  }
  std::sort(scan.matches.begin(), scan.matches.end());
  scan.matches.erase(std::unique(scan.matches.begin(), scan.matches.end()), scan.matches.end());
  return scan;
}

void report(const taskport::Task& task, const std::string& pattern, const Scan& scan) {
  std::printf("scanned %zu regions, %.1f MiB in %zu read_many calls: %zu matches of '%s'\n", scan.regions,
              static_cast<double>(scan.bytes) / (1 << 20), scan.reads, scan.matches.size(), pattern.c_str());
  for (std::uint64_t at : scan.matches) {
    const auto region = task.region_at(at);
    std::printf("match 0x%llx in %s %s\n", static_cast<unsigned long long>(at),
                region ? taskport::to_string(region->kind) : "?", region ? region->path.c_str() : "");
  }
}

// python3 holding `pattern` in a ctypes buffer; it prints the buffer's
// address, then waits for its stdin to close.
taskport::Child start_python(const std::string& pattern, std::uint64_t& buffer) {
  const std::string script =
      "import ctypes, sys\n"
      "buf = ctypes.create_string_buffer(sys.argv[1].encode())\n"
      "print(hex(ctypes.addressof(buf)), flush=True)\n"
      "sys.stdin.read()\n";
  taskport::Child child = taskport::Command("python3")
                              .args({"-c", script, pattern})
                              .standard_input(taskport::Stdio::piped())
                              .standard_output(taskport::Stdio::piped())
                              .spawn();
  std::string line;
  char c = 0;
  while (::read(child.stdout_pipe().get(), &c, 1) == 1 && c != '\n') line += c;
  buffer = std::strtoull(line.c_str(), nullptr, 16);
  return child;
}

// A pid from the command line; 0 (never a process: Task::open refuses it
// with EINVAL) if the text is not a number.
pid_t parse_pid(const char* text) {
  char* end = nullptr;
  const long pid = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && pid > 0 && pid <= INT_MAX ? static_cast<pid_t>(pid) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3) {
      const taskport::Task task = taskport::Task::open(parse_pid(argv[1]));
      report(task, argv[2], scan_for(task, argv[2]));
      return 0;
    }
    // The pattern is put together at run time, so the only copies in python3
    // are the ones it made itself (argv, the str, the buffer).
    const std::string pattern = "taskport-needle-" + std::to_string(::getpid());
    std::uint64_t buffer = 0;
    taskport::Child python = start_python(pattern, buffer);
    python.kill_on_drop(true);
    std::printf("python3 (pid %d) says its buffer is at 0x%llx\n", python.pid(),
                static_cast<unsigned long long>(buffer));
    // A process taskport did not have to start: opened by its pid.
    const taskport::Task task = taskport::Task::open(python.pid());
    const Scan scan = scan_for(task, pattern);
    report(task, pattern, scan);
    python.stdin_pipe().reset();
    python.wait();
    return std::binary_search(scan.matches.begin(), scan.matches.end(), buffer) ? 0 : 1;
  } catch (const std::exception& e) {  // taskport::Error, or std::bad_alloc
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
