// SPDX-License-Identifier: MIT
// taskport::last_error(): one ErrorInfo per thread, filled without
// allocating (fixed buffers, snprintf), so that a non-throwing form can
// report its failure even when memory has run out.
#include <errno.h>
#include <string.h>

#include <cstdio>
#include <cstring>

#include "common/guarded.hpp"
#include "taskport/error.hpp"

namespace taskport {

namespace detail {
struct ErrorInfoAccess {
  static ErrorInfo& mine() noexcept {
    // Constant-initialized (no constructor runs): the first use on a thread
    // allocates nothing.
    static thread_local ErrorInfo info;
    return info;
  }
  static void set(int error, Step step, const char* program, std::size_t program_size) noexcept {
    ErrorInfo& info = mine();
    info.errno_value_ = error;
    info.step_ = step;
    info.truncated_ = program_size >= sizeof info.program_;
    const std::size_t n = info.truncated_ ? sizeof info.program_ - 1 : program_size;
    std::memcpy(info.program_, program, n);
    info.program_[n] = '\0';
  }
  // `written` is what snprintf returned for what_.
  static void what_written(int written) noexcept {
    ErrorInfo& info = mine();
    if (written < 0) {
      info.what_[0] = '\0';
      info.truncated_ = true;
    } else if (static_cast<std::size_t>(written) >= sizeof info.what_) {
      info.truncated_ = true;
    }
  }
  static char* what(std::size_t& capacity) noexcept {
    capacity = sizeof mine().what_;
    return mine().what_;
  }
};
}  // namespace detail

namespace {

using detail::ErrorInfoAccess;

// strerror without a shared buffer: the GNU strerror_r returns its text, the
// XSI one (macOS) fills `buf`.
[[maybe_unused]] const char* message_of(int result, const char* buf) noexcept {
  return result == 0 ? buf : "Unknown error";
}
[[maybe_unused]] const char* message_of(const char* text, const char*) noexcept { return text; }

const char* describe_errno(int error, char* buf, std::size_t size) noexcept {
  return message_of(::strerror_r(error, buf, size), buf);
}

}  // namespace

const ErrorInfo& last_error() noexcept { return ErrorInfoAccess::mine(); }

namespace common {

void record(std::error_code& ec, const Error& e) noexcept {
  ec = e.code();
  ErrorInfoAccess::set(e.errno_value(), e.step(), e.program().data(), e.program().size());
  std::size_t capacity = 0;
  char* what = ErrorInfoAccess::what(capacity);
  ErrorInfoAccess::what_written(std::snprintf(what, capacity, "%s", e.what()));
}

void record(std::error_code& ec, int error, Step step, const char* program, const char* detail) noexcept {
  ec = std::error_code(error, std::generic_category());
  ErrorInfoAccess::set(error, step, program, std::strlen(program));
  char message[128];
  std::size_t capacity = 0;
  char* what = ErrorInfoAccess::what(capacity);
  // The same shape as Error::what() (common/error.cpp).
  ErrorInfoAccess::what_written(std::snprintf(what, capacity, "taskport: '%s': %s (%s): %s",
                                              last_error().program(), to_string(step), detail,
                                              describe_errno(error, message, sizeof message)));
}

int errno_of(const std::system_error& e) noexcept {
  const std::error_code& code = e.code();
  if (code.category() == std::generic_category() || code.category() == std::system_category()) {
    return code.value() != 0 ? code.value() : EIO;
  }
  return EIO;
}

}  // namespace common
}  // namespace taskport
