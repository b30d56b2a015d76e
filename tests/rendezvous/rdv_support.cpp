// SPDX-License-Identifier: MIT
#include "rdv_support.hpp"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tp_rdv {

using taskport::Command;
using taskport::Stdio;

const std::string& target_path() {
  static const std::string p = TP_RDV_TARGET;
  return p;
}
const std::string& cxx_target_path() {
  static const std::string p = TP_RDV_CXX_TARGET;
  return p;
}
const std::string& plain_path() {
  static const std::string p = TP_RDV_PLAIN;
  return p;
}
const std::string& plain_sanitized_path() {
  static const std::string p = TP_RDV_PLAIN_SANITIZED;
  return p;
}
const std::string& static_path() {
  static const std::string p = TP_RDV_STATIC;
  return p;
}
const std::string& preload_path() {
  static const std::string p = TP_RDV_PRELOAD;
  return p;
}

Command helper(const std::string& program, std::initializer_list<std::string> args) {
  Command cmd(program);
  cmd.args(args);
  cmd.standard_input(Stdio::piped()).standard_output(Stdio::piped());
  return cmd;
}

std::optional<std::string> Lines::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return std::nullopt;
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

std::optional<std::string> Lines::value(const std::string& prefix, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto line = next(std::max(left, std::chrono::milliseconds(0)));
    if (!line) return std::nullopt;
    if (line->compare(0, prefix.size() + 1, prefix + " ") == 0) return line->substr(prefix.size() + 1);
  }
}

std::vector<std::string> Lines::until_end(std::chrono::milliseconds timeout) {
  std::vector<std::string> lines;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto line = next(std::max(left, std::chrono::milliseconds(0)));
    if (!line || *line == "end") return lines;
    lines.push_back(*line);
  }
}

std::uint64_t parse_address(const std::string& hex) { return std::strtoull(hex.c_str(), nullptr, 16); }

std::string read_string(const taskport::Task& task, std::uint64_t address) {
  char buf[65] = {};
  task.read(address, buf, 64);
  return std::string(buf);
}

bool Report::mentions(const std::string& text) const {
  for (const auto& e : env) {
    if (e.find(text) != std::string::npos) return true;
  }
  return false;
}

std::optional<std::string> Report::env_value(const std::string& key) const {
  for (const auto& e : env) {
    if (e.compare(0, key.size() + 1, key + "=") == 0) return e.substr(key.size() + 1);
  }
  return std::nullopt;
}

Report parse_helper_report(const std::vector<std::string>& lines) {
  Report r;
  for (const auto& l : lines) {
    if (l.compare(0, 4, "env ") == 0) r.env.push_back(l.substr(4));
    if (l.compare(0, 3, "fd ") == 0) r.fds.push_back(std::atoi(l.c_str() + 3));
  }
  return r;
}

std::string effective_capabilities() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 7, "CapEff:") == 0) {
      const size_t at = line.find_first_not_of(" \t", 7);
      return at == std::string::npos ? std::string() : line.substr(at);
    }
  }
  return "?";
}

namespace {

void write_line(int fd, const std::string& key, const std::string& value) {
  std::string s = key + " " + value + "\n";
  // Values are single-line by construction; newlines would split a fact.
  for (size_t i = key.size() + 1; i + 1 < s.size(); ++i) {
    if (s[i] == '\n') s[i] = ' ';
  }
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

std::map<std::string, std::string> in_process_as(uid_t uid, const std::function<void(const Say&)>& body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return {};
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    const int out = p[1];
    const Say say = [out](const std::string& k, const std::string& v) { write_line(out, k, v); };
    if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
      say("exception",
          std::string("could not become uid ") + std::to_string(uid) + ": " + std::strerror(errno));
      ::_exit(1);
    }
    try {
      body(say);
    } catch (const std::exception& e) {
      say("exception", e.what());
    } catch (...) {
      say("exception", "unknown");
    }
    ::_exit(0);
  }
  ::close(p[1]);
  std::map<std::string, std::string> facts;
  if (pid < 0) {
    ::close(p[0]);
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return facts;
  }
  const std::string text = tp_test::read_all(p[0], kLong);
  ::close(p[0]);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t sp = line.find(' ');
    facts[line.substr(0, sp)] = sp == std::string::npos ? std::string() : line.substr(sp + 1);
  }
  int status = 0;
  if (!tp_test::eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, kLong)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ADD_FAILURE() << "the process running as uid " << uid << " did not end";
  }
  return facts;
}

}  // namespace tp_rdv
