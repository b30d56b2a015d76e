// SPDX-License-Identifier: MIT
// A program built with -fno-exceptions -fno-rtti that uses taskport through
// its non-throwing forms only, provoking each kind of failure and checking
// what it gets: the errno (std::error_code), and the step and program from
// taskport::last_error(). Exits 0 if every check holds; prints each failed
// check. The permission checks need root (to become uid 65534 in a forked
// child); without root they are reported as skipped.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "taskport/taskport.hpp"

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(__GXX_RTTI)
#error "build this file with -fno-exceptions -fno-rtti"
#endif

namespace {

using namespace std::chrono_literals;
using taskport::Command;
using taskport::last_error;
using taskport::Step;

int g_failures = 0;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      ++g_failures;                                                                                \
      std::fprintf(stderr, "%s:%d: CHECK(%s) failed; last_error: %s\n", __FILE__, __LINE__, #cond, \
                   last_error().what());                                                           \
    }                                                                                              \
  } while (0)

// The failure just reported: `ec` holds `error`, and last_error() names
// `step` and `program`.
void expect_failure(const char* what, const std::error_code& ec, int error, Step step,
                    const std::string& program) {
  const bool ok = ec.value() == error && ec.category() == std::generic_category() &&
                  last_error().errno_value() == error && last_error().step() == step &&
                  program == last_error().program() &&
                  std::strstr(last_error().what(), "taskport: ") != nullptr;
  std::printf("%-44s %s: %s\n", what, ok ? "ok" : "FAILED", last_error().what());
  if (!ok) {
    ++g_failures;
    std::fprintf(
        stderr, "  wanted errno %d, step '%s', program '%s'; got errno %d (ec %d), step '%s', program '%s'\n",
        error, taskport::to_string(step), program.c_str(), last_error().errno_value(), ec.value(),
        taskport::to_string(last_error().step()), last_error().program());
  }
}

void missing_program() {
  std::error_code ec;
  auto child = Command("tp-no-such-program").spawn(ec);
  CHECK(!child);
  expect_failure("missing program", ec, ENOENT, Step::resolve_program, "tp-no-such-program");
  auto out = Command("/nonexistent/program").output(ec);
  CHECK(!out);
  expect_failure("missing program (a path), output()", ec, ENOENT, Step::execve, "/nonexistent/program");
}

void failed_exec_step() {
  std::error_code ec;
  auto child = Command("/bin/true").current_dir("/nonexistent-directory").spawn(ec);
  CHECK(!child);
  expect_failure("failed exec step (chdir)", ec, ENOENT, Step::chdir, "/bin/true");
}

void invalid_command() {
  std::error_code ec;
  auto child = Command("/bin/true").start_suspended().spawn(ec);
  CHECK(!child);
  expect_failure("invalid Command (start_suspended, spawn)", ec, EINVAL, Step::validate_command, "/bin/true");
  auto status = Command("/bin/true").rlimit(RLIMIT_NOFILE, 20, 10).status(ec);
  CHECK(!status);
  expect_failure("invalid Command (rlimit soft > hard)", ec, EINVAL, Step::validate_command, "/bin/true");
}

void dead_task() {
  std::error_code ec;
  auto spawned = Command("/bin/true").spawn_with_task(ec);
  CHECK(spawned && !ec);
  if (!spawned) return;
  auto& [child, task] = *spawned;
  auto status = child.wait(ec);
  CHECK(status && status->success() && !ec);
  std::uint64_t value = 0;
  CHECK(!task.read(0x10000, &value, sizeof value, ec));
  expect_failure("dead task: read", ec, ESRCH, Step::read_memory, "/bin/true");
  CHECK(!task.threads(ec));
  expect_failure("dead task: threads", ec, ESRCH, Step::read_threads, "/bin/true");
  CHECK(!task.signal(SIGTERM, ec));
  expect_failure("dead task: signal", ec, ESRCH, Step::send_signal, "/bin/true");
  const auto alive = task.is_alive(ec);
  CHECK(alive && !*alive && !ec);
  CHECK(!child.signal(SIGTERM, ec));
  expect_failure("reaped child: signal", ec, ESRCH, Step::send_signal, "/bin/true");
}

void unmapped_read_and_optionals() {
  std::error_code ec;
  auto spawned = Command("/bin/sleep").arg("30").spawn_with_task(ec);
  CHECK(spawned);
  if (!spawned) return;
  auto& [child, task] = *spawned;
  CHECK(!task.read_value<std::uint64_t>(8, ec));
  expect_failure("unmapped read", ec, EFAULT, Step::read_memory, "/bin/sleep");
  // Optionals stay optionals: empty with a clear ec is "none" / "not yet".
  ec = std::make_error_code(std::errc::io_error);
  CHECK(!task.region_at(8, ec) && !ec);
  ec = std::make_error_code(std::errc::io_error);
  CHECK(!child.try_wait(ec) && !ec);
  CHECK(!child.wait_for(1ms, ec) && !ec);
  // Success leaves last_error() alone.
  const int before = last_error().errno_value();
  CHECK(task.regions(ec) && !ec);
  CHECK(last_error().errno_value() == before);
  const auto resident = task.regions_with_resident_size(ec);
  CHECK(resident && !ec && !resident->empty());
  if (resident && !resident->empty()) CHECK(resident->front().resident_bytes.has_value());
  // Running out of memory is ENOMEM, not an exception: a vector longer than
  // a vector can be (std::length_error) ...
  CHECK(!task.read(0x10000, std::size_t{1} << 63, ec));
  expect_failure("allocation failure (length_error)", ec, ENOMEM, Step::read_memory, "/bin/sleep");
  // ... and one the allocator refuses (std::bad_alloc). The sanitizers'
  // operator new does not throw when it cannot allocate: it ends the
  // program, so this part is left to the build without them.
  if (!kSanitized) {
    CHECK(!task.read(0x10000, std::size_t{1} << 60, ec));
    expect_failure("allocation failure (bad_alloc)", ec, ENOMEM, Step::read_memory, "/bin/sleep");
  }
  const auto status = child.terminate(5s, ec);
  CHECK(status && status->signal() == SIGTERM);
}

// In a forked child as uid 65534 (glibc's setresuid is safe there: one
// thread): Task::open works, reading root's process is refused, spawning
// as root is refused.
int refused_as_nobody(pid_t root_pid) {
  if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
      ::setresuid(65534, 65534, 65534) != 0) {
    std::fprintf(stderr, "could not become uid 65534\n");
    return 1;
  }
  std::error_code ec;
  auto task = taskport::Task::open(root_pid, ec);
  CHECK(task && !ec);
  if (!task) return 1;
  const std::string program = "pid " + std::to_string(root_pid);
  CHECK(!task->read_value<std::uint64_t>(0x10000, ec));
  expect_failure("refused permission: read", ec, EPERM, Step::read_memory, program);
  CHECK(std::strstr(last_error().what(), "this process as uid 65534") != nullptr);
  CHECK(!task->regions(ec));
  expect_failure("refused permission: regions", ec, EACCES, Step::read_regions, program);
  CHECK(!task->regions_with_resident_size(ec));
  expect_failure("refused permission: regions_with_resident_size", ec, EACCES, Step::read_regions, program);
  auto child = Command("/bin/true").uid(0).spawn(ec);
  CHECK(!child);
  expect_failure("refused permission: uid(0)", ec, EPERM, Step::setuid, "/bin/true");
  return g_failures == 0 ? 0 : 1;
}

void refused_permission() {
  if (::geteuid() != 0) {
    std::printf("refused permission: skipped (needs root)\n");
    return;
  }
  std::error_code ec;
  auto target = Command("/bin/sleep").arg("30").spawn(ec);
  CHECK(target);
  if (!target) return;
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int rc = refused_as_nobody(target->pid());
    std::fflush(stdout);
    ::_exit(rc);
  }
  int status = 0;
  CHECK(pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(target->terminate(5s, ec));
}

void long_program_is_cut() {
  const std::string program = "/nonexistent/" + std::string(400, 'x');
  std::error_code ec;
  CHECK(!Command(program).spawn(ec));
  CHECK(last_error().truncated());
  CHECK(std::strlen(last_error().program()) == taskport::ErrorInfo::kProgramCapacity - 1);
  CHECK(program.compare(0, std::strlen(last_error().program()), last_error().program()) == 0);
}

}  // namespace

int main() {
  missing_program();
  failed_exec_step();
  invalid_command();
  dead_task();
  unmapped_read_and_optionals();
  refused_permission();
  long_program_is_cut();
  std::printf("noexcept consumer: %s (%d failed)\n", g_failures == 0 ? "all checks hold" : "FAILED",
              g_failures);
  return g_failures == 0 ? 0 : 1;
}
