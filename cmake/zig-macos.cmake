# SPDX-License-Identifier: MIT
# CMake toolchain file: cross-compile taskport for macOS on Linux with zig 0.11
# (`zig cc` / `zig c++ -target <arch>-macos`), for the compile-and-link check
# tools/macos-cross-build (CTest: macos_cross_build). Not for building on a
# Mac: there, use the native toolchain (no toolchain file).
#
#   cmake -S . -B build-macos-arm64 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/zig-macos.cmake \
#     -DTASKPORT_ZIG=$(tools/install-zig) -DTASKPORT_MACOS_ARCH=aarch64
#
# TASKPORT_ZIG        the zig 0.11 binary (tools/install-zig prints it)
# TASKPORT_MACOS_ARCH x86_64 or aarch64
#
# Zig bundles Apple's libc headers and libSystem stubs but not every SDK
# header; cmake/macos-cross/shim/ declares the few that are missing (only
# for this check, see its README). CMake needs one executable per tool, so
# small wrapper scripts (zig cc/c++/ar/ranlib with the target) are written
# into the build tree.

set(CMAKE_SYSTEM_NAME Darwin)

if(NOT TASKPORT_ZIG OR NOT EXISTS "${TASKPORT_ZIG}")
  message(FATAL_ERROR "zig-macos.cmake: set TASKPORT_ZIG to the zig 0.11 binary (tools/install-zig prints it)")
endif()
if(TASKPORT_MACOS_ARCH STREQUAL "x86_64")
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
elseif(TASKPORT_MACOS_ARCH STREQUAL "aarch64")
  set(CMAKE_SYSTEM_PROCESSOR arm64)
else()
  message(FATAL_ERROR "zig-macos.cmake: TASKPORT_MACOS_ARCH must be x86_64 or aarch64, not '${TASKPORT_MACOS_ARCH}'")
endif()
set(_tp_target "${TASKPORT_MACOS_ARCH}-macos")

# The wrappers live in the top build tree; try_compile projects get the same
# directory through CMAKE_TRY_COMPILE_PLATFORM_VARIABLES.
if(NOT TASKPORT_ZIG_WRAPPER_DIR)
  set(TASKPORT_ZIG_WRAPPER_DIR "${CMAKE_BINARY_DIR}/zig-toolchain")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TASKPORT_ZIG TASKPORT_MACOS_ARCH TASKPORT_ZIG_WRAPPER_DIR)

# zig's linker refuses -Wl,-v (which CMake's compiler ABI check passes): the
# compiler wrappers drop it.
function(_tp_zig_wrapper name command)
  set(path "${TASKPORT_ZIG_WRAPPER_DIR}/${name}")
  set(text "#!/bin/sh\nfor a do shift; [ \"$a\" = -Wl,-v ] || set -- \"$@\" \"$a\"; done\nexec \"${TASKPORT_ZIG}\" ${command} \"$@\"\n")
  if(EXISTS "${path}")
    file(READ "${path}" old)
    if(old STREQUAL text)
      return()
    endif()
  endif()
  file(WRITE "${path}" "${text}")
  file(CHMOD "${path}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endfunction()
_tp_zig_wrapper(cc "cc -target ${_tp_target}")
_tp_zig_wrapper(c++ "c++ -target ${_tp_target}")
_tp_zig_wrapper(ar "ar")
_tp_zig_wrapper(ranlib "ranlib")

set(CMAKE_C_COMPILER "${TASKPORT_ZIG_WRAPPER_DIR}/cc")
set(CMAKE_CXX_COMPILER "${TASKPORT_ZIG_WRAPPER_DIR}/c++")
set(CMAKE_AR "${TASKPORT_ZIG_WRAPPER_DIR}/ar" CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB "${TASKPORT_ZIG_WRAPPER_DIR}/ranlib" CACHE FILEPATH "zig ranlib")
# No SDK and no xcrun here: zig brings its own headers and libSystem stubs.
set(CMAKE_OSX_SYSROOT "" CACHE PATH "" FORCE)
set(CMAKE_OSX_ARCHITECTURES "" CACHE STRING "" FORCE)

set(_tp_shim "${CMAKE_CURRENT_LIST_DIR}/macos-cross/shim")
set(CMAKE_C_FLAGS_INIT "-isystem ${_tp_shim}/include")
set(CMAKE_CXX_FLAGS_INIT "-isystem ${_tp_shim}/include")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_ROOT_PATH "${_tp_shim}")
