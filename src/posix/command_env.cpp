// SPDX-License-Identifier: MIT
#include "posix/command_env.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <unordered_set>

#include "common/command_access.hpp"

namespace taskport::posix {

bool env_has_key(const std::string& entry, const std::string& key) {
  return entry.size() > key.size() && entry[key.size()] == '=' && entry.compare(0, key.size(), key) == 0;
}

void env_set(std::vector<std::string>& env, const std::string& key, const std::string* value) {
  const auto has_key = [&](const std::string& e) { return env_has_key(e, key); };
  auto first = std::find_if(env.begin(), env.end(), has_key);
  if (first == env.end()) {
    if (value != nullptr) env.push_back(key + "=" + *value);
    return;
  }
  // Every copy goes (an environ may hold a key twice); a new value takes the
  // place of the first.
  const auto rest = value != nullptr ? std::next(first) : first;
  if (value != nullptr) *first = key + "=" + *value;
  env.erase(std::remove_if(rest, env.end(), has_key), env.end());
}

std::vector<std::string> edited_env(const Command& cmd, char** parent_env) {
  std::vector<std::string> env;
  if (!cmd.get_env_clear() && parent_env != nullptr) {
    // Like a map, as Rust std and CPython take it: one entry per key, the
    // first (the one getenv() finds). An entry without '=' is kept as is.
    std::unordered_set<std::string_view> seen;
    for (char** e = parent_env; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const auto eq = entry.find('=');
      if (eq == std::string_view::npos || seen.insert(entry.substr(0, eq)).second) env.emplace_back(entry);
    }
  }
  for (const auto& edit : cmd.get_envs()) env_set(env, edit.key, edit.value ? &*edit.value : nullptr);
  return env;
}

std::string search_path(const Command& cmd, const char* default_path) {
  const auto& edits = cmd.get_envs();
  for (auto it = edits.rbegin(); it != edits.rend(); ++it) {
    if (it->key == "PATH") return it->value ? *it->value : default_path;
  }
  if (!cmd.get_env_clear()) {
    if (const char* path = std::getenv("PATH")) return path;
  }
  return default_path;
}

std::vector<std::string> path_candidates(const std::string& path, const std::string& program) {
  std::vector<std::string> candidates;
  size_t begin = 0;
  while (true) {
    const size_t end = std::min(path.find(':', begin), path.size());
    const std::string dir = path.substr(begin, end - begin);
    candidates.push_back(dir.empty() ? program : dir + "/" + program);
    if (end == path.size()) break;
    begin = end + 1;
  }
  return candidates;
}

void build_argv(const Command& cmd, std::vector<char*>& argv, std::vector<char*>& sh_argv) {
  // execve's argv is char* const[] but the kernel only reads the strings.
  const auto text = [](const std::string& s) { return const_cast<char*>(s.c_str()); };
  const auto& args = cmd.get_args();
  const auto& arg0 = detail::CommandAccess::arg0(cmd);
  argv.reserve(args.size() + 2);
  argv.push_back(text(arg0 ? *arg0 : cmd.get_program()));
  for (const auto& a : args) argv.push_back(text(a));
  argv.push_back(nullptr);

  // ENOEXEC: execvp runs the file with the shell; the child fills slot 1.
  static char sh[] = "/bin/sh";
  sh_argv.reserve(args.size() + 3);
  sh_argv.push_back(sh);
  sh_argv.push_back(nullptr);
  for (const auto& a : args) sh_argv.push_back(text(a));
  sh_argv.push_back(nullptr);
}

}  // namespace taskport::posix
