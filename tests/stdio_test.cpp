// SPDX-License-Identifier: MIT
// What the child's descriptors are: stdin/stdout/stderr (inherit, null,
// piped, fd) and extra descriptors placed with inherit_fd — as the child
// sees them (fstat identity reported by the probe) and as data flows.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_test;
using taskport::Child;
using taskport::Command;
using taskport::Stdio;
using taskport::UniqueFd;

namespace {

// The report travels through this child fd, leaving 0-2 to the test; high
// enough not to meet the descriptors the tests move around.
constexpr int kReportFd = 60;
const std::string kReportFdArg = std::to_string(kReportFd);

Command reporting_probe() { return probe({"--out", kReportFdArg, "--report"}); }

void set_stdio(Command& cmd, int stream, Stdio stdio) {
  if (stream == 0) cmd.standard_input(stdio);
  else if (stream == 1) cmd.standard_output(stdio);
  else cmd.standard_error(stdio);
}

UniqueFd& pipe_of(Child& child, int stream) {
  return stream == 0 ? child.stdin_pipe() : stream == 1 ? child.stdout_pipe() : child.stderr_pipe();
}

std::string child_fd_id(const ProbeReport& r, int fd) {
  auto it = r.fds.find(fd);
  return it == r.fds.end() ? "closed" : it->second.id;
}

}  // namespace

// ---- each standard stream ------------------------------------------------------

class EachStdStream : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(
    Stdio, EachStdStream, ::testing::Values(0, 1, 2), [](const ::testing::TestParamInfo<int>& info) {
      return std::string(info.param == 0 ? "stdin" : info.param == 1 ? "stdout" : "stderr");
    });

TEST_P(EachStdStream, InheritGivesTheChildTheParentsStream) {
  const int n = GetParam();
  Command cmd = reporting_probe();
  set_stdio(cmd, n, Stdio::inherit());
  ProbeReport r = report_via_fd(cmd, kReportFd);
  EXPECT_EQ(child_fd_id(r, n), fd_identity(n));
}

TEST_P(EachStdStream, NullConnectsTheStreamToDevNull) {
  const int n = GetParam();
  Command cmd = reporting_probe();
  set_stdio(cmd, n, Stdio::null());
  ProbeReport r = report_via_fd(cmd, kReportFd);
  EXPECT_EQ(child_fd_id(r, n), path_identity("/dev/null"));
  ASSERT_TRUE(r.fds.count(n));
  EXPECT_EQ(r.fds.at(n).target, "/dev/null");
}

TEST_P(EachStdStream, PipedConnectsTheStreamToAPipeWhoseOtherEndTheParentHolds) {
  const int n = GetParam();
  Command cmd = reporting_probe();
  set_stdio(cmd, n, Stdio::piped());
  Pipe report = make_pipe();
  cmd.inherit_fd(kReportFd, report.write.get());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  report.write.reset();

  ASSERT_TRUE(pipe_of(child, n).valid());
  const std::string parent_end = fd_identity(pipe_of(child, n).get());
  for (int other = 0; other < 3; ++other)
    if (other != n) {
      EXPECT_FALSE(pipe_of(child, other).valid()) << "stream " << other << " was not piped";
    }

  ProbeReport r = parse_report(read_all(report.read.get()));
  EXPECT_TRUE(wait_exit(child).success());
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(child_fd_id(r, n), parent_end) << "both ends of a pipe share one inode";
  ASSERT_TRUE(r.fds.count(n));
  EXPECT_EQ(r.fds.at(n).target.rfind("pipe:", 0), 0u) << r.fds.at(n).target;
}

TEST_P(EachStdStream, FdGivesTheChildADuplicateOfTheGivenDescriptor) {
  const int n = GetParam();
  TempDir dir;
  UniqueFd file(::open((dir / "stream").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(file.valid());
  const int flags_before = ::fcntl(file.get(), F_GETFD);

  Command cmd = reporting_probe();
  set_stdio(cmd, n, Stdio::fd(file.get()));
  ProbeReport r = report_via_fd(cmd, kReportFd);

  EXPECT_EQ(child_fd_id(r, n), fd_identity(file.get()));
  EXPECT_EQ(::fcntl(file.get(), F_GETFD), flags_before) << "the parent's descriptor is only borrowed";
}

TEST_P(EachStdStream, PipesGivenToTheParentAreCloseOnExec) {
  const int n = GetParam();
  Command cmd = probe();
  set_stdio(cmd, n, Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  ASSERT_TRUE(pipe_of(child, n).valid());
  EXPECT_TRUE(is_cloexec(pipe_of(child, n).get()));
  EXPECT_TRUE(wait_exit(child).success());
}

// ---- data through the streams --------------------------------------------------

TEST(StdioData, PipedStdinAndStdoutCarryDataBothWays) {
  Command cmd = probe({"--cat"});
  cmd.standard_input(Stdio::piped()).standard_output(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);

  // Big enough to fill both pipes: the writer must run beside the reader.
  std::string data;
  for (int i = 0; data.size() < 512 * 1024; ++i) data += "line " + std::to_string(i) + "\n";
  UniqueFd in = std::move(child.stdin_pipe());
  std::thread writer([&] {
    write_str(in.get(), data);
    in.reset();
  });
  std::string echoed = read_all(child.stdout_pipe().get());
  writer.join();
  EXPECT_TRUE(wait_exit(child).success());
  EXPECT_EQ(echoed.size(), data.size());
  EXPECT_TRUE(echoed == data);
}

TEST(StdioData, PipedStderrCarriesWhatTheChildWritesToFd2) {
  Command cmd = probe({"--write-fd", "2", "to stderr", "--write-fd", "1", "to stdout"});
  cmd.standard_output(Stdio::piped()).standard_error(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(read_all(child.stderr_pipe().get()), "to stderr");
  EXPECT_EQ(read_all(child.stdout_pipe().get()), "to stdout");
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(StdioData, NullStdinReadsAsEmpty) {
  Command cmd = probe({"--cat"});
  cmd.standard_input(Stdio::null()).standard_output(Stdio::piped());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  EXPECT_EQ(read_all(child.stdout_pipe().get()), "");
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(StdioData, FdStdoutWritesIntoTheGivenFileEvenIfItIsCloseOnExecInTheParent) {
  TempDir dir;
  UniqueFd file(::open((dir / "out").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(file.valid());
  Command cmd = probe({"--write-fd", "1", "into the file"});
  cmd.standard_output(Stdio::fd(file.get()));
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  EXPECT_TRUE(wait_exit(child).success());

  char buf[64] = {};
  ASSERT_EQ(::pread(file.get(), buf, sizeof buf - 1, 0), 13);
  EXPECT_STREQ(buf, "into the file");
}

// ---- extra descriptors -----------------------------------------------------------

TEST(InheritFd, PlacesAParentDescriptorAtTheChosenNumber) {
  Pipe p = make_pipe();
  Command cmd = probe({"--write-fd", "7", "via seven"});
  cmd.inherit_fd(7, p.write.get());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  p.write.reset();
  EXPECT_EQ(read_all(p.read.get()), "via seven");
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(InheritFd, WorksForAHighDescriptorNumber) {
  Pipe p = make_pipe();
  Command cmd = reporting_probe();
  cmd.inherit_fd(200, p.write.get());
  ProbeReport r = report_via_fd(cmd, kReportFd);
  EXPECT_EQ(child_fd_id(r, 200), fd_identity(p.write.get()));
}

TEST(InheritFd, SwapsTwoDescriptors) {
  Pipe a = make_pipe(), b = make_pipe();
  const int fa = a.write.get(), fb = b.write.get();
  Command cmd = reporting_probe();
  cmd.inherit_fd(fb, fa).inherit_fd(fa, fb);
  ProbeReport r = report_via_fd(cmd, kReportFd);
  EXPECT_EQ(child_fd_id(r, fb), fd_identity(fa));
  EXPECT_EQ(child_fd_id(r, fa), fd_identity(fb));
}

TEST(InheritFd, MovesAreAppliedAsIfAtOnce) {
  // A -> N and B -> A's number: dup2 in the order given would give the
  // child B at both numbers.
  Pipe a = make_pipe(), b = make_pipe();
  const int fa = a.write.get(), fb = b.write.get();
  const int n = std::max(fa, fb) + 1;  // a number that is neither
  Command cmd = reporting_probe();
  cmd.inherit_fd(fa, fb).inherit_fd(n, fa);
  ProbeReport r = report_via_fd(cmd, kReportFd);
  EXPECT_EQ(child_fd_id(r, n), fd_identity(fa));
  EXPECT_EQ(child_fd_id(r, fa), fd_identity(fb));
}

TEST(InheritFd, OneParentDescriptorCanAppearAtSeveralNumbers) {
  Pipe p = make_pipe();
  Command cmd = reporting_probe();
  cmd.inherit_fd(11, p.write.get()).inherit_fd(12, p.write.get());
  ProbeReport r = report_via_fd(cmd, kReportFd);
  EXPECT_EQ(child_fd_id(r, 11), fd_identity(p.write.get()));
  EXPECT_EQ(child_fd_id(r, 12), fd_identity(p.write.get()));
}

TEST(InheritFd, TheSameNumberInTheChildClearsCloseOnExec) {
  // dup2(fd, fd) is a no-op that keeps FD_CLOEXEC: the child would lose fd.
  Pipe p = make_pipe();  // O_CLOEXEC
  const int fd = p.write.get();
  ASSERT_TRUE(is_cloexec(fd));
  Command cmd = reporting_probe();
  cmd.inherit_fd(fd, fd);
  ProbeReport r = report_via_fd(cmd, kReportFd);
  EXPECT_EQ(child_fd_id(r, fd), fd_identity(fd));
  EXPECT_TRUE(is_cloexec(fd)) << "the parent's own flags are left alone";
}

TEST(InheritFd, OverridesTheStdioForItsNumber) {
  Pipe p = make_pipe();
  Command cmd = probe({"--write-fd", "1", "through the mapping"});
  cmd.standard_output(Stdio::null()).inherit_fd(1, p.write.get());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  p.write.reset();
  EXPECT_EQ(read_all(p.read.get()), "through the mapping");
  EXPECT_TRUE(wait_exit(child).success());
}

TEST(InheritFd, ChildSeesOnlyItsStdioTheMappedFdsAndWhatTheParentLeftInheritable) {
  // Library-internal descriptors (pidfds, error pipes, /dev/null, pipe ends
  // meant for the parent) must never reach the child.
  Pipe extra = make_pipe();
  Command cmd = reporting_probe();
  cmd.standard_input(Stdio::null()).standard_output(Stdio::piped()).standard_error(Stdio::piped());
  cmd.inherit_fd(20, extra.write.get());

  std::set<int> expected = inheritable_fds();  // at spawn time
  expected.insert({0, 1, 2, 20, kReportFd});

  Pipe report = make_pipe();
  cmd.inherit_fd(kReportFd, report.write.get());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  report.write.reset();
  ProbeReport r = parse_report(read_all(report.read.get()));
  EXPECT_TRUE(wait_exit(child).success());
  ASSERT_TRUE(r.complete);

  EXPECT_EQ(r.fd_numbers(), expected);
  for (const auto& [n, seen] : r.fds)
    if (n > 2 && n != 20 && n != kReportFd) {
      EXPECT_EQ(seen.id, fd_identity(n)) << "fd " << n << " (" << seen.target << ") should be the parent's";
    }
}

TEST(InheritFd, TheParentsDescriptorTableIsUntouched) {
  Pipe a = make_pipe(), b = make_pipe();
  std::map<int, std::pair<std::string, int>> before;
  for (int fd : open_fds()) before[fd] = {fd_identity(fd), ::fcntl(fd, F_GETFD)};

  Command cmd = probe();
  cmd.inherit_fd(a.write.get(), b.write.get()).inherit_fd(b.write.get(), a.write.get());
  cmd.inherit_fd(0, a.read.get()).standard_output(Stdio::null());
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  EXPECT_TRUE(wait_exit(child).success());

  for (const auto& [fd, idflags] : before) {
    EXPECT_EQ(fd_identity(fd), idflags.first) << "fd " << fd;
    EXPECT_EQ(::fcntl(fd, F_GETFD), idflags.second) << "fd " << fd;
  }
}
