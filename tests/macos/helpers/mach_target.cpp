// SPDX-License-Identifier: MIT
// tp_mach_target — the program the macOS tests spawn and read.
//
//   tp_mach_target print        prints "address 0x<hex> value 0x<hex>" (a
//                               known 64-bit value and where it is), then
//                               waits for EOF on stdin and exits 0
//   tp_mach_target send         taskport::send_task_to_spawner(), prints
//                               "sent 1" (or "sent 0" without a rendezvous)
//                               and the address line, then waits for EOF
//   tp_mach_target line-send    waits for one line on stdin, then as "send"
//   tp_mach_target send-exec    taskport::send_task_to_spawner() (the port of
//                               this image, as a pre-exec hook would send
//                               it), prints "sent 1", waits for one line on
//                               stdin, then execs itself as "serve": a new
//                               task for the same process
//   tp_mach_target exit <code>  exits at once with <code>, sending nothing
//   tp_mach_target wait         waits for EOF on stdin, sending nothing
//   tp_mach_target serve        prints its startup report, then answers
//                               commands on stdin until EOF (exits 0)
//
// The serve report, one line each, then "ready":
//   address 0x<hex> value 0x<hex>   the marker, as for print
//   code 0x<hex>                    a function that is never called (its
//                                   bytes are the target of code writes)
//   counter 0x<hex>                 a 64-bit counter a worker thread keeps
//                                   incrementing (progress while running)
//   token <pid> <pid version>       this task's audit token, as the kernel
//                                   tells the task itself
//                                   (task_info(mach_task_self(), TASK_AUDIT_TOKEN))
//   threads <n>                     how many threads this task has
//                                   (task_threads(mach_task_self()))
//   exe <path>                      _NSGetExecutablePath
// Commands (one line each; each answer is one line):
//   value   → "value 0x<hex>" (the marker, by its own load)
//   code    → "code <16 hex digits>" (the first 8 bytes of the function)
//   counter → "counter <decimal>"
//   slots   → "slots <a> <b> <c>": 1 for each of this task's three registered
//             ports that holds a port (mach_ports_lookup(mach_task_self()))
//   exec    → execs itself as "serve" (a new startup report follows)
#include <mach-o/dyld.h>
#include <mach/mach.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <taskport/rendezvous.hpp>

// The value the tests look for; volatile so that it stays in memory.
volatile std::uint64_t g_marker = 0x7461736b706f7274ULL;  // "taskport"
// Incremented by a worker thread while the task runs.
volatile std::uint64_t g_counter = 0;

// Never called: its bytes are what the code-page writes patch (executing a
// patched page would need CS_DEBUGGED, see taskport/task.hpp).
extern "C" __attribute__((noinline, used)) int tp_mach_code_marker(int x) { return x * 7 + 3; }

namespace {

void print_address() {
  std::printf("address 0x%" PRIxPTR " value 0x%" PRIx64 "\n", reinterpret_cast<std::uintptr_t>(&g_marker),
              static_cast<std::uint64_t>(g_marker));
  std::fflush(stdout);
}

void wait_for_eof() {
  char buf[256];
  while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
}

void read_line() {
  char c;
  while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') {
  }
}

int send_and_wait() {
  const bool sent = taskport::send_task_to_spawner();
  std::printf("sent %d\n", sent ? 1 : 0);
  print_address();
  wait_for_eof();
  return 0;
}

std::string self_path() {
  char path[4096];
  std::uint32_t size = sizeof path;
  return _NSGetExecutablePath(path, &size) == 0 ? std::string(path) : std::string();
}

[[noreturn]] void exec_serve() {
  const std::string self = self_path();
  char* const argv[] = {const_cast<char*>(self.c_str()), const_cast<char*>("serve"), nullptr};
  ::execv(self.c_str(), argv);
  std::perror("tp_mach_target: execv");
  std::_Exit(4);
}

void* count_forever(void*) {
  for (;;) g_counter = g_counter + 1;
  return nullptr;
}

void serve_report() {
  print_address();
  std::printf("code 0x%" PRIxPTR "\n", reinterpret_cast<std::uintptr_t>(&tp_mach_code_marker));
  std::printf("counter 0x%" PRIxPTR "\n", reinterpret_cast<std::uintptr_t>(&g_counter));
  audit_token_t token{};
  mach_msg_type_number_t count = TASK_AUDIT_TOKEN_COUNT;
  if (task_info(mach_task_self(), TASK_AUDIT_TOKEN, reinterpret_cast<task_info_t>(&token), &count) ==
      KERN_SUCCESS) {
    std::printf("token %u %u\n", token.val[5], token.val[7]);
  }
  thread_act_array_t threads = nullptr;
  mach_msg_type_number_t n = 0;
  if (task_threads(mach_task_self(), &threads, &n) == KERN_SUCCESS) {
    for (mach_msg_type_number_t i = 0; i < n; ++i) mach_port_deallocate(mach_task_self(), threads[i]);
    vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(threads), n * sizeof(thread_act_t));
    std::printf("threads %u\n", n);
  }
  std::printf("exe %s\nready\n", self_path().c_str());
  std::fflush(stdout);
}

void print_slots() {
  mach_port_array_t ports = nullptr;
  mach_msg_type_number_t count = 0;
  if (mach_ports_lookup(mach_task_self(), &ports, &count) != KERN_SUCCESS) {
    std::printf("slots error\n");
    return;
  }
  std::printf("slots");
  for (mach_msg_type_number_t i = 0; i < count; ++i) {
    std::printf(" %d", MACH_PORT_VALID(ports[i]) ? 1 : 0);
    if (MACH_PORT_VALID(ports[i])) mach_port_deallocate(mach_task_self(), ports[i]);
  }
  std::printf("\n");
  vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(ports), count * sizeof(mach_port_t));
}

int serve() {
  pthread_t worker;
  if (pthread_create(&worker, nullptr, count_forever, nullptr) != 0) return 5;
  serve_report();
  std::string line;
  char c;
  while (::read(STDIN_FILENO, &c, 1) == 1) {
    if (c != '\n') {
      line += c;
      continue;
    }
    if (line == "value") {
      std::printf("value 0x%" PRIx64 "\n", static_cast<std::uint64_t>(g_marker));
    } else if (line == "code") {
      unsigned char bytes[8];
      std::memcpy(bytes, reinterpret_cast<const void*>(&tp_mach_code_marker), sizeof bytes);
      std::printf("code ");
      for (unsigned char b : bytes) std::printf("%02x", b);
      std::printf("\n");
    } else if (line == "counter") {
      std::printf("counter %" PRIu64 "\n", static_cast<std::uint64_t>(g_counter));
    } else if (line == "slots") {
      print_slots();
    } else if (line == "exec") {
      std::fflush(stdout);
      exec_serve();
    } else {
      std::printf("unknown %s\n", line.c_str());
    }
    std::fflush(stdout);
    line.clear();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* mode = argv[1];
  try {
    if (std::strcmp(mode, "print") == 0) {
      print_address();
      wait_for_eof();
      return 0;
    }
    if (std::strcmp(mode, "send") == 0) return send_and_wait();
    if (std::strcmp(mode, "line-send") == 0) {
      read_line();
      return send_and_wait();
    }
    if (std::strcmp(mode, "send-exec") == 0) {
      const bool sent = taskport::send_task_to_spawner();
      std::printf("sent %d\n", sent ? 1 : 0);
      std::fflush(stdout);
      read_line();
      exec_serve();
    }
    if (std::strcmp(mode, "serve") == 0) return serve();
    if (std::strcmp(mode, "exit") == 0) return argc > 2 ? std::atoi(argv[2]) : 0;
    if (std::strcmp(mode, "wait") == 0) {
      wait_for_eof();
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tp_mach_target: %s\n", e.what());
    return 3;
  }
  return 2;
}
