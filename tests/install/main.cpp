// SPDX-License-Identifier: MIT
// Consumer of an installed taskport (tests/install/run_install_test.cmake):
// what a user's program does with it, checked from the outside.
//
//   consumer                     spawn /bin/true with a task; headers and
//                                library agree; a taskport::Error thrown in
//                                the library is caught as one here
//   consumer preload [PREFIX]    also: Command::task_via_preload() gives a
//                                Task, with the preload library found under
//                                PREFIX (nothing set in the environment)
//   consumer preload-or-fix      the same, or it fails with an Error that
//                                names the fix (TASKPORT_PRELOAD_LIBRARY)
// Exit 0 when everything holds; 1 with a message otherwise.
// $CONSUMER_TRUE and $CONSUMER_ECHO replace /bin/true and /bin/echo (on
// macOS every spawn_with_task() goes through the preload, which dyld does
// not insert into platform binaries such as /bin/true).
#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include <taskport/taskport.hpp>

namespace {

std::string program(const char* variable, const char* fallback) {
  const char* value = std::getenv(variable);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "consumer: %s\n", what.c_str());
  return 1;
}

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

// The library's own version, against the headers this was compiled with.
int check_versions() {
  static_assert(TASKPORT_VERSION_MAJOR >= 0, "taskport/version.hpp is reachable");
  if (std::strcmp(taskport::library_version(), taskport::version) != 0) {
    return fail(std::string("library version ") + taskport::library_version() + " != header version " +
                taskport::version);
  }
  return 0;
}

// An Error thrown inside the library must match `const taskport::Error&`
// here: with a shared libtaskport that needs its typeinfo exported.
int check_error_crosses() {
  try {
    taskport::Command("/nonexistent/taskport-install-test").spawn();
  } catch (const taskport::Error& e) {
    if (e.errno_value() != ENOENT) return fail(std::string("unexpected error: ") + e.what());
    return 0;
  } catch (const std::exception& e) {
    return fail(std::string("a taskport::Error was not caught as one: ") + e.what());
  } catch (...) {
    return fail("a taskport::Error was not caught as one (nor as std::exception)");
  }
  return fail("spawning a missing program did not throw");
}

int check_spawn() {
  auto [child, task] = taskport::Command(program("CONSUMER_TRUE", "/bin/true")).spawn_with_task();
  if (task.pid() != child.pid()) return fail("task pid != child pid");
  const taskport::ExitStatus status = child.wait();
  if (!status.success()) return fail("the true program ended with " + status.to_string());
  return 0;
}

int check_preload(bool fix_is_enough, const char* expected_prefix) {
  try {
    auto [child, task] = taskport::Command(program("CONSUMER_ECHO", "/bin/echo"))
                             .arg("hi")
                             .task_via_preload()
                             .spawn_with_task();
    if (task.pid() != child.pid()) return fail("preload: task pid != child pid");
    const taskport::ExitStatus status = child.wait();
    if (!status.success()) return fail("preload: the echo program ended with " + status.to_string());
  } catch (const taskport::Error& e) {
    const std::string what = e.what();
    if (fix_is_enough && e.step() == taskport::Step::rendezvous &&
        what.find("TASKPORT_PRELOAD_LIBRARY") != std::string::npos) {
      std::printf("consumer: no preload library, and the error names the fix: %s\n", what.c_str());
      return 0;
    }
    return fail("preload: " + what);
  }
  const std::string lib = real(taskport::preload_library());
  if (expected_prefix != nullptr) {
    const std::string prefix = real(expected_prefix) + "/";
    if (lib.compare(0, prefix.size(), prefix) != 0) {
      return fail("preload library " + lib + " is not under " + prefix);
    }
  }
  std::printf("consumer: task via the preload library %s\n", lib.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (int rc = check_versions()) return rc;
    if (int rc = check_error_crosses()) return rc;
    if (int rc = check_spawn()) return rc;
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "preload" || mode == "preload-or-fix") {
      if (int rc = check_preload(mode == "preload-or-fix", argc > 2 ? argv[2] : nullptr)) return rc;
    } else if (!mode.empty()) {
      return fail("unknown mode '" + mode + "'");
    }
    std::printf("consumer: taskport %s (library %s): ok\n", taskport::version, taskport::library_version());
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
