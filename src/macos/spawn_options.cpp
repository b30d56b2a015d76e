// SPDX-License-Identifier: MIT
#include "macos/spawn_options.hpp"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "common/command_access.hpp"

// Exported by libSystem since macOS 10.15 but declared only in Apple's
// private spawn_private.h (xnu libsyscall/wrappers/spawn/spawn_private.h;
// implemented in libsyscall/wrappers/spawn/posix_spawn.c, applied by the
// kernel in bsd/kern/kern_exec.c spawn_posix_cred_adopt: setgid, then
// setgroups, then setuid).
extern "C" {
int posix_spawnattr_set_uid_np(const posix_spawnattr_t* attr, uid_t uid);
int posix_spawnattr_set_gid_np(const posix_spawnattr_t* attr, gid_t gid);
int posix_spawnattr_set_groups_np(const posix_spawnattr_t* attr, int ngroups, gid_t* gidarray, uid_t gmuid);
}

namespace taskport::backend {
namespace {

using detail::CommandAccess;

// bsd/sys/kauth.h: "not a valid UID" — what plain setgroups(2) passes as the
// group-membership uid (bsd/kern/kern_prot.c setgroups).
constexpr uid_t kKauthUidNone = ~static_cast<uid_t>(0) - 100;

bool placed(const SpawnPlan& plan, int fd) {
  for (const posix::Redirect& r : plan.redirects) {
    if (r.child_fd == fd) return true;
  }
  return false;
}

bool wants_credentials(const Command& cmd) {
  return CommandAccess::uid(cmd) || CommandAccess::gid(cmd) || CommandAccess::groups(cmd);
}

// The first credential step the kernel would take (gid, groups, uid): the
// step an EPERM is reported with.
Step first_credential_step(const Command& cmd) {
  if (CommandAccess::gid(cmd)) return Step::setgid;
  if (CommandAccess::groups(cmd)) return Step::setgroups;
  return Step::setuid;
}

// uid() without groups() leaves the child only its primary group: the
// kernel turns an empty list into {0} (kern_prot.c setgroups_internal).
std::vector<gid_t> child_groups(const Command& cmd) {
  if (const auto& groups = CommandAccess::groups(cmd)) return *groups;
  return {CommandAccess::gid(cmd).value_or(::getgid())};
}

void add_credentials(const Command& cmd, posix_spawnattr_t* attr) {
  const std::string& program = cmd.get_program();
  if (::geteuid() != 0) {
    throw Error(EPERM, first_credential_step(cmd), program,
                "posix_spawn sets uid/gid/groups only for root (xnu bsd/kern/kern_exec.c posix_spawn: "
                "kauth_cred_issuser)");
  }
  if (const auto& gid = CommandAccess::gid(cmd)) {
    if (int rc = ::posix_spawnattr_set_gid_np(attr, *gid); rc != 0)
      throw Error(rc, Step::spawn_attributes, program, "posix_spawnattr_set_gid_np");
  }
  if (CommandAccess::groups(cmd) || CommandAccess::uid(cmd)) {
    std::vector<gid_t> groups = child_groups(cmd);
    if (int rc = ::posix_spawnattr_set_groups_np(attr, static_cast<int>(groups.size()), groups.data(),
                                                 kKauthUidNone);
        rc != 0) {
      throw Error(rc, Step::spawn_attributes, program, "posix_spawnattr_set_groups_np");
    }
  }
  if (const auto& uid = CommandAccess::uid(cmd)) {
    if (int rc = ::posix_spawnattr_set_uid_np(attr, *uid); rc != 0)
      throw Error(rc, Step::spawn_attributes, program, "posix_spawnattr_set_uid_np");
  }
}

// Every descriptor without FD_CLOEXEC that is not placed (those with it go
// at exec anyway, among them the exec-notification pipe of launch.cpp).
void close_inheritable(const SpawnPlan& plan) noexcept {
  const int end = ::getdtablesize();
  for (int fd = 3; fd < end; ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0 && !placed(plan, fd)) ::close(fd);
  }
}

int set_forked_credentials(const Command& cmd, Step& step) noexcept {
  const auto& groups = CommandAccess::groups(cmd);
  const auto& gid = CommandAccess::gid(cmd);
  const auto& uid = CommandAccess::uid(cmd);
  if (groups || uid) {
    step = Step::setgroups;
    gid_t primary = gid.value_or(::getgid());
    const int rc =
        groups ? ::setgroups(static_cast<int>(groups->size()), groups->data()) : ::setgroups(1, &primary);
    // As on Linux: dropping the groups for uid() alone is best effort.
    if (rc != 0 && (groups || errno != EPERM)) return errno;
  }
  if (gid) {
    step = Step::setgid;
    if (::setgid(*gid) != 0) return errno;
  }
  if (uid) {
    step = Step::setuid;
    if (::setuid(*uid) != 0) return errno;
  }
  return 0;
}

}  // namespace

short spawn_option_flags(const Command& cmd) noexcept {
  return CommandAccess::close_other_fds(cmd) ? static_cast<short>(POSIX_SPAWN_CLOEXEC_DEFAULT) : 0;
}

void add_spawn_options(const Command& cmd, const SpawnPlan& plan, posix_spawnattr_t* attr,
                       posix_spawn_file_actions_t* actions) {
  if (CommandAccess::close_other_fds(cmd)) {
    // With POSIX_SPAWN_CLOEXEC_DEFAULT only the descriptors the file actions
    // name survive (bsd/kern/kern_exec.c exec_handle_file_actions): the
    // placements are dup2 actions; stdio that is inherited as it is must be
    // named too. An inherit action on a closed descriptor fails (EBADF), so
    // only open ones are named.
    for (int fd = 0; fd < 3; ++fd) {
      if (placed(plan, fd) || ::fcntl(fd, F_GETFD) < 0) continue;
      if (int rc = ::posix_spawn_file_actions_addinherit_np(actions, fd); rc != 0)
        throw Error(rc, Step::spawn_attributes, cmd.get_program(), "posix_spawn_file_actions_addinherit_np");
    }
  }
  if (wants_credentials(cmd)) add_credentials(cmd, attr);
}

int apply_forked_child_options(const Command& cmd, const SpawnPlan& plan, Step& step) noexcept {
  if (CommandAccess::close_other_fds(cmd)) {
    step = Step::close_fds;
    close_inheritable(plan);
  }
  if (!wants_credentials(cmd)) return 0;
  return set_forked_credentials(cmd, step);
}

}  // namespace taskport::backend
