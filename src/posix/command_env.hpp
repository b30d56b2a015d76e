// SPDX-License-Identifier: MIT
// What both POSIX spawn paths (Linux clone + execve, macOS posix_spawn or
// fork + exec) prepare in the parent from a Command: the child's edited
// environment, the PATH search candidates (execvp's rules) and argv.
#pragma once

#include <errno.h>

#include <string>
#include <vector>

#include "taskport/command.hpp"

namespace taskport::posix {

// True if the environment entry "KEY=value" has the key `key`.
bool env_has_key(const std::string& entry, const std::string& key);

// Sets `key` to `*value` in `env` (replacing its first entry and removing
// any other, or appending one), or removes every entry of it when `value`
// is null.
void env_set(std::vector<std::string>& env, const std::string& key, const std::string* value);

// The child's environment as Command edits it: `parent_env` (a
// NULL-terminated environ, may be null; a key it holds twice is taken once,
// the first, as getenv() does) unless the Command cleared it, with the
// Command's env edits applied in order.
std::vector<std::string> edited_env(const Command& cmd, char** parent_env);

// The PATH the search uses: the child's if the Command sets or removes it,
// else the parent's (unless the environment was cleared), else
// `default_path` (the platform's execvp fallback).
std::string search_path(const Command& cmd, const char* default_path);

// The execve candidates for `program` (a name without '/') along `path`, in
// order; the empty entry means the working directory (the bare name).
std::vector<std::string> path_candidates(const std::string& path, const std::string& program);

// execvp's rule for a PATH candidate that execve (or the parent's look at
// it) refused with `error` (glibc posix/execvpe.c; Rust std, CPython and
// posix_spawnp alike): true if the search goes on to the next candidate —
// the file is missing or not runnable by us: ENOENT (also a "#!" naming a
// missing interpreter), ENOTDIR, ESTALE, ENODEV, ETIMEDOUT, EACCES — false
// if it ends there with `error` (the file is there but cannot be run: E2BIG,
// ELOOP, ETXTBSY, ...). When every candidate fails, the search reports
// EACCES if one said EACCES, else the last error. Pure: usable between
// fork/clone and exec.
constexpr bool path_search_goes_on(int error) noexcept {
  return error == ENOENT || error == ENOTDIR || error == ESTALE || error == ENODEV || error == ETIMEDOUT ||
         error == EACCES;
}

// argv (the Command's arg0 or program, then its args) as NULL-terminated
// pointers into the Command's own strings (no copies: the Command outlives
// the plan, which lives for one spawn call), and the ENOEXEC fallback
// "/bin/sh", <script>, argv[1..], NULL in `sh_argv` (slot 1 left null for
// the caller to fill in with the script).
void build_argv(const Command& cmd, std::vector<char*>& argv, std::vector<char*>& sh_argv);

}  // namespace taskport::posix
