// SPDX-License-Identifier: MIT
// The non-throwing forms of the public API (taskport/error.hpp, "Without
// exceptions"), written once: each wraps its throwing form in guarded(),
// which turns whatever that throws into the std::error_code and this
// thread's last_error(). No backend code exists twice.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "taskport/error.hpp"

namespace taskport::common {

// Records `e` as this thread's last_error() and sets `ec` to its code.
void record(std::error_code& ec, const Error& e) noexcept;
// Records a failure that did not come as an Error (std::bad_alloc, a bare
// std::system_error, ...): errno `error` in `step`, about `program`.
void record(std::error_code& ec, int error, Step step, const char* program, const char* detail) noexcept;
// The errno a std::system_error stands for: its value for the generic and
// system categories (errno on POSIX), else EIO.
int errno_of(const std::system_error& e) noexcept;

// "pid <N>" (Error::program()'s second form) without allocating.
struct PidName {
  explicit PidName(pid_t pid) noexcept {
    std::snprintf(text, sizeof text, "pid %ld", static_cast<long>(pid));
  }
  char text[32];
};

// What the non-throwing form of a call returning T returns.
template <class T>
struct Guarded {
  using type = std::optional<T>;  // T → optional<T>
};
template <>
struct Guarded<void> {
  using type = bool;  // void → bool
};
template <class T>
struct Guarded<std::optional<T>> {
  using type = std::optional<T>;  // an optional stays the same optional
};

// Runs `call` (the throwing form) and returns its result in the
// non-throwing shape, clearing `ec`; or records the failure and returns the
// empty result. `step` and `program` describe failures that are not an Error
// (an Error carries its own; `program` is NUL-terminated and must not need
// an allocation to be made): ENOMEM for std::bad_alloc and
// std::length_error, the errno of a std::system_error, EIO for anything else.
template <class Call>
auto guarded(std::error_code& ec, Step step, const char* program, Call&& call) noexcept ->
    typename Guarded<decltype(call())>::type {
  using R = decltype(call());
  using Out = typename Guarded<R>::type;
  try {
    if constexpr (std::is_void_v<R>) {
      call();
      ec.clear();
      return true;
    } else {
      Out out(call());
      ec.clear();
      return out;
    }
  } catch (const Error& e) {
    record(ec, e);
  } catch (const std::bad_alloc&) {
    record(ec, ENOMEM, step, program, "out of memory");
  } catch (const std::length_error&) {
    record(ec, ENOMEM, step, program, "a size beyond what can be allocated");
  } catch (const std::system_error& e) {
    record(ec, errno_of(e), step, program, e.what());
  } catch (const std::exception& e) {
    record(ec, EIO, step, program, e.what());
  } catch (...) {
    record(ec, EIO, step, program, "an exception of unknown type");
  }
  return Out{};
}

}  // namespace taskport::common
