// SPDX-License-Identifier: MIT
// A minimal JSON writer for the CLI's --json output (objects, strings,
// numbers, booleans): enough for flat reports, no dependency.
#pragma once

#include <string>

namespace taskport_cli {

class JsonObject {
 public:
  JsonObject& field(const std::string& key, const std::string& value);
  JsonObject& field(const std::string& key, const char* value) { return field(key, std::string(value)); }
  JsonObject& field(const std::string& key, long long value);
  JsonObject& field(const std::string& key, bool value);
  JsonObject& field(const std::string& key, const JsonObject& value);
  JsonObject& null_field(const std::string& key);
  // `json` must already be valid JSON (an array built by the caller).
  JsonObject& raw_field(const std::string& key, const std::string& json);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(const std::string& k);
  std::string body_;
};

std::string json_quote(const std::string& s);

}  // namespace taskport_cli
