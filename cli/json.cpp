// SPDX-License-Identifier: MIT
#include "json.hpp"

#include <cstdio>

namespace taskport_cli {
namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0 if there is
// none there (Unicode 15, table 3-7: the ranges of each continuation byte).
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = at(i);
  if (b < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (b >= 0xc2 && b <= 0xdf) n = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b == 0xe0) lo = 0xa0;  // no overlong forms
    if (b == 0xed) hi = 0x9f;  // no surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b == 0xf0) lo = 0x90;  // no overlong forms
    if (b == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xbf) return 0;
  }
  return n;
}

void append_escaped(std::string& out, char c) {
  switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += buf;
      } else {
        out += c;
      }
  }
}

}  // namespace

bool is_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else if (n == 1) {
      append_escaped(out, s[i++]);
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out + "\"";
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

void JsonObject::key(std::string_view k) {
  if (!body_.empty()) body_ += ",";
  body_ += json_string(k) + ":";
}

JsonObject& JsonObject::text(std::string_view k, std::string_view value) {
  key(k);
  body_ += json_string(value);
  if (!is_utf8(value)) word(std::string(k) + "_base64", base64(value));
  return *this;
}

JsonObject& JsonObject::texts(std::string_view k, const std::vector<std::string>& values) {
  JsonArray plain, encoded;
  bool all_utf8 = true;
  for (const auto& v : values) {
    plain.add_string(v);  // bytes that are not UTF-8 become U+FFFD
    encoded.add_string(base64(v));
    all_utf8 = all_utf8 && is_utf8(v);
  }
  array(k, plain);
  if (!all_utf8) array(std::string(k) + "_base64", encoded);
  return *this;
}

JsonObject& JsonObject::word(std::string_view k, std::string_view value) {
  key(k);
  body_ += json_string(value);
  return *this;
}

JsonObject& JsonObject::number(std::string_view k, std::int64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

JsonObject& JsonObject::unsigned_number(std::string_view k, std::uint64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

JsonObject& JsonObject::boolean(std::string_view k, bool value) {
  key(k);
  body_ += value ? "true" : "false";
  return *this;
}

JsonObject& JsonObject::object(std::string_view k, const JsonObject& value) {
  key(k);
  body_ += value.str();
  return *this;
}

JsonObject& JsonObject::array(std::string_view k, const JsonArray& value) {
  key(k);
  body_ += value.str();
  return *this;
}

JsonObject& JsonObject::null(std::string_view k) {
  key(k);
  body_ += "null";
  return *this;
}

void JsonArray::comma() {
  if (!body_.empty()) body_ += ",";
}

JsonArray& JsonArray::add(const JsonObject& value) {
  comma();
  body_ += value.str();
  return *this;
}

JsonArray& JsonArray::add_number(std::int64_t value) {
  comma();
  body_ += std::to_string(value);
  return *this;
}

JsonArray& JsonArray::add_string(std::string_view value) {
  comma();
  body_ += json_string(value);
  return *this;
}

}  // namespace taskport_cli
