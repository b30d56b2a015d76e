# SPDX-License-Identifier: MIT
# Install rules and packaging for taskport (TASKPORT_INSTALL, on when
# taskport is the top-level project).
#
# Included from the root CMakeLists.txt after src/ and cli/ have been added, so
# that the targets below already exist. Installs (paths relative to the
# prefix; GNUInstallDirs decides <libdir>, e.g. lib or lib/x86_64-linux-gnu):
#   include/taskport/*.hpp                  public headers (version.hpp generated)
#   <libdir>/libtaskport.a                  the library, static ...
#   <libdir>/libtaskport.so.0.2.0           ... or shared (BUILD_SHARED_LIBS), with the
#            libtaskport.so.0.2 -> SONAME    links libtaskport.so.0.2 (SONAME) and
#            libtaskport.so                  libtaskport.so (for the linker)
#   <libdir>/taskport/libtaskport_preload.so  the preload library (.dylib on macOS)
#   bin/taskport                            the CLI, if target taskport_cli exists
#   share/man/man1/taskport.1               its manual page, with it
#   <libdir>/cmake/taskport/                find_package(taskport) -> taskport::taskport
#       taskportConfig.cmake, taskportConfigVersion.cmake,
#       taskport-static-targets*.cmake or taskport-shared-targets*.cmake,
#       taskport_preload_location.cpp
#   <libdir>/pkgconfig/taskport.pc          pkg-config --cflags --libs taskport
# Components: "Runtime" (shared library, preload library, CLI and its page) and
# "Development" (everything else). A static and a shared build may be
# installed into one prefix (the Debian packages are): their CMake target
# files have different names, and taskportConfig.cmake picks one.
#
# Nothing installed holds a path of the build tree, and nothing but the
# configured default of the preload lookup holds the install prefix: the
# CMake package, taskport.pc and the preload lookup are relative to where
# they are found, so a moved prefix (or the CPack tarball) still works.

include_guard(GLOBAL)

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TASKPORT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/taskport"
    CACHE STRING "Where taskportConfig.cmake is installed (relative to the prefix)")
mark_as_advanced(TASKPORT_INSTALL_CMAKEDIR)

if(BUILD_SHARED_LIBS)
  set(_taskport_flavour shared)
else()
  set(_taskport_flavour static)
endif()

# --- headers ---------------------------------------------------------------
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/taskport"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT Development
        FILES_MATCHING PATTERN "*.hpp")
install(FILES "${PROJECT_BINARY_DIR}/install-include/taskport/version.hpp"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/taskport"
        COMPONENT Development)

# --- library ---------------------------------------------------------------
install(TARGETS taskport
        EXPORT taskportTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Runtime
                NAMELINK_COMPONENT Development
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

# --- the preload library -----------------------------------------------------
# Where taskport::preload_library() looks for it relative to the library or
# the CLI (src/CMakeLists.txt compiles in TASKPORT_PRELOAD_INSTALL_DIR).
if(TARGET taskport_preload)
  install(TARGETS taskport_preload
          LIBRARY DESTINATION "${TASKPORT_PRELOAD_INSTALL_DIR}" COMPONENT Runtime
          RUNTIME DESTINATION "${TASKPORT_PRELOAD_INSTALL_DIR}" COMPONENT Runtime)
endif()

# --- CLI -------------------------------------------------------------------
if(TARGET taskport_cli)
  if(BUILD_SHARED_LIBS)
    # Let an installed bin/taskport find <libdir>/libtaskport.so.N in a
    # non-system prefix (e.g. /opt/taskport or $HOME/.local) without
    # LD_LIBRARY_PATH. (-DCMAKE_SKIP_INSTALL_RPATH=ON leaves it out, as the
    # Debian package does: there the library is in a system directory.)
    file(RELATIVE_PATH _taskport_bin_to_lib
         "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
    if(APPLE)
      set_property(TARGET taskport_cli APPEND PROPERTY INSTALL_RPATH "@executable_path/${_taskport_bin_to_lib}")
    else()
      set_property(TARGET taskport_cli APPEND PROPERTY INSTALL_RPATH "$ORIGIN/${_taskport_bin_to_lib}")
    endif()
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
        FILE "taskport-${_taskport_flavour}-targets.cmake"
        DESTINATION "${TASKPORT_INSTALL_CMAKEDIR}"
        COMPONENT Development)

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/taskportConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/taskportConfig.cmake"
  INSTALL_DESTINATION "${TASKPORT_INSTALL_CMAKEDIR}"
  PATH_VARS TASKPORT_PRELOAD_INSTALL_DIR)
# The compatibility policy, the same as the SONAME's (src/CMakeLists.txt):
# while 0.x a new minor version may break the API, so only the same minor
# matches (and the SONAME is libtaskport.so.0.MINOR); from 1.0 on, the
# same major.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_taskport_compatibility SameMinorVersion)
else()
  set(_taskport_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/taskportConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY ${_taskport_compatibility})
unset(_taskport_compatibility)
install(FILES "${PROJECT_BINARY_DIR}/taskportConfig.cmake"
              "${PROJECT_BINARY_DIR}/taskportConfigVersion.cmake"
              "${CMAKE_CURRENT_LIST_DIR}/taskport_preload_location.cpp"
        DESTINATION "${TASKPORT_INSTALL_CMAKEDIR}"
        COMPONENT Development)

# --- pkg-config --------------------------------------------------------------
# Relocatable: prefix is found from where taskport.pc is (${pcfiledir}),
# so a moved prefix and the CPack tarball work. Only an absolute
# CMAKE_INSTALL_LIBDIR or INCLUDEDIR is written as it is.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(TASKPORT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(TASKPORT_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH _taskport_pc_up "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
  string(REGEX REPLACE "/$" "" _taskport_pc_up "${_taskport_pc_up}")
  set(TASKPORT_PC_PREFIX "\${pcfiledir}/${_taskport_pc_up}")
  set(TASKPORT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  unset(_taskport_pc_up)
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(TASKPORT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(TASKPORT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Libs.private: what the library itself links (TASKPORT_LINK_LIBRARIES,
# src/CMakeLists.txt), for `pkg-config --static --libs` — a static
# libtaskport needs it on the final link line. Linux: -pthread and, before
# glibc 2.34, -ldl; macOS: nothing beyond libSystem.
set(TASKPORT_PC_LIBS_PRIVATE "")
foreach(_lib IN LISTS TASKPORT_LINK_LIBRARIES)
  if(_lib STREQUAL "Threads::Threads")
    # -pthread: what the compilers a .pc file is for take for POSIX
    # threads; harmless where the pthread functions are in libc (glibc >=
    # 2.34, macOS) and needed where they are not. (FindThreads' own result
    # is scoped to src/.)
    list(APPEND TASKPORT_PC_LIBS_PRIVATE "-pthread")
  elseif(_lib MATCHES "^-")
    list(APPEND TASKPORT_PC_LIBS_PRIVATE "${_lib}")
  else()
    list(APPEND TASKPORT_PC_LIBS_PRIVATE "-l${_lib}")
  endif()
endforeach()
unset(_lib)
list(JOIN TASKPORT_PC_LIBS_PRIVATE " " TASKPORT_PC_LIBS_PRIVATE)
configure_file("${CMAKE_CURRENT_LIST_DIR}/taskport.pc.in" "${PROJECT_BINARY_DIR}/pkgconfig/taskport.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/pkgconfig/taskport.pc"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
        COMPONENT Development)

unset(_taskport_flavour)

# --- CPack: `cpack --config build/CPackConfig.cmake` -> taskport-0.2.0-Linux.tar.gz
if(TASKPORT_TOP_LEVEL)
  set(CPACK_PACKAGE_NAME "taskport")
  set(CPACK_PACKAGE_VENDOR "taskport")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
  set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
  set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
  set(CPACK_GENERATOR "TGZ")
  set(CPACK_SOURCE_GENERATOR "TGZ")
  set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/obj-[^/]*/")
  include(CPack)
endif()
