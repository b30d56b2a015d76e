// SPDX-License-Identifier: MIT
// Task::write on macOS, read back by the child itself: a data write, and a
// write into the program's code (a software breakpoint's way) — protected
// (protection & ~EXECUTE) | WRITE | VM_PROT_COPY, never write+execute, which
// xnu refuses on arm64 (osfmk/vm/vm_map.c vm_map_protect). Both are control-
// flavour calls on another task's port: with Developer Mode off macOS refuses
// them (osfmk/kern/ipc_tt.c task_conversion_eval_internal), and then the
// documented error is asserted instead — never skipped.
#include <mach/mach.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>

#include <taskport/taskport.hpp>

#include "mach_support.hpp"

namespace {

using namespace tp_mach;
using taskport::Error;
using taskport::Step;

std::string hex16(const unsigned char* bytes) {
  std::string s;
  char two[3];
  for (int i = 0; i < 8; ++i) {
    std::snprintf(two, sizeof two, "%02x", bytes[i]);
    s += two;
  }
  return s;
}

// The documented refusal: EPERM, Step::write_memory, naming Developer Mode.
void expect_developer_mode_refusal(const std::function<void()>& write) {
  try {
    write();
    ADD_FAILURE() << "the write succeeded although Developer Mode is off";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EPERM) << e.what();
    EXPECT_EQ(e.step(), Step::write_memory);
    EXPECT_NE(std::string(e.what()).find("Developer Mode"), std::string::npos) << e.what();
  }
}

TEST(MachWrite, ADataWriteIsSeenByTheChild) {
  const auto developer_mode = developer_mode_on();
  ASSERT_TRUE(developer_mode.has_value());
  Served t = serve();
  const std::uint64_t replaced = 0x1122334455667788ULL;
  const std::uint64_t address = t.address("address");
  if (!*developer_mode) {
    expect_developer_mode_refusal([&] { t.task.write(address, &replaced, sizeof replaced); });
    EXPECT_EQ(t.ask("value"), "value 0x7461736b706f7274") << "a refused write changed the child";
    return;
  }
  t.task.write(address, &replaced, sizeof replaced);
  EXPECT_EQ(t.task.read_value<std::uint64_t>(address), replaced);
  EXPECT_EQ(t.ask("value"), "value 0x1122334455667788");
}

TEST(MachWrite, ACodePageWriteIsSeenByTheChildAndTheProtectionIsRestored) {
  const auto developer_mode = developer_mode_on();
  ASSERT_TRUE(developer_mode.has_value());
  Served t = serve();
  const std::uint64_t code = t.address("code");
  const auto before = t.task.region_at(code);
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(before->protection.execute);
  ASSERT_FALSE(before->protection.write);
  // Patterns a breakpoint would write (the function is never called).
  const unsigned char patch[8] = {0xcc, 0xcc, 0xcc, 0xcc, 0x00, 0x00, 0x20, 0xd4};
  if (!*developer_mode) {
    expect_developer_mode_refusal([&] { t.task.write(code, patch, sizeof patch); });
    return;
  }
  t.task.write(code, patch, sizeof patch);
  unsigned char back[8] = {};
  t.task.read(code, back, sizeof back);
  EXPECT_EQ(hex16(back), hex16(patch));
  EXPECT_EQ(t.ask("code"), "code " + hex16(patch)) << "the child's own load of its code";
  const auto after = t.task.region_at(code);
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->protection.read);
  EXPECT_TRUE(after->protection.execute) << "the code page must be executable again";
  EXPECT_FALSE(after->protection.write) << "the code page must not stay writable";
}

}  // namespace
