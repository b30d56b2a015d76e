// SPDX-License-Identifier: MIT
// Rendezvous: a child hands its own task handle to its spawner after exec.
// What the spawner gets, whom it believes, and that it never hangs.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "rdv_support.hpp"
#include "support.hpp"
#include "taskport/taskport.hpp"

using namespace tp_rdv;
using taskport::Child;
using taskport::Command;
using taskport::Error;
using taskport::Rendezvous;
using taskport::Stdio;
using taskport::Step;
using taskport::Task;
using tp_test::inheritable_fds;
using tp_test::open_fds;
using tp_test::pidfd_pid;
using tp_test::wait_exit;

extern char** environ;

namespace {

// Descriptors open now that were not in `before`.
std::set<int> new_fds(const std::set<int>& before) {
  std::set<int> added;
  for (int fd : open_fds()) {
    if (before.count(fd) == 0) added.insert(fd);
  }
  return added;
}

using clock_type = std::chrono::steady_clock;

// Spawns `cmd` through `rdv` (prepare + spawn); the child is killed when the
// test ends, whatever happens.
Child spawn_prepared(Rendezvous& rdv, Command cmd) {
  rdv.prepare(cmd);
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  return child;
}

// The descriptor number prepare() gave the child.
int rendezvous_number(const Command& cmd) {
  for (const auto& e : cmd.get_envs()) {
    if (e.key == taskport::kRendezvousFdVariable && e.value) return std::stoi(*e.value);
  }
  return -1;
}

// accept() that must fail: returns the Error and how long accept took.
std::pair<std::optional<Error>, std::chrono::milliseconds> failed_accept(Rendezvous& rdv, const Child& child,
                                                                         std::chrono::milliseconds timeout) {
  const auto t0 = clock_type::now();
  std::optional<Error> error;
  try {
    rdv.accept(child, timeout);
  } catch (const Error& e) {
    error = e;
  }
  return {error, std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0)};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

// ---- what the spawner gets -----------------------------------------------------------

TEST(Rendezvous, AcceptReturnsATaskNamingTheChild) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--send", "--serve"}));
  Task task = rdv.accept(child, kLong);
  EXPECT_EQ(task.pid(), child.pid());
  EXPECT_EQ(pidfd_pid(task.native_handle()), child.pid());
  EXPECT_TRUE(task.is_alive());
  Lines out(child.stdout_pipe().get());
  EXPECT_EQ(out.next(), "sent 1");
}

TEST(Rendezvous, TaskReadsAndWritesTheChildsMemory) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--send", "--marker", "--serve"}));
  Task task = rdv.accept(child, kLong);
  Lines out(child.stdout_pipe().get());
  const auto marker = out.value("marker");
  ASSERT_TRUE(marker);
  const std::uint64_t address = parse_address(*marker);

  EXPECT_EQ(read_string(task, address), "taskport-marker");
  const char changed[] = "written-by-the-spawner";
  task.write(address, changed, sizeof changed);
  EXPECT_EQ(read_string(task, address), changed);
  tp_test::write_str(child.stdin_pipe().get(), "show\n");
  EXPECT_EQ(out.value("marker"), changed);  // the child itself sees the write
}

TEST(Rendezvous, TaskSupportsTheOtherOperations) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--send", "--serve"}));
  Task task = rdv.accept(child, kLong);
  const auto threads = task.threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].tid, child.pid());
  EXPECT_TRUE(task.info().virtual_size.has_value());
  EXPECT_FALSE(task.regions().empty());
  task.signal(SIGKILL);
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);
  EXPECT_FALSE(task.is_alive());
}

TEST(Rendezvous, ProgramsUsingTheCppApiHandOverTheirTask) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(cxx_target_path(), {"--send", "--marker", "--serve"}));
  Task task = rdv.accept(child, kLong);
  Lines out(child.stdout_pipe().get());
  EXPECT_EQ(out.next(), "sent 1");
  const auto marker = out.value("marker");
  ASSERT_TRUE(marker);
  EXPECT_EQ(read_string(task, parse_address(*marker)), "taskport-marker");
}

TEST(Rendezvous, SendTaskToSpawnerWithoutARendezvousDoesNothing) {
  for (const auto& program : {target_path(), cxx_target_path()}) {
    Child child = helper(program, {"--send"}).spawn();
    child.kill_on_drop(true);
    Lines out(child.stdout_pipe().get());
    EXPECT_EQ(out.next(), "sent 0") << program;
    EXPECT_TRUE(wait_exit(child).success()) << program;
  }
}

TEST(Rendezvous, ChildKeepsNeitherTheVariablesNorTheDescriptorAfterSending) {
  Rendezvous rdv(Rendezvous::Start::when_let_go);  // also sets TASKPORT_RENDEZVOUS_WAIT
  Command cmd = helper(target_path(), {"--report", "--send", "--report"});
  rdv.prepare(cmd);
  const int number = rendezvous_number(cmd);
  ASSERT_GE(number, 3);
  Child child = cmd.spawn();
  child.kill_on_drop(true);
  rdv.accept(child, kLong);
  rdv.let_go();
  Lines out(child.stdout_pipe().get());

  const Report before = parse_helper_report(out.until_end());
  EXPECT_EQ(before.env_value("TASKPORT_RENDEZVOUS_FD"), std::to_string(number));
  EXPECT_EQ(before.env_value("TASKPORT_RENDEZVOUS_WAIT"), "1");
  EXPECT_NE(std::find(before.fds.begin(), before.fds.end(), number), before.fds.end());

  EXPECT_EQ(out.next(), "sent 1");
  const Report after = parse_helper_report(out.until_end());
  EXPECT_FALSE(after.mentions("TASKPORT_")) << "a rendezvous variable is left in the environment";
  EXPECT_EQ(std::find(after.fds.begin(), after.fds.end(), number), after.fds.end());
  const std::set<int> inherited = inheritable_fds();
  for (int fd : after.fds) EXPECT_TRUE(fd <= 2 || inherited.count(fd) != 0) << "extra descriptor " << fd;
}

TEST(Rendezvous, NonDumpableChildHandsOverItsMemoryAndStaysNonDumpable) {
  Rendezvous rdv;
  Child child = spawn_prepared(
      rdv, helper(target_path(), {"--nondumpable", "--send", "--dumpable", "--marker", "--serve"}));
  Task task = rdv.accept(child, kLong);
  Lines out(child.stdout_pipe().get());
  EXPECT_EQ(out.value("dumpable"), "0");
  const auto marker = out.value("marker");
  ASSERT_TRUE(marker);
  EXPECT_EQ(read_string(task, parse_address(*marker)), "taskport-marker");
}

TEST(Rendezvous, ChildSpawnedByOtherMeansIsAcceptedByPid) {
  Rendezvous rdv;
  const Rendezvous::ChildSetup setup = rdv.child_setup();
  ASSERT_EQ(setup.fds.size(), 1u);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // Same number: glibc clears FD_CLOEXEC for a dup2 onto itself.
  posix_spawn_file_actions_adddup2(&actions, setup.fds[0].parent_fd, setup.fds[0].child_fd);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  for (const auto& [k, v] : setup.env) env_storage.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = target_path(), arg1 = "--send", arg2 = "--sleep", arg3 = "30";
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), arg3.data(), nullptr};
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv, envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);

  Task task = rdv.accept(pid, kLong);
  EXPECT_EQ(task.pid(), pid);
  EXPECT_EQ(pidfd_pid(task.native_handle()), pid);
  task.signal(SIGKILL);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  // Known only by its pid: errors name it so.
  try {
    task.signal(SIGKILL);
    ADD_FAILURE() << "Task::signal reached a reaped process";
  } catch (const Error& e) {
    EXPECT_EQ(e.program(), "pid " + std::to_string(pid));
  }
}

TEST(Rendezvous, AcceptAfterSuccessIsRejected) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--send", "--serve"}));
  rdv.accept(child, kLong);
  try {
    rdv.accept(child, 10ms);
    FAIL() << "second accept succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
  }
}

// ---- holding the child ---------------------------------------------------------------

TEST(Rendezvous, HeldChildRunsOnOnlyWhenLetGo) {
  Rendezvous rdv(Rendezvous::Start::when_let_go);
  Child child = spawn_prepared(rdv, helper(target_path(), {"--send", "--serve"}));
  Task task = rdv.accept(child, kLong);
  Lines out(child.stdout_pipe().get());
  EXPECT_EQ(out.next(300ms), std::nullopt) << "the child ran on before let_go()";
  rdv.let_go();
  EXPECT_EQ(out.next(), "sent 1");
}

TEST(Rendezvous, DestroyingTheRendezvousLetsAHeldChildGo) {
  std::optional<Rendezvous> rdv(std::in_place, Rendezvous::Start::when_let_go);
  Child child = spawn_prepared(*rdv, helper(target_path(), {"--send", "--serve"}));
  Task task = rdv->accept(child, kLong);
  Lines out(child.stdout_pipe().get());
  EXPECT_EQ(out.next(200ms), std::nullopt);
  rdv.reset();
  EXPECT_EQ(out.next(), "sent 1");
}

// ---- whom the spawner believes --------------------------------------------------------

TEST(Rendezvous, HandleSentByAnotherProcessIsDiscarded) {
  // A grandchild inherits the child's end and sends its *own* handle first.
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--spoof", "--send", "--marker", "--serve"}));
  Task task = rdv.accept(child, kLong);
  EXPECT_EQ(task.pid(), child.pid());
  EXPECT_EQ(pidfd_pid(task.native_handle()), child.pid());
  Lines out(child.stdout_pipe().get());
  const auto marker = out.value("marker");
  ASSERT_TRUE(marker);
  const char changed[] = "reached-the-real-child";
  task.write(parse_address(*marker), changed, sizeof changed);
  tp_test::write_str(child.stdin_pipe().get(), "show\n");
  EXPECT_EQ(out.value("marker"), changed);
}

TEST(Rendezvous, ChildsPidfdSentByAnotherProcessIsDiscarded) {
  // The other process sends a pidfd that does name the child, with its own
  // memory: only the kernel's sender credentials give it away.
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--spoof-pidfd", "--sleep", "30"}));
  auto [error, took] = failed_accept(rdv, child, 500ms);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ETIMEDOUT);
  EXPECT_EQ(error->step(), Step::accept_task);
  EXPECT_TRUE(contains(error->what(), "discarded a message from pid")) << error->what();
}

TEST(Rendezvous, SpoofedPidfdDoesNotKeepTheRealHandleOut) {
  Rendezvous rdv;
  Child child =
      spawn_prepared(rdv, helper(target_path(), {"--spoof-pidfd", "--send", "--marker", "--serve"}));
  Task task = rdv.accept(child, kLong);
  Lines out(child.stdout_pipe().get());
  const auto marker = out.value("marker");
  ASSERT_TRUE(marker);
  const char changed[] = "only-the-child";
  task.write(parse_address(*marker), changed, sizeof changed);
  tp_test::write_str(child.stdin_pipe().get(), "show\n");
  EXPECT_EQ(out.value("marker"), changed);
}

TEST(Rendezvous, HandleSentFromTheSpawnersOwnProcessIsDiscarded) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--sleep", "30"}));
  // Whoever learns the descriptor — here the spawner itself — is not the child.
  const int fd = rdv.child_setup().fds.at(0).parent_fd;
  ASSERT_EQ(taskport::send_task_to_spawner_signal_safe(fd, false), 0);
  auto [error, took] = failed_accept(rdv, child, 300ms);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ETIMEDOUT);
  EXPECT_TRUE(contains(error->what(), "from pid " + std::to_string(::getpid()))) << error->what();
}

TEST(Rendezvous, MalformedMessageFromTheChildIsAProtocolError) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--garbage", "--sleep", "30"}));
  auto [error, took] = failed_accept(rdv, child, kLong);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), EPROTO);
  EXPECT_LT(took, 5s);
}

// ---- never hanging ---------------------------------------------------------------------

TEST(Rendezvous, ChildKilledBeforeSendingIsReportedWithinASecond) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--sleep", "30"}));
  std::thread killer([&] {
    std::this_thread::sleep_for(200ms);
    ::kill(child.pid(), SIGKILL);
  });
  auto [error, took] = failed_accept(rdv, child, 30s);
  killer.join();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ESRCH);
  EXPECT_TRUE(contains(error->what(), "killed by SIGKILL")) << error->what();
  EXPECT_LT(took, 1200ms);
  EXPECT_EQ(wait_exit(child).signal(), SIGKILL);  // accept never reaps
}

TEST(Rendezvous, ChildThatNeverSendsTimesOut) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--sleep", "30"}));
  auto [error, took] = failed_accept(rdv, child, 300ms);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ETIMEDOUT);
  EXPECT_EQ(error->step(), Step::accept_task);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 2300ms);
  EXPECT_FALSE(child.try_wait().has_value()) << "a timeout must leave the child alone";
}

TEST(Rendezvous, AcceptCanBeRetriedAfterATimeout) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--sleep", "0.5", "--send", "--serve"}));
  auto [error, took] = failed_accept(rdv, child, 50ms);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ETIMEDOUT);
  EXPECT_EQ(rdv.accept(child, kLong).pid(), child.pid());
}

TEST(Rendezvous, ChildExitingWithoutSendingIsAClearError) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {}));
  auto [error, took] = failed_accept(rdv, child, 30s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ESRCH);
  EXPECT_TRUE(contains(error->what(), "exit code 0")) << error->what();
  EXPECT_TRUE(contains(error->what(), "send_task_to_spawner")) << error->what();
  EXPECT_LT(took, 5s);
}

TEST(Rendezvous, ChildClosingTheRendezvousIsReportedAtOnce) {
  Rendezvous rdv;
  Child child = spawn_prepared(rdv, helper(target_path(), {"--close-rendezvous", "--sleep", "30"}));
  auto [error, took] = failed_accept(rdv, child, 30s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->errno_value(), ECONNABORTED);
  EXPECT_LT(took, 5s);
}

// ---- resources ----------------------------------------------------------------------------

TEST(Rendezvous, NoDescriptorLeaksOverAThousandRendezvous) {
  const std::set<int> before = open_fds();
  for (int i = 0; i < 1000; ++i) {
    Rendezvous rdv;
    Command cmd(target_path());
    cmd.arg("--send").standard_output(Stdio::null());
    Child child = spawn_prepared(rdv, cmd);
    Task task = rdv.accept(child, kLong);
    ASSERT_EQ(task.pid(), child.pid());
    ASSERT_TRUE(wait_exit(child).success());
  }
  // Only new descriptors are leaks: one may have closed meanwhile (the
  // library's reaper lets go of the pidfd of an earlier test's child).
  EXPECT_EQ(new_fds(before), std::set<int>{});
}

// ---- across users ------------------------------------------------------------------------

namespace {

// The child runs as uid 65534; the receiver as uid 1000 without any
// capability. Only the handle the child gave lets the receiver in.
constexpr uid_t kChildUid = 65534;
constexpr uid_t kReceiverUid = 1000;

int become_child_uid() {
  // Raw system calls: this runs between clone and exec (PreExecHook contract).
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) return errno;
  if (::syscall(SYS_setresgid, kChildUid, kChildUid, kChildUid) != 0) return errno;
  if (::syscall(SYS_setresuid, kChildUid, kChildUid, kChildUid) != 0) return errno;
  return 0;
}

}  // namespace

class RendezvousAcrossUsers : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the child and the receiver as other users";
    Command cmd = helper(target_path(), {"--send", "--marker", "--serve"});
    cmd.pre_exec(become_child_uid);
    child_.emplace(spawn_prepared(rdv_, cmd));
    out_.emplace(child_->stdout_pipe().get());
    const auto marker = out_->value("marker");
    ASSERT_TRUE(marker);
    marker_ = parse_address(*marker);
  }

  Rendezvous rdv_;
  std::optional<Child> child_;
  std::optional<Lines> out_;
  std::uint64_t marker_ = 0;
};

TEST_F(RendezvousAcrossUsers, ReceiverReadsAndWritesTheChildsMemoryThroughTheHandle) {
  const pid_t pid = child_->pid();
  const std::uint64_t marker = marker_;
  auto facts = in_process_as(kReceiverUid, [&](const Say& say) {
    say("uid", std::to_string(::getuid()));
    say("capeff", effective_capabilities());
    Task task = rdv_.accept(pid, kLong);
    say("read", read_string(task, marker));
    const char changed[] = "written-by-uid-1000";
    task.write(marker, changed, sizeof changed);
    say("reread", read_string(task, marker));
  });
  EXPECT_EQ(facts["exception"], "");
  EXPECT_EQ(facts["uid"], std::to_string(kReceiverUid));
  EXPECT_EQ(facts["capeff"], "0000000000000000");
  EXPECT_EQ(facts["read"], "taskport-marker");
  EXPECT_EQ(facts["reread"], "written-by-uid-1000");
  tp_test::write_str(child_->stdin_pipe().get(), "show\n");
  EXPECT_EQ(out_->value("marker"), "written-by-uid-1000");
}

TEST_F(RendezvousAcrossUsers, ReceiverHasNoAccessWithoutTheHandle) {
  const pid_t pid = child_->pid();
  const std::uint64_t marker = marker_;
  auto facts = in_process_as(kReceiverUid, [&](const Say& say) {
    char buf[16];
    iovec local{buf, sizeof buf};
    iovec remote{reinterpret_cast<void*>(marker), sizeof buf};
    const ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    say("process_vm_readv", n < 0 ? std::to_string(errno) : "read");
    const std::string mem = "/proc/" + std::to_string(pid) + "/mem";
    const int fd = ::open(mem.c_str(), O_RDONLY | O_CLOEXEC);
    say("open_mem", fd < 0 ? std::to_string(errno) : "opened");
    // …while the handed-over handle still works.
    Task task = rdv_.accept(pid, kLong);
    say("read", read_string(task, marker));
  });
  EXPECT_EQ(facts["exception"], "");
  EXPECT_EQ(facts["process_vm_readv"], std::to_string(EPERM));
  EXPECT_EQ(facts["open_mem"], std::to_string(EACCES));
  EXPECT_EQ(facts["read"], "taskport-marker");
}

// Task::regions()/region_at() use the maps descriptor the child handed over:
// opening /proc/<pid>/maps here would be refused across users.
TEST_F(RendezvousAcrossUsers, ReceiverListsTheChildsRegionsThroughTheHandle) {
  const pid_t pid = child_->pid();
  const std::uint64_t marker = marker_;
  auto facts = in_process_as(kReceiverUid, [&](const Say& say) {
    Task task = rdv_.accept(pid, kLong);
    const auto region = task.region_at(marker);
    say("found", region ? "yes" : "no");
    if (region) say("writable", region->protection.write ? "yes" : "no");
  });
  EXPECT_EQ(facts["exception"], "");
  EXPECT_EQ(facts["found"], "yes");
  EXPECT_EQ(facts["writable"], "yes");
}
