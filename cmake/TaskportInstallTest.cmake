# SPDX-License-Identifier: MIT
# The packaging tests (CTest label `install`):
#
#   install_relocatable        tests/install/run_install_test.cmake: builds
#                              taskport in a tree of its own, installs it,
#                              renames that tree away, moves the prefix, and
#                              checks the CLI, find_package and pkg-config
#                              consumers (with task_via_preload) at each step
#   shared_library_exports     (shared builds, Linux) nm -D of libtaskport.so
#                              lists the public API and nothing else
#   subproject_add_subdirectory  tests/subproject: a parent project that
#                              add_subdirectory()s taskport keeps its build
#                              type and gets no CLI, example or install rule
#   debian_changelog_version   debian/changelog's version is project(VERSION)
#
#   ctest --test-dir build -L install --output-on-failure
#
# Included from the root CMakeLists.txt after enable_testing(), only when
# TASKPORT_BUILD_TESTS is ON. Consumers are built with the same compiler
# and CMAKE_CXX_FLAGS as this build, plus -fsanitize=${TASKPORT_SANITIZE}
# when set (the library's sanitizer flags are directory options, not
# exported usage requirements, yet a sanitized static libtaskport needs them
# on the link). The .ci/run stage `deb` covers what ctest cannot: the
# Debian packages, installed with dpkg.

include_guard(GLOBAL)

find_program(TASKPORT_PKG_CONFIG_EXECUTABLE NAMES pkg-config pkgconf)
mark_as_advanced(TASKPORT_PKG_CONFIG_EXECUTABLE)
if(NOT TASKPORT_PKG_CONFIG_EXECUTABLE)
  message(STATUS "taskport: pkg-config not found; the install test will skip its pkg-config half")
endif()

set(_taskport_consumer_cxx_flags "${CMAKE_CXX_FLAGS}")
set(_taskport_consumer_link_flags "${CMAKE_EXE_LINKER_FLAGS}")
if(TASKPORT_SANITIZE)
  string(APPEND _taskport_consumer_cxx_flags " -fsanitize=${TASKPORT_SANITIZE}")
  string(APPEND _taskport_consumer_link_flags " -fsanitize=${TASKPORT_SANITIZE}")
endif()
string(STRIP "${_taskport_consumer_cxx_flags}" _taskport_consumer_cxx_flags)
string(STRIP "${_taskport_consumer_link_flags}" _taskport_consumer_link_flags)

if(CMAKE_CONFIGURATION_TYPES)
  set(_taskport_build_type "$<CONFIG>")
else()
  set(_taskport_build_type "${CMAKE_BUILD_TYPE}")
endif()

if(NOT CMAKE_CROSSCOMPILING)
  add_test(NAME install_relocatable
    COMMAND "${CMAKE_COMMAND}"
      "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
      "-DWORK_DIR=${PROJECT_BINARY_DIR}/install-test"
      "-DTASKPORT_VERSION=${PROJECT_VERSION}"
      "-DTASKPORT_SOVERSION=${TASKPORT_SOVERSION}"
      "-DSHARED=${BUILD_SHARED_LIBS}"
      "-DSANITIZE=${TASKPORT_SANITIZE}"
      "-DBUILD_TYPE=${_taskport_build_type}"
      "-DAPPLE_HOST=${APPLE}"
      "-DCMAKE_GENERATOR=${CMAKE_GENERATOR}"
      "-DC_COMPILER=${CMAKE_C_COMPILER}"
      "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
      "-DBUILD_C_FLAGS=${CMAKE_C_FLAGS}"
      "-DBUILD_CXX_FLAGS=${CMAKE_CXX_FLAGS}"
      "-DCONSUMER_CXX_FLAGS=${_taskport_consumer_cxx_flags}"
      "-DCONSUMER_LINK_FLAGS=${_taskport_consumer_link_flags}"
      "-DPKG_CONFIG_EXECUTABLE=${TASKPORT_PKG_CONFIG_EXECUTABLE}"
      -P "${PROJECT_SOURCE_DIR}/tests/install/run_install_test.cmake")
  set_tests_properties(install_relocatable PROPERTIES
    LABELS "install"
    # A build of the library and CLI, and four small consumer builds:
    # about a minute on an idle 2-core machine; generous for a loaded one
    # or a sanitized build.
    TIMEOUT 900
    # Compiler runs: keep them from loading the machine while the
    # timing-sensitive spawn tests run beside it under `ctest -j`.
    RUN_SERIAL TRUE)
endif()

if(BUILD_SHARED_LIBS AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  find_program(TASKPORT_NM_EXECUTABLE NAMES nm llvm-nm)
  mark_as_advanced(TASKPORT_NM_EXECUTABLE)
  add_test(NAME shared_library_exports
    COMMAND "${CMAKE_COMMAND}"
      "-DNM=${TASKPORT_NM_EXECUTABLE}"
      "-DLIBRARY=$<TARGET_FILE:taskport>"
      -P "${PROJECT_SOURCE_DIR}/tests/install/check_exports.cmake")
  set_tests_properties(shared_library_exports PROPERTIES LABELS "install" TIMEOUT 60)
endif()

if(NOT CMAKE_CROSSCOMPILING)
  add_test(NAME subproject_add_subdirectory
    COMMAND "${CMAKE_COMMAND}"
      "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
      "-DWORK_DIR=${PROJECT_BINARY_DIR}/subproject-test"
      "-DCMAKE_GENERATOR=${CMAKE_GENERATOR}"
      "-DC_COMPILER=${CMAKE_C_COMPILER}"
      "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
      -P "${PROJECT_SOURCE_DIR}/tests/subproject/run_subproject_test.cmake")
  set_tests_properties(subproject_add_subdirectory PROPERTIES
    LABELS "install"
    TIMEOUT 600
    RUN_SERIAL TRUE)
endif()

add_test(NAME debian_changelog_version
  COMMAND "${CMAKE_COMMAND}"
    "-DCHANGELOG=${PROJECT_SOURCE_DIR}/debian/changelog"
    "-DVERSION=${PROJECT_VERSION}"
    -P "${PROJECT_SOURCE_DIR}/tests/install/check_debian_version.cmake")
set_tests_properties(debian_changelog_version PROPERTIES LABELS "install" TIMEOUT 30)

unset(_taskport_consumer_cxx_flags)
unset(_taskport_consumer_link_flags)
unset(_taskport_build_type)
