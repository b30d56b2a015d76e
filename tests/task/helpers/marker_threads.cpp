// SPDX-License-Identifier: MIT
// Test helper for Task::registers_all(): every thread holds a marker derived
// from its own thread id in a callee-saved register (x86_64 r12, arm64 x19)
// and stays inside a known code region, so a test can check each thread's
// registers from the outside.
//
//   marker_threads N block|spin [leader-exits]
//
// Starts N threads; each, and then the main thread, sets its marker
// (kMarkerBase | tid) and either blocks in ppoll(NULL, 0, NULL) forever
// (block) or spins (spin). Before the main thread enters the region it
// prints one line:
//   region 0x<begin> 0x<end> threads <tid> <tid> ...   (the main thread's last)
// With leader-exits the main thread ends with a bare SYS_exit after that
// line instead (a zombie main thread, listed until the process ends).
// Ends when killed.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern "C" {
// Both never return: they set the marker (first argument) and loop.
[[noreturn]] void tp_marker_block(std::uint64_t marker);
[[noreturn]] void tp_marker_spin(std::uint64_t marker);
extern const char tp_marker_region_begin[];
extern const char tp_marker_region_end[];
}

#if defined(__x86_64__)
asm(R"(
  .text
  .globl tp_marker_region_begin, tp_marker_region_end, tp_marker_block, tp_marker_spin
tp_marker_region_begin:
tp_marker_block:
  mov %rdi, %r12
1:
  mov $271, %eax        # SYS_ppoll
  xor %edi, %edi
  xor %esi, %esi
  xor %edx, %edx
  xor %r10d, %r10d
  xor %r8d, %r8d
  syscall
  jmp 1b
tp_marker_spin:
  mov %rdi, %r12
2:
  pause
  jmp 2b
tp_marker_region_end:
  nop
)");
#elif defined(__aarch64__)
asm(R"(
  .text
  .globl tp_marker_region_begin, tp_marker_region_end, tp_marker_block, tp_marker_spin
tp_marker_region_begin:
tp_marker_block:
  mov x19, x0
1:
  mov x8, #73           // SYS_ppoll
  mov x0, #0
  mov x1, #0
  mov x2, #0
  mov x3, #0
  mov x4, #0
  svc #0
  b 1b
tp_marker_spin:
  mov x19, x0
2:
  yield
  b 2b
tp_marker_region_end:
  nop
)");
#else
#error "marker_threads: x86_64 and arm64 only"
#endif

namespace {

constexpr std::uint64_t kMarkerBase = 0x5450'4d41'0000'0000ULL;  // "TPMA"

pid_t gettid_raw() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: marker_threads N block|spin [leader-exits]\n");
    return 2;
  }
  const int n = std::atoi(argv[1]);
  const bool spin = std::strcmp(argv[2], "spin") == 0;
  const bool leader_exits = argc > 3 && std::strcmp(argv[3], "leader-exits") == 0;
  auto enter = spin ? tp_marker_spin : tp_marker_block;

  std::mutex mutex;
  std::vector<pid_t> tids;
  std::atomic<int> started{0};
  for (int i = 0; i < n; ++i) {
    std::thread([&, enter] {
      const pid_t tid = gettid_raw();
      {
        std::lock_guard<std::mutex> lock(mutex);
        tids.push_back(tid);
      }
      ++started;
      enter(kMarkerBase | static_cast<std::uint64_t>(tid));
    }).detach();
  }
  while (started.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::string line = "region 0x";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%" PRIxPTR " 0x%" PRIxPTR " threads",
                reinterpret_cast<std::uintptr_t>(tp_marker_region_begin),
                reinterpret_cast<std::uintptr_t>(tp_marker_region_end));
  line += buf;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (pid_t tid : tids) line += " " + std::to_string(tid);
  }
  line += " " + std::to_string(gettid_raw()) + "\n";
  if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
  if (leader_exits) {
    // SYS_exit ends this thread only; the process lives on in the others.
    for (;;) ::syscall(SYS_exit, 0);
  }
  enter(kMarkerBase | static_cast<std::uint64_t>(gettid_raw()));
}
