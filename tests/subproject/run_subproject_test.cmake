# SPDX-License-Identifier: MIT
# Driver for the CTest test `subproject_add_subdirectory`
# (cmake/TaskportInstallTest.cmake): taskport added to a parent project
# (tests/subproject/CMakeLists.txt) with add_subdirectory.
#  1. the parent sets CMAKE_BUILD_TYPE=MinSizeRel: it stays so, taskport adds
#     only its library; the parent's program builds and runs; `cmake
#     --install` installs the parent's program and nothing of taskport;
#  2. the parent sets no build type: it stays empty in the cache.
cmake_minimum_required(VERSION 3.20)
foreach(var SOURCE_DIR WORK_DIR CXX_COMPILER C_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_subproject_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED CMAKE_GENERATOR OR CMAKE_GENERATOR STREQUAL "")
  set(CMAKE_GENERATOR "Unix Makefiles")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
unset(ENV{CMAKE_BUILD_TYPE})

function(run)
  execute_process(COMMAND ${ARGV} COMMAND_ECHO STDOUT COMMAND_ERROR_IS_FATAL ANY)
endfunction()

set(common -G "${CMAKE_GENERATOR}" "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DTASKPORT_SOURCE_DIR=${SOURCE_DIR}")

message(STATUS "== parent with CMAKE_BUILD_TYPE=MinSizeRel")
set(build "${WORK_DIR}/parent")
run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/subproject" -B "${build}" ${common}
    -DCMAKE_BUILD_TYPE=MinSizeRel -DEXPECTED_BUILD_TYPE=MinSizeRel)
run("${CMAKE_COMMAND}" --build "${build}" --parallel 2)
run("${build}/parent_app")
set(prefix "${WORK_DIR}/prefix")
run("${CMAKE_COMMAND}" --install "${build}" --prefix "${prefix}")
file(GLOB_RECURSE installed RELATIVE "${prefix}" "${prefix}/*")
if(NOT installed STREQUAL "bin/parent_app")
  message(FATAL_ERROR "the parent's install holds more than its own program: ${installed}")
endif()
message(STATUS "installed: ${installed} (nothing of taskport): ok")

message(STATUS "== parent without a build type")
run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/subproject" -B "${WORK_DIR}/parent-no-build-type" ${common}
    "-DEXPECTED_BUILD_TYPE=")
message(STATUS "subproject test: ok")
