// SPDX-License-Identifier: MIT
// The step and wording of the Command input rules (issue 10, cases 13 and
// 14): Step::validate_command — a Command refused in the parent before
// anything is created (NUL bytes, invalid environment keys), the message
// naming the field. (Written before the fixes, when it did not compile yet;
// the behaviour itself — EINVAL, nothing runs — is command_rules_test.cpp's.)
#include <gtest/gtest.h>

#include <string>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Command;
using taskport::Step;

namespace {

std::string with_nul(const std::string& before, const std::string& after) {
  std::string s = before;
  s += '\0';
  s += after;
  return s;
}

void expect_validation_error(const Command& cmd, const std::string& field) {
  const auto error = spawn_error(cmd);
  ASSERT_TRUE(error.has_value()) << field << ": spawned";
  EXPECT_EQ(error->errno_value(), EINVAL) << error->what();
  EXPECT_EQ(error->step(), Step::validate_command) << error->what();
  EXPECT_NE(std::string(error->what()).find(field), std::string::npos)
      << "the message does not name the field '" << field << "': " << error->what();
}

}  // namespace

TEST(HostileNewApi, NulBytesAreRefusedAtStepValidateCommandNamingTheField) {
  expect_validation_error(Command(with_nul(probe_path(), "x")), "program");
  expect_validation_error(probe().arg(with_nul("a", "b")), "argument");
  expect_validation_error(probe().arg0(with_nul("a", "b")), "arg0");
  expect_validation_error(probe().current_dir(with_nul("/tmp", "x")), "dir");
  expect_validation_error(probe().env(with_nul("K", "X"), "v"), "env");
  expect_validation_error(probe().env("K", with_nul("v", "w")), "env");
}

TEST(HostileNewApi, InvalidEnvironmentKeysAreRefusedAtStepValidateCommand) {
  expect_validation_error(probe().env("A=B", "c"), "env");
  expect_validation_error(probe().env("", "c"), "env");
}
