// SPDX-License-Identifier: MIT
#include "mach_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#ifndef TP_MACH_TARGET
#error "TP_MACH_TARGET must name the helper program"
#endif

namespace tp_mach {

using taskport::Child;
using taskport::Command;
using taskport::Stdio;

const std::string& target_path() {
  static const std::string path = TP_MACH_TARGET;
  return path;
}

const std::string& arch_target_path(const std::string& arch) {
  static const std::string arm64 = TP_ARCH_TARGET_ARM64;
  static const std::string x86_64 = TP_ARCH_TARGET_X86_64;
  return arch == "arm64" ? arm64 : x86_64;
}

const std::string& sandboxed_spawner_path() {
  static const std::string path = TP_SANDBOXED_SPAWNER;
  return path;
}

const std::string& extmod_example_path() {
  static const std::string path = TP_EXTMOD_EXAMPLE;
  return path;
}

const std::string& preload_path() {
  static const std::string path = TP_PRELOAD_LIBRARY;
  return path;
}

namespace {
// Every spawn_with_task() of these tests uses the build tree's preload.
const bool preload_set = [] {
  taskport::set_preload_library(TP_PRELOAD_LIBRARY);
  return true;
}();
}  // namespace

Command target(std::initializer_list<std::string> args) {
  Command cmd(target_path());
  cmd.args(args).standard_input(Stdio::piped()).standard_output(Stdio::piped());
  cmd.preload_timeout(kPreloadTimeout);
  return cmd;
}

std::string Lines::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "no line within " << timeout.count() << " ms (so far: '" << buf_ << "')";
      return std::string();
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ADD_FAILURE() << "EOF before a complete line (so far: '" << buf_ << "')";
      return std::string();
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::map<std::string, std::string> Lines::serve_report() {
  std::map<std::string, std::string> report;
  for (int i = 0; i < 32; ++i) {
    const std::string line = next();
    if (line.empty() || line == "ready") break;
    const std::size_t space = line.find(' ');
    report[line.substr(0, space)] = space == std::string::npos ? std::string() : line.substr(space + 1);
  }
  if (report.count("address") == 0) ADD_FAILURE() << "no serve report from tp_mach_target";
  return report;
}

std::uint64_t parse_hex(const std::string& text) { return std::strtoull(text.c_str(), nullptr, 16); }

std::uint64_t first_hex(const std::string& text) {
  const std::size_t at = text.find("0x");
  return at == std::string::npos ? 0 : parse_hex(text.substr(at + 2));
}

Served::Served(std::pair<Child, taskport::Task> spawned)
    : child(std::move(spawned.first)), task(std::move(spawned.second)), lines(child.stdout_pipe().get()) {
  child.kill_on_drop(true);
  report = lines.serve_report();
}

std::string Served::ask(const std::string& command) {
  tp_test::write_str(child.stdin_pipe().get(), command + "\n");
  return lines.next();
}

Served serve() { return Served(target({"serve"}).spawn_with_task()); }

std::uint64_t parse_address(const std::string& line) {
  unsigned long long address = 0, value = 0;
  if (std::sscanf(line.c_str(), "address 0x%llx value 0x%llx", &address, &value) != 2) {
    ADD_FAILURE() << "unexpected line from the target: '" << line << "'";
  }
  EXPECT_EQ(value, kMarker) << line;
  return address;
}

std::optional<AuditIdentity> audit_identity(mach_port_t task) {
  audit_token_t token{};
  mach_msg_type_number_t count = TASK_AUDIT_TOKEN_COUNT;
  if (::task_info(task, TASK_AUDIT_TOKEN, reinterpret_cast<task_info_t>(&token), &count) != KERN_SUCCESS) {
    return std::nullopt;
  }
  // xnu bsd/kern/kern_prot.c proc_calc_audit_token: val[5] pid, val[7] pid version.
  return AuditIdentity{static_cast<pid_t>(token.val[5]), token.val[7]};
}

std::optional<int> kernel_suspend_count(mach_port_t task) {
  mach_task_basic_info_data_t info{};
  mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
  if (::task_info(task, MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info), &count) != KERN_SUCCESS) {
    return std::nullopt;
  }
  return static_cast<int>(info.suspend_count);
}

std::optional<pid_t> pid_of_port(mach_port_t task) {
  int pid = -1;
  if (::pid_for_task(task, &pid) != KERN_SUCCESS) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::size_t port_name_count() {
  mach_port_name_array_t names = nullptr;
  mach_port_type_array_t types = nullptr;
  mach_msg_type_number_t n = 0, t = 0;
  if (::mach_port_names(mach_task_self(), &names, &n, &types, &t) != KERN_SUCCESS) {
    ADD_FAILURE() << "mach_port_names failed";
    return 0;
  }
  ::vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(names), n * sizeof(mach_port_name_t));
  ::vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(types), t * sizeof(mach_port_type_t));
  return n;
}

bool host_is_arm64() {
  int arm64 = 0;
  size_t size = sizeof arm64;
  return ::sysctlbyname("hw.optional.arm64", &arm64, &size, nullptr, 0) == 0 && arm64 == 1;
}

bool rosetta_runs_x86_64() {
  return run({"/usr/bin/arch", "-x86_64", "/usr/bin/true"}, 30s).status.success();
}

std::optional<bool> developer_mode_on() {
  if (const char* env = std::getenv("TASKPORT_TEST_DEVELOPER_MODE")) {
    if (std::strcmp(env, "on") == 0) return true;
    if (std::strcmp(env, "off") == 0) return false;
    ADD_FAILURE() << "TASKPORT_TEST_DEVELOPER_MODE is '" << env << "', not on or off";
    return std::nullopt;
  }
  int status = 0;
  size_t size = sizeof status;
  if (::sysctlbyname("security.mac.amfi.developer_mode_status", &status, &size, nullptr, 0) == 0) {
    return status != 0;
  }
  if (!host_is_arm64()) return true;
  ADD_FAILURE() << "cannot tell whether Developer Mode is on: set TASKPORT_TEST_DEVELOPER_MODE=on|off";
  return std::nullopt;
}

Ran run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
        const std::vector<std::pair<std::string, std::string>>& env) {
  Ran ran;
  try {
    Command cmd(argv.at(0));
    cmd.args(std::vector<std::string>(argv.begin() + 1, argv.end()));
    for (const auto& [key, value] : env) cmd.env(key, value);
    tp_test::Pipe out = tp_test::make_pipe();
    cmd.standard_input(Stdio::null()).standard_output(Stdio::fd(out.write.get()));
    cmd.standard_error(Stdio::fd(out.write.get()));
    Child child = cmd.spawn();
    child.kill_on_drop(true);
    out.write.reset();
    ran.output = tp_test::read_all(out.read.get(), timeout);
    ran.status = tp_test::wait_exit(child, timeout);
  } catch (const taskport::Error& e) {
    ADD_FAILURE() << "could not run " << argv.at(0) << ": " << e.what();
  }
  return ran;
}

void copy_file(const std::string& source, const std::string& path) {
  std::FILE* in = std::fopen(source.c_str(), "rb");
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (in == nullptr || out == nullptr) {
    ADD_FAILURE() << "cannot copy " << source << " to " << path << ": " << std::strerror(errno);
    if (in) std::fclose(in);
    if (out) std::fclose(out);
    return;
  }
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) std::fwrite(buf, 1, n, out);
  std::fclose(in);
  std::fclose(out);
  ::chmod(path.c_str(), 0755);
}

}  // namespace tp_mach
