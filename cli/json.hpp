// SPDX-License-Identifier: MIT
// The JSON writer of the CLI's --json output: objects, arrays, strings,
// numbers, booleans and null, always valid UTF-8 (docs/cli-json.md).
//
// Text from the system (paths, thread names, argv, messages) is bytes, not
// necessarily UTF-8. text() writes such a string as JSON with every byte
// that is not part of well-formed UTF-8 replaced by U+FFFD, and when there
// was any, adds a twin field "<key>_base64" holding the exact bytes: a
// reader that needs the bytes takes the twin when it is there.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace taskport_cli {

class JsonArray;

class JsonObject {
 public:
  // A text field, with its "<key>_base64" twin when `value` is not UTF-8.
  JsonObject& text(std::string_view key, std::string_view value);
  // An array of texts, with a "<key>_base64" twin array (every element in
  // base64) when any element is not UTF-8.
  JsonObject& texts(std::string_view key, const std::vector<std::string>& values);
  // A string the CLI itself made (ASCII: names, hex numbers).
  JsonObject& word(std::string_view key, std::string_view value);
  JsonObject& number(std::string_view key, std::int64_t value);
  JsonObject& unsigned_number(std::string_view key, std::uint64_t value);
  JsonObject& boolean(std::string_view key, bool value);
  JsonObject& object(std::string_view key, const JsonObject& value);
  JsonObject& array(std::string_view key, const JsonArray& value);
  JsonObject& null(std::string_view key);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_;
};

class JsonArray {
 public:
  JsonArray& add(const JsonObject& value);
  JsonArray& add_number(std::int64_t value);
  JsonArray& add_string(std::string_view value);
  std::string str() const { return "[" + body_ + "]"; }

 private:
  void comma();
  std::string body_;
};

// True if `s` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool is_utf8(std::string_view s) noexcept;
// `s` as a JSON string literal: quoted, escaped, bytes outside well-formed
// UTF-8 replaced by U+FFFD.
std::string json_string(std::string_view s);
// RFC 4648 base64 with padding.
std::string base64(std::string_view bytes);

}  // namespace taskport_cli
