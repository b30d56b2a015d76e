# SPDX-License-Identifier: MIT
# taskport_test(): the one way every test folder (tests/, tests/task,
# tests/rendezvous, tests/macos, ...) makes a GoogleTest binary and registers
# its test cases with CTest.
#
#   taskport_test(<name> <source>...
#     [LABEL <label>]                 CTest label of its tests (default: spawn)
#     [TIMEOUT <seconds>]             per test case (default: 60): every test is bounded
#     [PREFIX <prefix>]               prepended to every CTest name (one source built twice)
#     [LINK <target>...]              what the sources need besides taskport, GoogleTest and
#                                     Threads (default: tp_test_support where that exists);
#                                     taskport_internal (tests of internals) replaces taskport
#     [DEFINITIONS <definition>...]   e.g. the paths of the helper programs the tests run
#     [INCLUDE_DIRECTORIES <dir>...]  e.g. src/ for tests of internal parsers
#     [DEPENDS <target>...]           helper programs to build first
#     [OWN_MAIN])                     the sources bring their own main() (else gtest_main)
#
# In the macOS cross build (TASKPORT_MACOS_TESTS_CROSS) the binaries are only
# built: nothing built there can run on the Linux host.
include_guard(GLOBAL)

find_package(Threads REQUIRED)

function(taskport_test name)
  cmake_parse_arguments(T "OWN_MAIN" "LABEL;TIMEOUT;PREFIX" "LINK;DEFINITIONS;INCLUDE_DIRECTORIES;DEPENDS" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL spawn)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  if(NOT DEFINED T_LINK AND TARGET tp_test_support)
    set(T_LINK tp_test_support)
  endif()

  # taskport_internal is the library's objects, static: never linked beside
  # a shared taskport (two copies of one library in a process).
  set(library taskport::taskport)
  if("taskport_internal" IN_LIST T_LINK)
    set(library "")
  endif()
  add_executable(${name} ${T_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${T_LINK} ${library} GTest::gtest Threads::Threads)
  if(NOT T_OWN_MAIN)
    target_link_libraries(${name} PRIVATE GTest::gtest_main)
  endif()
  if(T_DEFINITIONS)
    target_compile_definitions(${name} PRIVATE ${T_DEFINITIONS})
  endif()
  if(T_INCLUDE_DIRECTORIES)
    target_include_directories(${name} PRIVATE ${T_INCLUDE_DIRECTORIES})
  endif()
  if(T_DEPENDS)
    add_dependencies(${name} ${T_DEPENDS})
  endif()
  target_compile_options(${name} PRIVATE -Wall -Wextra)

  if(NOT TASKPORT_MACOS_TESTS_CROSS)
    include(GoogleTest)
    gtest_discover_tests(${name}
      TEST_PREFIX "${T_PREFIX}"
      DISCOVERY_TIMEOUT 60
      PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()
