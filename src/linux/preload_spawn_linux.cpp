// SPDX-License-Identifier: MIT
// spawn_with_task() through the preload: LD_PRELOAD=<preload library> plus a
// rendezvous; the library's initializer (preload_linux.c) sends the
// program's handle before main.
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "common/child_guard.hpp"
#include "common/command_access.hpp"
#include "common/preload_library.hpp"
#include "common/validate_command.hpp"
#include "linux/preload_spawn.hpp"
#include "linux/rendezvous_accept.hpp"
#include "linux/rendezvous_wire.h"
#include "posix/eintr.hpp"
#include "taskport/error.hpp"
#include "taskport/rendezvous.hpp"

namespace taskport::backend::rendezvous {
namespace {

// The LD_PRELOAD the child would get without us.
std::optional<std::string> child_ld_preload(const Command& cmd) {
  const auto& edits = cmd.get_envs();
  for (auto it = edits.rbegin(); it != edits.rend(); ++it) {
    if (it->key == "LD_PRELOAD") return it->value;
  }
  if (!cmd.get_env_clear()) {
    if (const char* value = std::getenv("LD_PRELOAD")) return std::string(value);
  }
  return std::nullopt;
}

// The preload library as an absolute path (the loader resolves a relative
// one against the child's working directory, which may differ).
std::string resolved_library(const std::string& program) {
  std::string path = common::find_preload_library(program);
  if (path.find_first_of(": ") != std::string::npos) {
    throw Error(EINVAL, Step::rendezvous, program,
                "preload library path '" + path + "' contains ':' or ' ', which separate LD_PRELOAD entries");
  }
  return path;
}

bool read_exact(int fd, void* buf, size_t size, off_t offset) {
  auto* out = static_cast<char*>(buf);
  while (size > 0) {
    const ssize_t n = posix::retry_on_eintr([&] { return ::pread(fd, out, size, offset); });
    if (n <= 0) return false;
    out += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

#if defined(__x86_64__)
constexpr int kOwnMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kOwnMachine = EM_AARCH64;
#elif defined(__i386__)
constexpr int kOwnMachine = EM_386;
#else
constexpr int kOwnMachine = -1;  // not checked
#endif

struct Impossible {
  int error;
  std::string why;
};

// Why the dynamic loader will never run the preload in `pid`, when that can
// be seen at once (and this process may read the child's /proc files): the
// program runs in secure-execution mode, is statically linked, or is built
// for another ELF class or machine. nullopt: no such reason found.
std::optional<Impossible> preload_impossible(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  if (UniqueFd auxv{::open((proc + "/auxv").c_str(), O_RDONLY | O_CLOEXEC)}) {
    ElfW(auxv_t) entry;
    for (off_t at = 0; read_exact(auxv.get(), &entry, sizeof entry, at) && entry.a_type != AT_NULL;
         at += static_cast<off_t>(sizeof entry)) {
      if (entry.a_type == AT_SECURE && entry.a_un.a_val != 0) {
        return Impossible{
            EPERM,
            "the program runs in secure-execution mode (setuid, setgid or file capabilities): the "
            "dynamic loader ignores LD_PRELOAD"};
      }
    }
  }
  UniqueFd exe(::open((proc + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
  if (!exe) return std::nullopt;
  unsigned char ident[EI_NIDENT];
  if (!read_exact(exe.get(), ident, sizeof ident, 0) || ident[EI_MAG0] != ELFMAG0 ||
      ident[EI_MAG1] != ELFMAG1 || ident[EI_MAG2] != ELFMAG2 || ident[EI_MAG3] != ELFMAG3) {
    return std::nullopt;
  }
  const int own_class = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
  if (ident[EI_CLASS] != own_class) {
    return Impossible{ENOEXEC, std::string("the program is a ") +
                                   (ident[EI_CLASS] == ELFCLASS64 ? "64" : "32") +
                                   "-bit executable: the preload library cannot load into it"};
  }
  ElfW(Ehdr) header;
  if (!read_exact(exe.get(), &header, sizeof header, 0)) return std::nullopt;
  if (kOwnMachine >= 0 && header.e_machine != kOwnMachine) {
    return Impossible{ENOEXEC, "the program is built for another machine (ELF e_machine " +
                                   std::to_string(header.e_machine) +
                                   "): the preload library cannot load into it"};
  }
  if (header.e_phentsize != sizeof(ElfW(Phdr))) return std::nullopt;
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    ElfW(Phdr) ph;
    if (!read_exact(exe.get(), &ph, sizeof ph, static_cast<off_t>(header.e_phoff + i * sizeof ph))) {
      return std::nullopt;
    }
    if (ph.p_type == PT_INTERP) return std::nullopt;  // dynamically linked: the loader runs
  }
  return Impossible{ENOEXEC,
                    "the program is statically linked: no dynamic loader runs, so LD_PRELOAD is never read"};
}

}  // namespace

std::pair<Child, Task> spawn_with_task_via_preload(const Command& cmd) {
  common::validate_command(cmd, true);  // before the library is looked for or the socket made
  const std::string& program = cmd.get_program();
  const std::string lib = resolved_library(program);
  const bool suspended = detail::CommandAccess::start_suspended(cmd);

  UniqueFd ours, theirs;
  make_socket_pair(ours, theirs, Step::rendezvous, program);

  // The command as given, plus the preload and the rendezvous. Suspension
  // happens in the initializer instead of at exec (a child stopped at exec
  // could never send).
  Command c = cmd;
  c.task_via_preload(false).start_suspended(false);
  const auto existing = child_ld_preload(cmd);
  c.env("LD_PRELOAD", existing && !existing->empty() ? lib + ":" + *existing : lib);
  const int child_fd = free_child_fd(c, theirs.get());
  c.env(TP_RDV_ENV_FD, std::to_string(child_fd));
  if (suspended) {
    c.env(TP_RDV_ENV_WAIT, "1");
  } else {
    c.env_remove(TP_RDV_ENV_WAIT);
  }
  c.inherit_fd(child_fd, theirs.get());

  Child child = c.spawn();
  theirs.reset();
  common::ChildGuard guard(child);
  if (auto impossible = preload_impossible(child.pid())) {
    throw Error(impossible->error, Step::accept_task, program, impossible->why);
  }
  Expectation expect = common::expect_from(child);
  expect.deadline =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                             detail::CommandAccess::preload_timeout(cmd));
  expect.hint = "the preload library " + lib +
                " did not run in it (does the program reset LD_PRELOAD? LD_DEBUG=libs shows what the dynamic "
                "loader does)";
  Task task = make_task(receive_handover(ours.get(), expect), child.pid(), program, /*mem_first=*/true);
  // The child waits in the initializer: suspend it there, then let it go —
  // it stays stopped until the Task's resume().
  if (suspended) task.suspend();
  let_child_go(ours.get());
  guard.dismiss();
  return {std::move(child), std::move(task)};
}

}  // namespace taskport::backend::rendezvous
