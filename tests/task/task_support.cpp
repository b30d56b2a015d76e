// SPDX-License-Identifier: MIT
#include "task_support.hpp"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace tp_task {

using taskport::Child;
using taskport::Command;
using taskport::Stdio;

const std::string& target_path() {
  static const std::string path = TP_TASK_TARGET;
  return path;
}

const std::string& read_many_driver_path() {
  static const std::string path = TP_READ_MANY_DRIVER;
  return path;
}

// ---- Target ------------------------------------------------------------------------

Target::Target(std::vector<std::string> args, const std::function<void(Command&)>& configure) {
  Command cmd(target_path());
  cmd.args(args);
  cmd.standard_input(Stdio::piped()).standard_output(Stdio::piped());
  if (configure) configure(cmd);
  auto [child, task] = cmd.spawn_with_task();
  child.kill_on_drop(true);
  pid_ = child.pid();
  child_.emplace(std::move(child));
  task_.emplace(std::move(task));
  read_report();
}

void Target::read_report() {
  addresses_.clear();
  sizes_.clear();
  for (;;) {
    const std::string line = read_line();
    if (line.empty() || line == "ready") break;
    std::istringstream in(line);
    std::string name, value;
    in >> name >> value;
    addresses_[name] = std::strtoull(value.c_str(), nullptr, 0);
    std::size_t size = 0;
    if (in >> size) sizes_[name] = size;
    if (name == "buffer") buffer_size_ = size;
  }
  if (addresses_.count("buffer") == 0) ADD_FAILURE() << "tp_task_target gave no startup report";
}

Target::~Target() {
  if (!child_) return;
  if (!child_->status()) {
    try {
      child_->kill();
    } catch (...) {
    }
    if (!child_->wait_for(kLong)) ADD_FAILURE() << "tp_task_target " << pid_ << " did not die after SIGKILL";
  }
}

std::uint64_t Target::address(const std::string& name) const {
  auto it = addresses_.find(name);
  if (it == addresses_.end()) {
    ADD_FAILURE() << "tp_task_target reported no '" << name << "'";
    return 0;
  }
  return it->second;
}

std::size_t Target::size(const std::string& name) const {
  auto it = sizes_.find(name);
  if (it == sizes_.end()) {
    ADD_FAILURE() << "tp_task_target reported no size of '" << name << "'";
    return 0;
  }
  return it->second;
}

std::string Target::read_line() {
  const auto deadline = std::chrono::steady_clock::now() + kLong;
  const int fd = child_->stdout_pipe().get();
  for (;;) {
    const size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "tp_task_target sent no line within " << kLong.count() << " ms";
      return std::string();
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[65536];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ADD_FAILURE() << "tp_task_target closed its stdout";
      return std::string();
    }
    pending_.append(buf, static_cast<size_t>(n));
  }
}

std::string Target::command(const std::string& line) {
  tp_test::write_str(child_->stdin_pipe().get(), line + "\n");
  return read_line();
}

std::vector<unsigned char> Target::own_bytes(std::uint64_t address, std::size_t size) {
  const std::string answer = command("hex " + hex(address) + " " + std::to_string(size));
  std::vector<unsigned char> bytes;
  if (answer.compare(0, 4, "hex ") != 0 || answer.size() != 4 + 2 * size) {
    ADD_FAILURE() << "unexpected answer to hex: " << answer.substr(0, 200);
    return bytes;
  }
  for (size_t k = 0; k < size; ++k) {
    bytes.push_back(static_cast<unsigned char>(std::stoul(answer.substr(4 + 2 * k, 2), nullptr, 16)));
  }
  return bytes;
}

void Target::exit_to_zombie() {
  tp_test::write_str(child_->stdin_pipe().get(), "exit 0\n");
  if (!tp_test::eventually([&] { return !task_->is_alive(); }))
    ADD_FAILURE() << "tp_task_target did not exit";
}

void Target::reexec() {
  tp_test::write_str(child_->stdin_pipe().get(), "exec\n");
  read_report();
}

void Target::exit_and_reap() {
  tp_test::write_str(child_->stdin_pipe().get(), "exit 0\n");
  if (!child_->wait_for(kLong)) ADD_FAILURE() << "tp_task_target did not exit";
}

// ---- helpers -----------------------------------------------------------------------

void run_child_as(Command& cmd, uid_t uid, gid_t gid) {
  cmd.pre_exec([uid, gid]() -> int {
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) return errno;
    if (::syscall(SYS_setresgid, gid, gid, gid) != 0) return errno;
    if (::syscall(SYS_setresuid, uid, uid, uid) != 0) return errno;
    return 0;
  });
}

bool have_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string run_capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  Command cmd(argv.at(0));
  cmd.args(std::vector<std::string>(argv.begin() + 1, argv.end()));
  cmd.standard_output(Stdio::piped()).standard_error(Stdio::null()).standard_input(Stdio::null());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  std::string out = tp_test::read_all(child.stdout_pipe().get(), timeout);
  const taskport::ExitStatus status = tp_test::wait_exit(child, timeout);
  if (!status.success()) ADD_FAILURE() << argv.at(0) << " failed; output: " << out;
  return out;
}

std::string in_subprocess(const std::function<std::string()>& body, std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe2 failed";
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(fds[0]);
    std::string result;
    try {
      result = body();
    } catch (const std::exception& e) {
      result = std::string("exception: ") + e.what();
    } catch (...) {
      result = "exception: (not std::exception)";
    }
    const char* p = result.data();
    size_t left = result.size();
    while (left > 0) {
      const ssize_t n = ::write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  taskport::UniqueFd read_end(fds[0]);
  std::string result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.append(buf, static_cast<size_t>(n));
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return "timeout";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "subprocess died; output: " + result;
  return result;
}

std::string drop_to(uid_t uid, gid_t gid) {
  if (::setgroups(0, nullptr) != 0) return std::string("setgroups: ") + std::strerror(errno);
  if (::setresgid(gid, gid, gid) != 0) return std::string("setresgid: ") + std::strerror(errno);
  if (::setresuid(uid, uid, uid) != 0) return std::string("setresuid: ") + std::strerror(errno);
  return std::string();
}

std::string refuse_process_vm_readv(int error) {
#if defined(__x86_64__)
  constexpr unsigned kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  constexpr unsigned kArch = AUDIT_ARCH_AARCH64;
#else
  return "no seccomp architecture constant for this CPU";
#endif
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(error) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno);
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    return std::string("PR_SET_SECCOMP: ") + std::strerror(errno);
  return std::string();
}

std::string hex(std::uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string hex_bytes(const unsigned char* data, std::size_t size) {
  std::string out;
  char buf[4];
  for (size_t k = 0; k < size; ++k) {
    std::snprintf(buf, sizeof buf, "%02x", data[k]);
    out += buf;
  }
  return out;
}

}  // namespace tp_task
