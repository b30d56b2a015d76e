// SPDX-License-Identifier: MIT
#include "taskport/command.hpp"

namespace taskport {

Command::Command(std::string program) : program_(std::move(program)) {}

Command& Command::arg(std::string arg) {
  args_.push_back(std::move(arg));
  return *this;
}

Command& Command::args(std::initializer_list<std::string> args) {
  args_.insert(args_.end(), args.begin(), args.end());
  return *this;
}

Command& Command::args(const std::vector<std::string>& args) {
  args_.insert(args_.end(), args.begin(), args.end());
  return *this;
}

Command& Command::arg0(std::string arg0) {
  arg0_ = std::move(arg0);
  return *this;
}

Command& Command::env(std::string key, std::string value) {
  env_edits_.push_back({std::move(key), std::move(value)});
  return *this;
}

Command& Command::env_remove(const std::string& key) {
  env_edits_.push_back({key, std::nullopt});
  return *this;
}

Command& Command::env_clear() {
  env_clear_ = true;
  env_edits_.clear();
  return *this;
}

Command& Command::current_dir(std::string dir) {
  cwd_ = std::move(dir);
  return *this;
}

Command& Command::standard_input(Stdio stdio) {
  stdio_[0] = stdio;
  stdio_set_[0] = true;
  return *this;
}

Command& Command::standard_output(Stdio stdio) {
  stdio_[1] = stdio;
  stdio_set_[1] = true;
  return *this;
}

Command& Command::standard_error(Stdio stdio) {
  stdio_[2] = stdio;
  stdio_set_[2] = true;
  return *this;
}

Command& Command::inherit_fd(int child_fd, int parent_fd) {
  fds_.push_back({child_fd, parent_fd});
  return *this;
}

Command& Command::close_other_fds(bool enable) {
  close_other_fds_ = enable;
  return *this;
}

Command& Command::uid(uid_t uid) {
  uid_ = uid;
  return *this;
}

Command& Command::gid(gid_t gid) {
  gid_ = gid;
  return *this;
}

Command& Command::groups(std::vector<gid_t> groups) {
  groups_ = std::move(groups);
  return *this;
}

Command& Command::rlimit(int resource, rlim_t soft, rlim_t hard) {
  for (ResourceLimit& limit : rlimits_) {
    if (limit.resource == resource) {
      limit.soft = soft;
      limit.hard = hard;
      return *this;
    }
  }
  rlimits_.push_back({resource, soft, hard});
  return *this;
}

Command& Command::process_group(pid_t pgid) {
  pgid_ = pgid;
  return *this;
}

Command& Command::new_session(bool enable) {
  setsid_ = enable;
  return *this;
}

Command& Command::start_suspended(bool enable) {
  suspended_ = enable;
  return *this;
}

Command& Command::pre_exec(PreExecHook hook) {
  hooks_.push_back(std::move(hook));
  return *this;
}

Command& Command::task_via_preload(bool enable) {
  via_preload_ = enable;
  return *this;
}

Command& Command::preload_timeout(std::chrono::milliseconds timeout) {
  preload_timeout_ = timeout;
  return *this;
}

}  // namespace taskport
