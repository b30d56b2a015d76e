# SPDX-License-Identifier: MIT
# CTest `debian_changelog_version`: the newest entry of debian/changelog is
# for project(VERSION) — upstream version VERSION, any Debian revision
# ("0.2.0-1"). A new version in CMakeLists.txt needs a changelog entry.
#   cmake -DCHANGELOG=debian/changelog -DVERSION=0.2.0 -P check_debian_version.cmake
foreach(var CHANGELOG VERSION)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_debian_version.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${CHANGELOG}")
  message(FATAL_ERROR "${CHANGELOG} does not exist")
endif()
# The first line: "<source> (<version>) <distribution>; urgency=<u>".
file(STRINGS "${CHANGELOG}" first LIMIT_COUNT 1)
if(NOT first MATCHES "^([a-z0-9][a-z0-9.+-]*) \\(([^)]+)\\) [^;]+; urgency=")
  message(FATAL_ERROR "${CHANGELOG}: first line is not a changelog entry header: '${first}'")
endif()
set(source "${CMAKE_MATCH_1}")
set(full "${CMAKE_MATCH_2}")
# [epoch:]upstream[-revision]
string(REGEX REPLACE "^[0-9]+:" "" upstream "${full}")
string(REGEX REPLACE "-[^-]*$" "" upstream "${upstream}")
if(NOT upstream STREQUAL VERSION)
  message(FATAL_ERROR "debian/changelog is at ${full} (upstream ${upstream}); project(VERSION) is ${VERSION}: "
                      "add a debian/changelog entry for ${VERSION}-1 (dch -v ${VERSION}-1)")
endif()
if(NOT source STREQUAL "taskport")
  message(FATAL_ERROR "debian/changelog is for source package '${source}', not taskport")
endif()
message(STATUS "debian/changelog ${full}: upstream ${upstream} = project(VERSION): ok")
