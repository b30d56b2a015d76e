# SPDX-License-Identifier: MIT
# Install rules and packaging for taskport.
#
# Included from the root CMakeLists.txt after src/ and cli/ have been added, so
# that the targets below already exist. Installs:
#   include/taskport/*.hpp                      public headers
#   lib/libtaskport.a | libtaskport.so.*        the library (BUILD_SHARED_LIBS)
#   bin/taskport                                the CLI, if target taskport_cli exists
#   share/man/man1/taskport.1                   its manual page, with it
#   lib/cmake/taskport/taskport{Config,ConfigVersion,Targets*}.cmake
#                                               find_package(taskport) -> taskport::taskport
#   lib/pkgconfig/taskport.pc                   pkg-config --cflags --libs taskport
# Components: "Runtime" (shared library, CLI) and "Development" (everything else).

include_guard(GLOBAL)

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TASKPORT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/taskport"
    CACHE STRING "Where taskportConfig.cmake is installed (relative to the prefix)")
mark_as_advanced(TASKPORT_INSTALL_CMAKEDIR)

# --- headers ---------------------------------------------------------------
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/taskport"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT Development
        FILES_MATCHING PATTERN "*.hpp")

# --- library ---------------------------------------------------------------
install(TARGETS taskport
        EXPORT taskportTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Runtime
                NAMELINK_COMPONENT Development
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

# --- CLI -------------------------------------------------------------------
if(TARGET taskport_cli)
  if(BUILD_SHARED_LIBS)
    # Let an installed bin/taskport find lib/libtaskport.so.N in a non-system
    # prefix (e.g. /opt/taskport or $HOME/.local) without LD_LIBRARY_PATH.
    file(RELATIVE_PATH _taskport_bin_to_lib
         "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}"
         "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
    set_property(TARGET taskport_cli APPEND PROPERTY INSTALL_RPATH "$ORIGIN/${_taskport_bin_to_lib}")
    unset(_taskport_bin_to_lib)
  endif()
  install(TARGETS taskport_cli
          RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime)
  # taskport(1), written in roff (docs/taskport.1): `man taskport` once the
  # prefix's share/man is in the manual path.
  install(FILES "${PROJECT_SOURCE_DIR}/docs/taskport.1"
          DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT Runtime)
endif()

# --- CMake package: find_package(taskport) -> taskport::taskport ------------
install(EXPORT taskportTargets
        NAMESPACE taskport::
        DESTINATION "${TASKPORT_INSTALL_CMAKEDIR}"
        COMPONENT Development)

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/taskportConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/taskportConfig.cmake"
  INSTALL_DESTINATION "${TASKPORT_INSTALL_CMAKEDIR}")
# 0.x: a new minor version may break the API, so only the same minor matches.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/taskportConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/taskportConfig.cmake"
              "${PROJECT_BINARY_DIR}/taskportConfigVersion.cmake"
        DESTINATION "${TASKPORT_INSTALL_CMAKEDIR}"
        COMPONENT Development)

# --- pkg-config --------------------------------------------------------------
# The prefix written into taskport.pc is the one actually installed to, known
# only at install time (`cmake --install build --prefix /x` overrides
# CMAKE_INSTALL_PREFIX), so the file is configured by an install(CODE) step
# from a template with everything else already filled in.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(TASKPORT_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(TASKPORT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(TASKPORT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(TASKPORT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# The library links Threads::Threads privately: a static archive needs it on
# the final link line (`pkg-config --static --libs`). Since glibc 2.34 the
# pthread functions live in libc, so the plain `--libs` line links too.
set(TASKPORT_PC_LIBS_PRIVATE "-pthread")
set(_taskport_pc_template "${PROJECT_BINARY_DIR}/pkgconfig/taskport.pc.in")
set(_taskport_pc_file "${PROJECT_BINARY_DIR}/pkgconfig/taskport.pc")
set(TASKPORT_PC_PREFIX "@TASKPORT_PC_PREFIX@")  # kept for the install-time pass
configure_file("${CMAKE_CURRENT_LIST_DIR}/taskport.pc.in" "${_taskport_pc_template}" @ONLY)
unset(TASKPORT_PC_PREFIX)
install(CODE "
  set(TASKPORT_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${_taskport_pc_template}\" \"${_taskport_pc_file}\" @ONLY)
" COMPONENT Development)
install(FILES "${_taskport_pc_file}"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
        COMPONENT Development)
unset(_taskport_pc_template)
unset(_taskport_pc_file)

# --- CPack: `cpack --config build/CPackConfig.cmake` -> taskport-0.1.0-Linux.tar.gz
if(PROJECT_IS_TOP_LEVEL)
  set(CPACK_PACKAGE_NAME "taskport")
  set(CPACK_PACKAGE_VENDOR "taskport")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
  set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
  set(CPACK_GENERATOR "TGZ")
  set(CPACK_SOURCE_GENERATOR "TGZ")
  set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/")
  include(CPack)
endif()
