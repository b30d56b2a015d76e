# SPDX-License-Identifier: MIT
# The macOS backend (Mach task ports), included by src/CMakeLists.txt when
# building for Apple. Paths are relative to src/.
#
#   TASKPORT_MACOS_WERROR  -Werror for the files of src/macos (the cross-build
#                          check and the macOS CI job turn it on).

option(TASKPORT_MACOS_WERROR "Treat warnings in src/macos as errors" OFF)

set(_taskport_macos_sources
  macos/child_macos.cpp
  macos/dyld_policy.cpp
  macos/exit_watch.cpp
  macos/fork_with_task_macos.cpp
  macos/launch.cpp
  macos/mach_error.cpp
  macos/reaper.cpp
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
target_sources(taskport PRIVATE ${_taskport_macos_sources})
# audit_token_to_pid (the sender check of the rendezvous) is in libbsm.
target_link_libraries(taskport PRIVATE bsm)
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
                       -fno-exceptions -fno-rtti -fvisibility=hidden -fno-sanitize=all)
if(TASKPORT_MACOS_WERROR)
  target_compile_options(taskport_preload PRIVATE -Werror)
endif()
set_target_properties(taskport_preload PROPERTIES
  LINKER_LANGUAGE C
  PREFIX "lib"
  OUTPUT_NAME taskport_preload
  CXX_VISIBILITY_PRESET hidden)

set(TASKPORT_PRELOAD_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/taskport"
    CACHE STRING "Where libtaskport_preload.dylib is installed (relative to the prefix)")
mark_as_advanced(TASKPORT_PRELOAD_INSTALL_DIR)
if(IS_ABSOLUTE "${TASKPORT_PRELOAD_INSTALL_DIR}")
  set(_taskport_preload_default "${TASKPORT_PRELOAD_INSTALL_DIR}/libtaskport_preload.dylib")
else()
  set(_taskport_preload_default "${CMAKE_INSTALL_PREFIX}/${TASKPORT_PRELOAD_INSTALL_DIR}/libtaskport_preload.dylib")
endif()
set_property(SOURCE common/preload_library.cpp APPEND PROPERTY
  COMPILE_DEFINITIONS "TASKPORT_PRELOAD_DEFAULT=\"${_taskport_preload_default}\"")
unset(_taskport_preload_default)
unset(_taskport_macos_sources)
