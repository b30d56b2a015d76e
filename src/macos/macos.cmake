# SPDX-License-Identifier: MIT
# The macOS backend (Mach task ports), included by src/CMakeLists.txt when
# building for Apple. Paths are relative to src/.
#
#   TASKPORT_MACOS_WERROR  -Werror for the files of src/macos (the cross-build
#                          check and the macOS CI job turn it on).
#   TASKPORT_PRELOAD_ARCHITECTURES  the slices of the preload dylib on a Mac
#                          (default x86_64;arm64: universal).

option(TASKPORT_MACOS_WERROR "Treat warnings in src/macos as errors" OFF)

set(_taskport_macos_sources
  macos/child_macos.cpp
  macos/code_signing.cpp
  macos/dyld_policy.cpp
  macos/exit_watch.cpp
  macos/fork_with_task_macos.cpp
  macos/launch.cpp
  macos/mach_error.cpp
  macos/macho_file.cpp
  macos/reaper.cpp
  macos/registered_ports.cpp
  macos/rendezvous_accept.cpp
  macos/rendezvous_child.cpp
  macos/rendezvous_macos.cpp
  macos/rendezvous_server.cpp
  macos/spawn_macos.cpp
  macos/spawn_options.cpp
  macos/spawn_plan.cpp
  macos/task_info_macos.cpp
  macos/task_macos.cpp
  macos/task_open_macos.cpp
  macos/task_process_macos.cpp
  macos/task_memory_macos.cpp
  macos/task_regions_macos.cpp
  macos/task_threads_macos.cpp
  macos/wait_status.cpp
)
target_sources(taskport_objects PRIVATE ${_taskport_macos_sources})
# Nothing beyond libSystem: the audit token is read directly
# (task_identity.hpp), so there is no -lbsm — and taskport.pc's
# Libs.private needs nothing for macOS.
if(TASKPORT_MACOS_WERROR)
  set_property(SOURCE ${_taskport_macos_sources} APPEND PROPERTY COMPILE_OPTIONS -Werror)
endif()

# ---- the preload dylib -------------------------------------------------------
# libtaskport_preload.dylib, inserted with DYLD_INSERT_LIBRARIES by
# Command::spawn_with_task: its constructor sends the program's task port
# before main. A SHARED library (MH_DYLIB: dyld does not insert bundles),
# linked as C — no C++ runtime, no exceptions — and never instrumented, so it
# loads into any program. It compiles its own copy of the child side.
add_library(taskport_preload SHARED macos/preload/taskport_preload.cpp macos/rendezvous_child.cpp)
set_property(TARGET taskport_preload PROPERTY COMPILE_OPTIONS "")
set_property(TARGET taskport_preload PROPERTY LINK_OPTIONS "")
target_include_directories(taskport_preload PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_features(taskport_preload PRIVATE cxx_std_17)
# -fno-sanitize=all: also against toolchains that instrument by default
# (zig cc in Debug mode adds -fsanitize=undefined, whose function checks
# need the C++ runtime's type_info).
target_compile_options(taskport_preload PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                       -fno-exceptions -fno-rtti -fvisibility=hidden -fno-sanitize=all
                       "${TASKPORT_DEBUG_PREFIX_MAP}")
if(TASKPORT_MACOS_WERROR)
  target_compile_options(taskport_preload PRIVATE -Werror)
endif()
set_target_properties(taskport_preload PROPERTIES
  LINKER_LANGUAGE C
  PREFIX "lib"
  OUTPUT_NAME taskport_preload
  CXX_VISIBILITY_PRESET hidden)
# Universal on a Mac: an x86_64 program under Rosetta on Apple silicon runs
# the x86_64 dyld, which takes the x86_64 slice (dyld-1378
# mach_o/GradedArchitectures.cpp), and an arm64 one the arm64 slice. The
# zig cross build (cmake/zig-macos.cmake) makes one slice per build tree;
# tools/macos-cross-build joins the two with llvm-lipo and checks the result.
if(NOT TASKPORT_ZIG)
  set(TASKPORT_PRELOAD_ARCHITECTURES "x86_64;arm64" CACHE STRING "Slices of libtaskport_preload.dylib")
  set_target_properties(taskport_preload PROPERTIES OSX_ARCHITECTURES "${TASKPORT_PRELOAD_ARCHITECTURES}")
endif()

# Where it is installed and found: src/CMakeLists.txt.
unset(_taskport_macos_sources)
