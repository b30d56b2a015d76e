# SPDX-License-Identifier: MIT
# Registers the CTest test `install_find_package` (label `install`).
#
# At test time it installs this build tree into a scratch prefix, then builds
# the consumer project in tests/install/ against it twice: with
# find_package(taskport) + taskport::taskport, and with
# `pkg-config --cflags --libs taskport`; each consumer spawns /bin/true and
# must see a successful exit. See tests/install/run_install_test.cmake.
#
# Included from the root CMakeLists.txt after enable_testing(), only when
# TASKPORT_BUILD_TESTS is ON. The consumer is built with the same compiler and
# CMAKE_CXX_FLAGS as this build, plus -fsanitize=${TASKPORT_SANITIZE} when set
# (the library's sanitizer flags are directory options, not exported usage
# requirements, yet a sanitized static libtaskport needs them on the link).

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

add_test(NAME install_find_package
  COMMAND "${CMAKE_COMMAND}"
    "-DTASKPORT_BUILD_DIR=${PROJECT_BINARY_DIR}"
    "-DTASKPORT_CONFIG=$<CONFIG>"
    "-DTASKPORT_SHARED=${BUILD_SHARED_LIBS}"
    "-DTASKPORT_VERSION=${PROJECT_VERSION}"
    "-DINSTALL_LIBDIR=${CMAKE_INSTALL_LIBDIR}"
    "-DINSTALL_BINDIR=${CMAKE_INSTALL_BINDIR}"
    "-DINSTALL_INCLUDEDIR=${CMAKE_INSTALL_INCLUDEDIR}"
    "-DINSTALL_MANDIR=${CMAKE_INSTALL_MANDIR}"
    "-DCONSUMER_SOURCE_DIR=${PROJECT_SOURCE_DIR}/tests/install"
    "-DWORK_DIR=${PROJECT_BINARY_DIR}/install-test"
    "-DCMAKE_GENERATOR=${CMAKE_GENERATOR}"
    "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
    "-DCONSUMER_CXX_FLAGS=${_taskport_consumer_cxx_flags}"
    "-DCONSUMER_LINK_FLAGS=${_taskport_consumer_link_flags}"
    "-DPKG_CONFIG_EXECUTABLE=${TASKPORT_PKG_CONFIG_EXECUTABLE}"
    "-DHAVE_CLI=$<TARGET_EXISTS:taskport_cli>"
    -P "${PROJECT_SOURCE_DIR}/tests/install/run_install_test.cmake")
set_tests_properties(install_find_package PROPERTIES
  LABELS "install"
  # Two small CMake configure+build runs; generous for a loaded 2-core box.
  TIMEOUT 300
  # Two compiler runs: keep them from loading the machine while the
  # timing-sensitive spawn tests run beside it under `ctest -j`.
  RUN_SERIAL TRUE)

unset(_taskport_consumer_cxx_flags)
unset(_taskport_consumer_link_flags)
