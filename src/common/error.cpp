// SPDX-License-Identifier: MIT
#include "taskport/error.hpp"

namespace taskport {

const char* to_string(Step step) noexcept {
  switch (step) {
    case Step::validate_command: return "validate command";
    case Step::resolve_program: return "resolve program";
    case Step::create_pipe: return "create pipe";
    case Step::open_null: return "open /dev/null";
    case Step::allocate_stack: return "allocate child stack";
    case Step::allocate_report: return "allocate child report page";
    case Step::spawn_attributes: return "set up posix_spawn attributes";
    case Step::clone: return "clone";
    case Step::receive_pidfd: return "receive pidfd from child";
    case Step::signal_reset: return "reset signal handlers";
    case Step::setsid: return "setsid";
    case Step::setpgid: return "setpgid";
    case Step::chdir: return "chdir";
    case Step::redirect_fds: return "redirect fds";
    case Step::pre_exec_hook: return "pre_exec hook";
    case Step::ptrace_traceme: return "ptrace(PTRACE_TRACEME)";
    case Step::signal_mask: return "restore signal mask";
    case Step::execve: return "execve";
    case Step::child_died: return "child died before execve";
    case Step::await_exec_stop: return "wait for post-exec stop";
    case Step::wait: return "wait for child";
    case Step::poll: return "poll";
    case Step::send_signal: return "send signal";
    case Step::resume: return "resume";
    case Step::duplicate_handle: return "duplicate handle";
    case Step::close_fds: return "close other descriptors";
    case Step::setrlimit: return "set resource limit";
    case Step::setgroups: return "setgroups";
    case Step::setgid: return "setgid";
    case Step::setuid: return "setuid";
    case Step::read_output: return "read child output";
    case Step::open_task: return "open task";
    case Step::open_proc: return "open /proc";
    case Step::read_memory: return "read memory";
    case Step::write_memory: return "write memory";
    case Step::read_regions: return "read regions";
    case Step::read_threads: return "read threads";
    case Step::read_registers: return "read registers";
    case Step::read_info: return "read task info";
    case Step::suspend: return "suspend";
    case Step::hold_at_exit: return "hold at exit";
    case Step::rendezvous: return "rendezvous";
    case Step::accept_task: return "accept task handle from child";
    case Step::send_task: return "send task handle to spawner";
    case Step::fork: return "fork";
  }
  return "unknown step";
}

namespace {
// `text` for what(), a C string: a NUL byte (a program refused for holding
// one) shows as "\0" instead of ending the message there.
std::string printable(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  return out;
}

std::string describe(Step step, const std::string& program, const std::string& detail) {
  std::string what = "taskport: ";
  what += program.empty() ? std::string("(no program)") : "'" + printable(program) + "'";
  what += ": ";
  what += to_string(step);
  if (!detail.empty()) {
    what += " (";
    what += printable(detail);
    what += ")";
  }
  return what;
}
}  // namespace

Error::Error(int errno_value, Step step, std::string program)
    : Error(errno_value, step, std::move(program), std::string()) {}

Error::Error(int errno_value, Step step, std::string program, const std::string& detail)
    : std::system_error(errno_value, std::generic_category(), describe(step, program, detail)),
      step_(step),
      program_(std::move(program)) {}

}  // namespace taskport
