# SPDX-License-Identifier: MIT
# CTest test `macos_cross_build` (label `macos`): the macOS backend, the
# preload dylib (also as the universal x86_64 + arm64 file), the CLI, the
# examples and every test executable of the macOS build (the portable
# shared suite and tests/macos, at least 150 shared test cases) must compile
# and link for x86_64-macos and aarch64-macos with -Werror. Runs
# tools/macos-cross-build, which installs zig 0.11 on first use
# (tools/install-zig, npm) and reports 77 (skipped) when it cannot — except
# under CI (CI=true, as .ci/run sets it), where a missing zig or llvm-lipo
# fails. Linux hosts only: on a Mac the real build and tests run instead.
#
#   ctest --test-dir build -L macos --output-on-failure
#
# Cost: about 3-4 minutes for both architectures once zig's libc++ is in its
# cache (the first link per architecture builds it: about a minute more each).
if(CMAKE_HOST_SYSTEM_NAME STREQUAL "Linux" AND NOT APPLE)
  add_test(NAME macos_cross_build
           COMMAND "${PROJECT_SOURCE_DIR}/tools/macos-cross-build" "${PROJECT_BINARY_DIR}/macos-cross")
  set_tests_properties(macos_cross_build PROPERTIES
    LABELS macos
    TIMEOUT 1500
    SKIP_RETURN_CODE 77)
endif()

# CTest test `linux_aarch64_build` (label `cross`): the Linux library sources
# and the helper programs of the tests and benchmarks compile for aarch64
# with -Werror (tools/linux-aarch64-build; zig 0.11).
if(CMAKE_HOST_SYSTEM_NAME STREQUAL "Linux" AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  add_test(NAME linux_aarch64_build
           COMMAND "${PROJECT_SOURCE_DIR}/tools/linux-aarch64-build" "${PROJECT_BINARY_DIR}/aarch64-objects")
  set_tests_properties(linux_aarch64_build PROPERTIES
    LABELS cross
    TIMEOUT 900
    SKIP_RETURN_CODE 77)
endif()
