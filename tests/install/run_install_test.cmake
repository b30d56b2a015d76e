# SPDX-License-Identifier: MIT
# Driver for the CTest test `install_find_package` (cmake/TaskportInstallTest.cmake):
#   cmake -DTASKPORT_BUILD_DIR=... -DWORK_DIR=... [...] -P run_install_test.cmake
#
#  1. cmake --install <build> --prefix <WORK_DIR>/prefix, and check the layout
#     (headers, library + SONAME links when shared, CMake package, taskport.pc,
#     the CLI and its man page);
#  2. configure, build and run tests/install/ with find_package(taskport);
#  3. compile and run tests/install/main.cpp with `pkg-config --cflags --libs taskport`;
#  4. run the installed CLI (`taskport run -- /bin/true`) if it was built.
# Any failure is fatal (non-zero exit).
cmake_minimum_required(VERSION 3.20)

foreach(var TASKPORT_BUILD_DIR TASKPORT_VERSION WORK_DIR CONSUMER_SOURCE_DIR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_install_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED CMAKE_GENERATOR OR CMAKE_GENERATOR STREQUAL "")
  set(CMAKE_GENERATOR "Unix Makefiles")
endif()

# The install layout (GNUInstallDirs, relative to the prefix) and version.
foreach(d LIBDIR BINDIR INCLUDEDIR MANDIR)
  if(NOT DEFINED INSTALL_${d} OR "${INSTALL_${d}}" STREQUAL "")
    message(FATAL_ERROR "run_install_test.cmake: -DINSTALL_${d}=... is required")
  endif()
  if(IS_ABSOLUTE "${INSTALL_${d}}")
    message(FATAL_ERROR "CMAKE_INSTALL_${d} is absolute (${INSTALL_${d}}); "
                        "the install test needs it relative to the prefix")
  endif()
endforeach()
string(REGEX MATCH "^[0-9]+" version_major "${TASKPORT_VERSION}")
set(version "${TASKPORT_VERSION}")

set(prefix "${WORK_DIR}/prefix")
set(libdir "${prefix}/${INSTALL_LIBDIR}")
set(bindir "${prefix}/${INSTALL_BINDIR}")
set(includedir "${prefix}/${INSTALL_INCLUDEDIR}")
set(mandir "${prefix}/${INSTALL_MANDIR}")

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run)
  execute_process(COMMAND ${ARGV} COMMAND_ECHO STDOUT COMMAND_ERROR_IS_FATAL ANY)
endfunction()

function(require_file path)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "install layout: missing ${path}")
  endif()
endfunction()

set(config_args "")
if(TASKPORT_CONFIG)
  set(config_args --config "${TASKPORT_CONFIG}")
endif()

# --- 1. install --------------------------------------------------------------
message(STATUS "== install into ${prefix}")
run("${CMAKE_COMMAND}" --install "${TASKPORT_BUILD_DIR}" --prefix "${prefix}" ${config_args})

require_file("${includedir}/taskport/taskport.hpp")
require_file("${includedir}/taskport/command.hpp")
require_file("${libdir}/cmake/taskport/taskportConfig.cmake")
require_file("${libdir}/cmake/taskport/taskportConfigVersion.cmake")
require_file("${libdir}/cmake/taskport/taskportTargets.cmake")
require_file("${libdir}/pkgconfig/taskport.pc")
if(TASKPORT_SHARED)
  require_file("${libdir}/libtaskport.so")
  require_file("${libdir}/libtaskport.so.${version_major}")
  require_file("${libdir}/libtaskport.so.${version}")
  find_program(READELF NAMES readelf llvm-readelf)
  if(READELF)
    execute_process(COMMAND "${READELF}" -d "${libdir}/libtaskport.so.${version}"
                    OUTPUT_VARIABLE dyn COMMAND_ERROR_IS_FATAL ANY)
    if(NOT dyn MATCHES "Library soname: \\[libtaskport\\.so\\.${version_major}\\]")
      message(FATAL_ERROR "libtaskport.so.${version} has no SONAME libtaskport.so.${version_major}:\n${dyn}")
    endif()
    message(STATUS "SONAME libtaskport.so.${version_major}: ok")
  endif()
else()
  require_file("${libdir}/libtaskport.a")
endif()
if(HAVE_CLI)
  require_file("${bindir}/taskport")
  require_file("${mandir}/man1/taskport.1")
endif()
message(STATUS "install layout: ok")

# The consumer must be built like the library: same compiler, same
# CMAKE_CXX_FLAGS, and the same -fsanitize= flags when the build is sanitized
# (CONSUMER_CXX_FLAGS carries both).
set(cxx_flags "")
if(CONSUMER_CXX_FLAGS)
  separate_arguments(cxx_flags UNIX_COMMAND "${CONSUMER_CXX_FLAGS}")
endif()

# --- 2. find_package(taskport) consumer ---------------------------------------
message(STATUS "== find_package(taskport) consumer")
set(consumer_build "${WORK_DIR}/consumer-cmake")
set(build_type_arg "")
if(TASKPORT_CONFIG)
  set(build_type_arg "-DCMAKE_BUILD_TYPE=${TASKPORT_CONFIG}")
endif()
run("${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${consumer_build}"
    -G "${CMAKE_GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    "-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON"
    "-DTASKPORT_EXPECTED_PREFIX=${prefix}"
    "-DCMAKE_CXX_FLAGS=${CONSUMER_CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_LINK_FLAGS}"
    ${build_type_arg})
run("${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})
set(consumer_exe "")
foreach(candidate "${consumer_build}/consumer" "${consumer_build}/${TASKPORT_CONFIG}/consumer")
  if(EXISTS "${candidate}" AND NOT IS_DIRECTORY "${candidate}")
    set(consumer_exe "${candidate}")
    break()
  endif()
endforeach()
if(NOT consumer_exe)
  message(FATAL_ERROR "consumer executable not found under ${consumer_build}")
endif()
# No LD_LIBRARY_PATH here: CMake's build RPATH must find a shared libtaskport.
run("${consumer_exe}")

# --- 3. pkg-config consumer --------------------------------------------------
if(NOT PKG_CONFIG_EXECUTABLE)
  message(STATUS "== pkg-config consumer: SKIPPED (pkg-config not found at configure time)")
else()
  message(STATUS "== pkg-config consumer")
  set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
  execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --modversion taskport
                  OUTPUT_VARIABLE pc_version OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  if(NOT pc_version STREQUAL version)
    message(FATAL_ERROR "pkg-config --modversion taskport: '${pc_version}', expected '${version}'")
  endif()
  execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --variable=prefix taskport
                  OUTPUT_VARIABLE pc_prefix OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  if(NOT pc_prefix STREQUAL prefix)
    message(FATAL_ERROR "taskport.pc has prefix '${pc_prefix}', expected '${prefix}'")
  endif()
  execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --static --libs taskport
                  OUTPUT_VARIABLE pc_static_libs OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  if(NOT pc_static_libs MATCHES "-pthread")
    message(FATAL_ERROR "pkg-config --static --libs taskport lacks -pthread: '${pc_static_libs}'")
  endif()
  execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --cflags --libs taskport
                  OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  message(STATUS "pkg-config --cflags --libs taskport: ${pc_flags}")
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  set(pc_exe "${WORK_DIR}/consumer-pkgconfig")
  set(link_flags "")
  if(CONSUMER_LINK_FLAGS)
    separate_arguments(link_flags UNIX_COMMAND "${CONSUMER_LINK_FLAGS}")
  endif()
  run("${CXX_COMPILER}" -std=c++17 ${cxx_flags} "${CONSUMER_SOURCE_DIR}/main.cpp" ${pc_flags} ${link_flags}
      -o "${pc_exe}")
  # pkg-config gives no rpath: a shared libtaskport in a scratch prefix is
  # found through LD_LIBRARY_PATH.
  set(saved_ld_library_path "$ENV{LD_LIBRARY_PATH}")
  if(TASKPORT_SHARED)
    if(saved_ld_library_path STREQUAL "")
      set(ENV{LD_LIBRARY_PATH} "${libdir}")
    else()
      set(ENV{LD_LIBRARY_PATH} "${libdir}:${saved_ld_library_path}")
    endif()
  endif()
  run("${pc_exe}")
  set(ENV{LD_LIBRARY_PATH} "${saved_ld_library_path}")
endif()

# --- 4. the installed CLI ------------------------------------------------------
if(HAVE_CLI)
  message(STATUS "== installed CLI")
  # No LD_LIBRARY_PATH: a shared build's bin/taskport finds its library
  # through INSTALL_RPATH $ORIGIN/../lib.
  run("${bindir}/taskport" run -- /bin/true)
endif()

message(STATUS "install test: ok")
