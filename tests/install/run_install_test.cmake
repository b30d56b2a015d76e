# SPDX-License-Identifier: MIT
# Driver for the CTest test `install_relocatable` (cmake/TaskportInstallTest.cmake):
#   cmake -DSOURCE_DIR=... -DWORK_DIR=... [...] -P run_install_test.cmake
#
# An install as a new user gets it, used after the build tree is gone and
# after the prefix has moved:
#  1. configure and build taskport (library, preload, CLI) from SOURCE_DIR
#     into a build tree of its own, WORK_DIR/build — the test may rename it
#     without disturbing the tests that run from the outer build tree — with
#     a configured prefix that does not exist (the compiled-in default of the
#     preload lookup must not be what makes anything work);
#  2. cmake --install into WORK_DIR/prefix; check the layout, the SONAME,
#     the version header; no installed file contains the build tree's path;
#  3. rename the build tree away; with TASKPORT_PRELOAD_LIBRARY unset:
#     the installed CLI's `run --via-preload -- /bin/echo hi`, and consumers
#     built with find_package(taskport) and with pkg-config, each spawning
#     through task_via_preload(), all get a Task (tests/install/main.cpp);
#  4. move the prefix: the CLI still works; consumers configured and built
#     against the moved prefix work; a static consumer built before the move,
#     or one that no CMake package told where the preload is, either works or
#     fails with an error that names the fix, and works once that is done.
# Any failure is fatal (non-zero exit).
cmake_minimum_required(VERSION 3.20)

foreach(var SOURCE_DIR WORK_DIR TASKPORT_VERSION TASKPORT_SOVERSION CXX_COMPILER C_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_install_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED CMAKE_GENERATOR OR CMAKE_GENERATOR STREQUAL "")
  set(CMAKE_GENERATOR "Unix Makefiles")
endif()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE RelWithDebInfo)
endif()
if(SHARED)
  set(SHARED ON)
  set(flavour shared)
else()
  set(SHARED OFF)
  set(flavour static)
endif()
if(APPLE_HOST)
  set(preload_name libtaskport_preload.dylib)
else()
  set(preload_name libtaskport_preload.so)
endif()

set(build "${WORK_DIR}/build")
set(build_gone "${WORK_DIR}/build-renamed-away")
set(configured_prefix "${WORK_DIR}/configured-prefix-never-installed")
set(prefix "${WORK_DIR}/prefix")
set(moved_prefix "${WORK_DIR}/moved/prefix-after-the-move")

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# Nothing from the environment may point at a preload library or at a
# library directory: what works must work through the install alone.
unset(ENV{TASKPORT_PRELOAD_LIBRARY})
set(saved_ld_library_path "$ENV{LD_LIBRARY_PATH}")
unset(ENV{LD_LIBRARY_PATH})
unset(ENV{PKG_CONFIG_PATH})
unset(ENV{CMAKE_BUILD_TYPE})

function(run)
  execute_process(COMMAND ${ARGV} COMMAND_ECHO STDOUT COMMAND_ERROR_IS_FATAL ANY)
endfunction()

# run_expect(<regexes> cmd...): run, must succeed, and stdout must match
# each of the regular expressions (a ;-list).
function(run_expect regexes)
  execute_process(COMMAND ${ARGN} COMMAND_ECHO STDOUT RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
  foreach(regex IN LISTS regexes)
    if(NOT "\n${out}" MATCHES "${regex}")
      message(FATAL_ERROR "output of `${ARGN}` does not match '${regex}'")
    endif()
  endforeach()
endfunction()

function(require_file path)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "install layout: missing ${path}")
  endif()
endfunction()

set(cxx_flags "")
if(CONSUMER_CXX_FLAGS)
  separate_arguments(cxx_flags UNIX_COMMAND "${CONSUMER_CXX_FLAGS}")
endif()
set(link_flags "")
if(CONSUMER_LINK_FLAGS)
  separate_arguments(link_flags UNIX_COMMAND "${CONSUMER_LINK_FLAGS}")
endif()

# The programs spawned: /bin/echo and /bin/true — on macOS a program of our
# own instead, since dyld inserts no library into a platform binary, and
# every spawn with a task goes through the preload there.
set(echo_program /bin/echo)
if(APPLE_HOST)
  file(WRITE "${WORK_DIR}/echo/echo.c"
       "#include <stdio.h>\nint main(int c, char** v) { for (int i = 1; i < c; ++i) printf(\"%s%s\", v[i], i + 1 < c ? \" \" : \"\"); printf(\"\\n\"); return 0; }\n")
  run("${C_COMPILER}" -o "${WORK_DIR}/echo/echo" "${WORK_DIR}/echo/echo.c")
  set(echo_program "${WORK_DIR}/echo/echo")
  set(ENV{CONSUMER_ECHO} "${echo_program}")
  set(ENV{CONSUMER_TRUE} "${echo_program}")
endif()

# --- 1. a build tree of its own ---------------------------------------------
message(STATUS "== build taskport (${flavour}) into ${build}")
run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${build}" -G "${CMAKE_GENERATOR}"
    "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
    "-DCMAKE_C_COMPILER=${C_COMPILER}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DCMAKE_C_FLAGS=${BUILD_C_FLAGS}"
    "-DCMAKE_CXX_FLAGS=${BUILD_CXX_FLAGS}"
    "-DBUILD_SHARED_LIBS=${SHARED}"
    "-DTASKPORT_SANITIZE=${SANITIZE}"
    "-DTASKPORT_BUILD_TESTS=OFF"
    "-DTASKPORT_BUILD_EXAMPLES=OFF"
    "-DTASKPORT_BUILD_CLI=ON"
    "-DCMAKE_INSTALL_PREFIX=${configured_prefix}"
    "-DCMAKE_INSTALL_LIBDIR=lib"
    "-DCMAKE_INSTALL_BINDIR=bin"
    "-DCMAKE_INSTALL_INCLUDEDIR=include"
    "-DCMAKE_INSTALL_MANDIR=share/man")
run("${CMAKE_COMMAND}" --build "${build}" --parallel 2)

# --- 2. install ----------------------------------------------------------------
message(STATUS "== install into ${prefix}")
run("${CMAKE_COMMAND}" --install "${build}" --prefix "${prefix}")

set(libdir "${prefix}/lib")
require_file("${prefix}/include/taskport/taskport.hpp")
require_file("${prefix}/include/taskport/export.hpp")
require_file("${prefix}/include/taskport/version.hpp")
require_file("${prefix}/bin/taskport")
require_file("${prefix}/share/man/man1/taskport.1")
require_file("${libdir}/taskport/${preload_name}")
require_file("${libdir}/cmake/taskport/taskportConfig.cmake")
require_file("${libdir}/cmake/taskport/taskportConfigVersion.cmake")
require_file("${libdir}/cmake/taskport/taskport-${flavour}-targets.cmake")
require_file("${libdir}/cmake/taskport/taskport_preload_location.cpp")
require_file("${libdir}/pkgconfig/taskport.pc")
file(STRINGS "${prefix}/include/taskport/version.hpp" version_line REGEX "define TASKPORT_VERSION_STRING")
if(NOT version_line MATCHES "\"${TASKPORT_VERSION}\"")
  message(FATAL_ERROR "installed version.hpp says '${version_line}', expected ${TASKPORT_VERSION}")
endif()
if(SHARED AND NOT APPLE_HOST)
  require_file("${libdir}/libtaskport.so")
  require_file("${libdir}/libtaskport.so.${TASKPORT_SOVERSION}")
  require_file("${libdir}/libtaskport.so.${TASKPORT_VERSION}")
  find_program(READELF NAMES readelf llvm-readelf)
  if(READELF)
    execute_process(COMMAND "${READELF}" -d "${libdir}/libtaskport.so.${TASKPORT_VERSION}"
                    OUTPUT_VARIABLE dyn COMMAND_ERROR_IS_FATAL ANY)
    string(REPLACE "." "\\." soname_re "libtaskport.so.${TASKPORT_SOVERSION}")
    if(NOT dyn MATCHES "Library soname: \\[${soname_re}\\]")
      message(FATAL_ERROR "libtaskport.so.${TASKPORT_VERSION} has no SONAME libtaskport.so.${TASKPORT_SOVERSION}:\n${dyn}")
    endif()
    message(STATUS "SONAME libtaskport.so.${TASKPORT_SOVERSION}: ok")
  endif()
elseif(NOT SHARED)
  require_file("${libdir}/libtaskport.a")
endif()
# The package version file's policy agrees with the SONAME: a 0.x package
# accepts only its own minor version.
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ "${TASKPORT_VERSION}")
math(EXPR next_minor "${CMAKE_MATCH_2} + 1")
set(PACKAGE_FIND_VERSION "${CMAKE_MATCH_1}.${next_minor}")
set(PACKAGE_FIND_VERSION_MAJOR "${CMAKE_MATCH_1}")
set(PACKAGE_FIND_VERSION_MINOR "${next_minor}")
set(PACKAGE_FIND_VERSION_PATCH 0)
set(PACKAGE_FIND_VERSION_COUNT 2)
include("${libdir}/cmake/taskport/taskportConfigVersion.cmake")
if(CMAKE_MATCH_1 EQUAL 0 AND PACKAGE_VERSION_COMPATIBLE)
  message(FATAL_ERROR "taskportConfigVersion.cmake ${TASKPORT_VERSION} accepts ${PACKAGE_FIND_VERSION}, "
                      "but the SONAME (libtaskport.so.${TASKPORT_SOVERSION}) says a new minor breaks the ABI")
endif()
message(STATUS "install layout: ok")

# No installed file may hold a path of the build tree (binary files
# included: rpath, debug information, compiled-in strings).
foreach(path "${build}")
  execute_process(COMMAND grep -rlF -e "${path}" "${prefix}" RESULT_VARIABLE rc OUTPUT_VARIABLE hits)
  if(rc EQUAL 0)
    message(FATAL_ERROR "installed files contain the build tree's path ${path}:\n${hits}")
  elseif(NOT rc EQUAL 1)
    message(FATAL_ERROR "grep -rlF ${path} ${prefix} failed (${rc})")
  endif()
endforeach()
message(STATUS "no installed file names the build tree: ok")

# --- 3. the build tree unreachable -------------------------------------------
message(STATUS "== rename the build tree away: ${build} -> ${build_gone}")
file(RENAME "${build}" "${build_gone}")

message(STATUS "== installed CLI")
# No LD_LIBRARY_PATH: a shared build's bin/taskport finds its library
# through its install RPATH, and the preload beside that library; a static
# one finds the preload from its own location (bin/../lib/taskport).
run_expect("\nhi\n;\nexit +exit code 0\n" "${prefix}/bin/taskport" run --via-preload -- "${echo_program}" hi)

# consumer_cmake(<name> <prefix>): configure and build tests/install against
# <prefix> with find_package(taskport); sets <name>_exe in the caller.
function(consumer_cmake name at)
  set(dir "${WORK_DIR}/${name}")
  run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/install" -B "${dir}" -G "${CMAKE_GENERATOR}"
      "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
      "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
      "-DCMAKE_PREFIX_PATH=${at}"
      "-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON"
      "-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF"
      "-DTASKPORT_EXPECTED_PREFIX=${at}"
      "-DTASKPORT_WANT=${flavour}"
      "-DCMAKE_CXX_FLAGS=${CONSUMER_CXX_FLAGS}"
      "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_LINK_FLAGS}")
  run("${CMAKE_COMMAND}" --build "${dir}")
  set(${name}_exe "${dir}/consumer" PARENT_SCOPE)
endfunction()

# consumer_pkgconfig(<name> <prefix>): compile tests/install/main.cpp with
# `pkg-config --cflags --libs taskport` (--static for a static library).
function(consumer_pkgconfig name at)
  set(ENV{PKG_CONFIG_PATH} "${at}/lib/pkgconfig")
  execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --modversion taskport
                  OUTPUT_VARIABLE pc_version OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  if(NOT pc_version STREQUAL TASKPORT_VERSION)
    message(FATAL_ERROR "pkg-config --modversion taskport: '${pc_version}', expected '${TASKPORT_VERSION}'")
  endif()
  execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --variable=prefix taskport
                  OUTPUT_VARIABLE pc_prefix OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  file(REAL_PATH "${pc_prefix}" pc_prefix_real)
  file(REAL_PATH "${at}" at_real)
  if(NOT pc_prefix_real STREQUAL at_real)
    message(FATAL_ERROR "taskport.pc has prefix '${pc_prefix}' (${pc_prefix_real}), expected '${at_real}'")
  endif()
  execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --static --libs taskport
                  OUTPUT_VARIABLE static_libs OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  if(NOT static_libs MATCHES "-pthread")
    message(FATAL_ERROR "pkg-config --static --libs taskport lacks -pthread: '${static_libs}'")
  endif()
  # macOS needs nothing beyond libSystem (no -lbsm: src/macos/task_identity.hpp
  # reads the audit token itself); the static consumer linked below proves
  # that Libs.private is complete on either platform.
  set(static_arg "")
  if(NOT SHARED)
    set(static_arg --static)
  endif()
  execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --cflags --libs ${static_arg} taskport
                  OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  message(STATUS "pkg-config --cflags --libs ${static_arg} taskport: ${pc_flags}")
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  set(dir "${WORK_DIR}/${name}")
  file(MAKE_DIRECTORY "${dir}")
  run("${CXX_COMPILER}" -std=c++17 ${cxx_flags} "${SOURCE_DIR}/tests/install/main.cpp" ${pc_flags} ${link_flags}
      -o "${dir}/consumer")
  unset(ENV{PKG_CONFIG_PATH})
  set(${name}_exe "${dir}/consumer" PARENT_SCOPE)
endfunction()

# pkg-config gives no rpath: a shared libtaskport in a scratch prefix is
# found through LD_LIBRARY_PATH (DYLD_LIBRARY_PATH on macOS) for these runs.
function(run_with_libdir at)
  if(SHARED)
    if(APPLE_HOST)
      run_expect("ok" "${CMAKE_COMMAND}" -E env "DYLD_LIBRARY_PATH=${at}/lib" ${ARGN})
    else()
      run_expect("ok" "${CMAKE_COMMAND}" -E env "LD_LIBRARY_PATH=${at}/lib" ${ARGN})
    endif()
  else()
    run_expect("ok" ${ARGN})
  endif()
endfunction()

message(STATUS "== find_package(taskport) consumer")
consumer_cmake(consumer_cmake_first "${prefix}")
# No LD_LIBRARY_PATH here: CMake's build RPATH finds a shared libtaskport;
# the preload is found beside it, or (static) through the CMake package.
run_expect("task via the preload library.*ok" "${consumer_cmake_first_exe}" preload "${prefix}")

if(NOT PKG_CONFIG_EXECUTABLE)
  message(STATUS "== pkg-config consumers: SKIPPED (pkg-config not found at configure time)")
else()
  message(STATUS "== pkg-config consumer")
  consumer_pkgconfig(consumer_pkgconfig_first "${prefix}")
  if(SHARED)
    run_with_libdir("${prefix}" "${consumer_pkgconfig_first_exe}" preload "${prefix}")
  else()
    # Static, and no CMake package said where the preload is: found, or
    # the error names the fix — and the fix works.
    run_with_libdir("${prefix}" "${consumer_pkgconfig_first_exe}" preload-or-fix)
    run_with_libdir("${prefix}" "${CMAKE_COMMAND}" -E env
                    "TASKPORT_PRELOAD_LIBRARY=${libdir}/taskport/${preload_name}"
                    "${consumer_pkgconfig_first_exe}" preload "${prefix}")
  endif()
endif()

# --- 4. the prefix moved -------------------------------------------------------
message(STATUS "== move the prefix: ${prefix} -> ${moved_prefix}")
get_filename_component(moved_parent "${moved_prefix}" DIRECTORY)
file(MAKE_DIRECTORY "${moved_parent}")
file(RENAME "${prefix}" "${moved_prefix}")

run_expect("\nhi\n;\nexit +exit code 0\n" "${moved_prefix}/bin/taskport" run --via-preload -- "${echo_program}" hi)

if(NOT SHARED)
  # Built before the move: its CMake package pointed at the old prefix.
  run_expect("ok" "${consumer_cmake_first_exe}" preload-or-fix)
endif()

message(STATUS "== consumers of the moved prefix")
consumer_cmake(consumer_cmake_moved "${moved_prefix}")
run_expect("task via the preload library.*ok" "${consumer_cmake_moved_exe}" preload "${moved_prefix}")
if(PKG_CONFIG_EXECUTABLE)
  consumer_pkgconfig(consumer_pkgconfig_moved "${moved_prefix}")
  if(SHARED)
    run_with_libdir("${moved_prefix}" "${consumer_pkgconfig_moved_exe}" preload "${moved_prefix}")
  else()
    run_with_libdir("${moved_prefix}" "${consumer_pkgconfig_moved_exe}" preload-or-fix)
  endif()
endif()

set(ENV{LD_LIBRARY_PATH} "${saved_ld_library_path}")
message(STATUS "install test: ok")
