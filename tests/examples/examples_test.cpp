// SPDX-License-Identifier: MIT
// Runs each example (with Command::output()) and checks what it printed.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "task_support.hpp"

using taskport::Command;
using taskport::Output;

namespace {

Output run(const std::string& example) {
  Output out = Command(example).output();
  EXPECT_TRUE(out.status.success()) << example << ": " << out.status.to_string() << "\n"
                                    << out.out << out.err;
  return out;
}

bool has_line(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern, std::regex::multiline));
}

}  // namespace

#ifdef TP_EXAMPLE_MEMORY_SCANNER
TEST(Examples, MemoryScannerFindsThePatternWherePythonPutIt) {
  if (!tp_task::have_program("python3")) GTEST_SKIP() << "python3 not installed";
  const Output out = run(TP_EXAMPLE_MEMORY_SCANNER);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out.out, m, std::regex("says its buffer is at (0x[0-9a-f]+)"))) << out.out;
  EXPECT_TRUE(has_line(out.out, "^match " + m[1].str() + " in anonymous")) << out.out;
  EXPECT_TRUE(has_line(out.out, "[1-9][0-9]* matches of 'taskport-needle-[0-9]+'")) << out.out;
}
#endif

#ifdef TP_EXAMPLE_SAMPLING_LOOP
TEST(Examples, SamplingLoopReadsEveryThreadsRegistersAHundredTimes) {
  if (!tp_task::have_program("python3")) GTEST_SKIP() << "python3 not installed";
  const Output out = Command(TP_EXAMPLE_SAMPLING_LOOP).output();
  EXPECT_TRUE(out.status.success()) << out.status.to_string() << "\n" << out.out << out.err;
  // Four threads (python's main thread and three spinning ones), every
  // one in every sample.
  EXPECT_TRUE(has_line(out.out, "^100 samples in [0-9.]+ s, 400 register reads")) << out.out;
  const std::regex thread_line(
      "^thread [0-9]+ \\(python3\\): 100 samples, [1-9][0-9]* distinct pcs, most often 0x[0-9a-f]+",
      std::regex::multiline);
  EXPECT_EQ(std::distance(std::sregex_iterator(out.out.begin(), out.out.end(), thread_line),
                          std::sregex_iterator()),
            4)
      << out.out;
}
#endif

#ifdef TP_EXAMPLE_EXIT_WAIT_EPOLL
TEST(Examples, ExitWaitEpollSeesEveryChildEndAsItEnded) {
  const Output out = run(TP_EXAMPLE_EXIT_WAIT_EPOLL);
  EXPECT_TRUE(has_line(out.out, "^pid [0-9]+ \\(/bin/sh exit 3\\) ended: exit code 3$")) << out.out;
  EXPECT_TRUE(has_line(out.out, "^pid [0-9]+ \\(/bin/sh kill -TERM itself\\) ended: killed by SIGTERM$"))
      << out.out;
  EXPECT_TRUE(has_line(out.out, "^pid [0-9]+ \\(/bin/sh sleep 0.4\\) ended: exit code 0$")) << out.out;
}
#endif

#ifdef TP_EXAMPLE_EXIT_WAIT_ASIO
TEST(Examples, ExitWaitAsioSeesEveryChildEnd) {
  const Output out = run(TP_EXAMPLE_EXIT_WAIT_ASIO);
  EXPECT_TRUE(has_line(out.out, "^pid [0-9]+ \\(/bin/sh\\) ended: exit code 7$")) << out.out;
  EXPECT_TRUE(has_line(out.out, "^pid [0-9]+ \\(/bin/sh\\) ended: killed by SIGKILL$")) << out.out;
}
#endif

#ifdef TP_EXAMPLE_TASK_HANDLE_EXAMPLE
TEST(Examples, TaskHandleExampleRuns) { run(TP_EXAMPLE_TASK_HANDLE_EXAMPLE); }
#endif
