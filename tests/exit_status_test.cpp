// SPDX-License-Identifier: MIT
// ExitStatus and Error as values: what a user reads from them.
#include <signal.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>
#include <system_error>

#include "taskport/taskport.hpp"

using taskport::Error;
using taskport::ExitStatus;
using taskport::Step;

TEST(ExitStatus, ExitedWithZeroIsSuccess) {
  ExitStatus s = ExitStatus::exited(0);
  EXPECT_TRUE(s.success());
  EXPECT_EQ(s.code(), 0);
  EXPECT_EQ(s.signal(), std::nullopt);
  EXPECT_FALSE(s.core_dumped());
}

TEST(ExitStatus, NonZeroCodeIsNotSuccess) {
  ExitStatus s = ExitStatus::exited(3);
  EXPECT_FALSE(s.success());
  EXPECT_EQ(s.code(), 3);
  EXPECT_EQ(s.signal(), std::nullopt);
}

TEST(ExitStatus, SignaledHasSignalAndNoCode) {
  ExitStatus s = ExitStatus::signaled(SIGKILL, false);
  EXPECT_FALSE(s.success());
  EXPECT_EQ(s.code(), std::nullopt);
  EXPECT_EQ(s.signal(), SIGKILL);
  EXPECT_FALSE(s.core_dumped());
  EXPECT_TRUE(ExitStatus::signaled(SIGSEGV, true).core_dumped());
}

TEST(ExitStatus, EqualityComparesEveryField) {
  EXPECT_EQ(ExitStatus::exited(1), ExitStatus::exited(1));
  EXPECT_NE(ExitStatus::exited(1), ExitStatus::exited(2));
  EXPECT_NE(ExitStatus::signaled(SIGTERM, false), ExitStatus::signaled(SIGKILL, false));
  EXPECT_NE(ExitStatus::signaled(SIGSEGV, false), ExitStatus::signaled(SIGSEGV, true));
  EXPECT_NE(ExitStatus::exited(9), ExitStatus::signaled(9, false));
}

TEST(ExitStatus, ToStringReadsAsDocumented) {
  EXPECT_EQ(ExitStatus::exited(3).to_string(), "exit code 3");
  EXPECT_EQ(ExitStatus::signaled(SIGKILL, false).to_string(), "killed by SIGKILL");
  EXPECT_EQ(ExitStatus::signaled(SIGSEGV, true).to_string(), "killed by SIGSEGV (core dumped)");
}

TEST(Error, IsASystemErrorCarryingErrnoStepAndProgram) {
  Error e(ENOENT, Step::execve, "some-program");
  const std::system_error& se = e;
  EXPECT_EQ(se.code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(e.errno_value(), ENOENT);
  EXPECT_EQ(e.step(), Step::execve);
  EXPECT_EQ(e.program(), "some-program");
  EXPECT_NE(std::string(e.what()).find("some-program"), std::string::npos) << e.what();
}

TEST(Error, WhatIncludesTheDetail) {
  Error e(EBADF, Step::redirect_fds, "prog", "child fd 7");
  EXPECT_NE(std::string(e.what()).find("child fd 7"), std::string::npos) << e.what();
}

TEST(Step, EveryStepHasADistinctName) {
  const Step all[] = {Step::validate_command,
                      Step::resolve_program,
                      Step::create_pipe,
                      Step::open_null,
                      Step::allocate_stack,
                      Step::allocate_report,
                      Step::spawn_attributes,
                      Step::clone,
                      Step::receive_pidfd,
                      Step::signal_reset,
                      Step::setsid,
                      Step::setpgid,
                      Step::chdir,
                      Step::redirect_fds,
                      Step::pre_exec_hook,
                      Step::ptrace_traceme,
                      Step::signal_mask,
                      Step::execve,
                      Step::child_died,
                      Step::await_exec_stop,
                      Step::wait,
                      Step::poll,
                      Step::send_signal,
                      Step::resume,
                      Step::duplicate_handle,
                      Step::open_proc,
                      Step::read_memory,
                      Step::write_memory,
                      Step::read_regions,
                      Step::read_threads,
                      Step::read_registers,
                      Step::read_info,
                      Step::suspend,
                      Step::hold_at_exit,
                      Step::rendezvous,
                      Step::accept_task,
                      Step::send_task,
                      Step::fork};
  std::set<std::string> names;
  for (Step s : all) {
    const char* name = taskport::to_string(s);
    ASSERT_NE(name, nullptr);
    EXPECT_STRNE(name, "");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), std::size(all));
}
