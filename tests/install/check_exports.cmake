# SPDX-License-Identifier: MIT
# CTest `shared_library_exports`: the dynamic symbol table of a shared
# libtaskport holds the public API (include/taskport/, the declarations
# marked TASKPORT_API) and nothing else — no backend internals, no std::
# template instances — while the vtable and typeinfo of taskport::Error,
# which `catch (const taskport::Error&)` in a program needs, are there.
#   cmake -DNM=nm -DLIBRARY=build/src/libtaskport.so.0.2.0 -P check_exports.cmake
# A new public class or function is added to the allow-lists below.
foreach(var NM LIBRARY)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_exports.cmake: -D${var}=... is required")
  endif()
endforeach()

# The public classes (every member, private ones included: they are part of
# the class, and an inline member may call them) and free functions.
set(public_classes Child Command Error ExitStatus Rendezvous Stdio Task UniqueFd)
set(public_functions to_string fork_with_task send_task_to_spawner send_task_to_spawner_signal_safe last_error
                     preload_library set_preload_library library_version)
# What must be exported for the API to work across the library boundary.
set(required
  "typeinfo for taskport::Error"
  "vtable for taskport::Error"
  "taskport::library_version()"
  "taskport::Command::spawn_with_task() const")

list(JOIN public_classes "|" classes_re)
list(JOIN public_functions "|" functions_re)
set(member_re "^taskport::(${classes_re})::")
set(function_re "^taskport::(${functions_re})(\\[abi:cxx11\\])?\\(")
set(rtti_re "^(typeinfo|typeinfo name|vtable) for taskport::(${classes_re})$")

execute_process(COMMAND "${NM}" -D --defined-only -C "${LIBRARY}"
                OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D --defined-only -C ${LIBRARY} failed (${rc}): ${err}")
endif()
string(REPLACE ";" "\\;" out "${out}")
string(REPLACE "\n" ";" lines "${out}")
set(bad "")
set(names "")
set(count 0)
foreach(line IN LISTS lines)
  # "<address> <type> <name>"; the name may contain spaces.
  if(NOT line MATCHES "^[0-9a-fA-F]+ [A-Za-z] (.+)$")
    continue()
  endif()
  set(name "${CMAKE_MATCH_1}")
  math(EXPR count "${count} + 1")
  list(APPEND names "${name}")
  if(name MATCHES "::Impl::")
    list(APPEND bad "${name}")
  elseif(name MATCHES "${member_re}" OR name MATCHES "${function_re}" OR name MATCHES "${rtti_re}")
    continue()
  else()
    list(APPEND bad "${name}")
  endif()
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "${LIBRARY} exports nothing (is it a shared library?)")
endif()
set(missing "")
foreach(r IN LISTS required)
  list(FIND names "${r}" i)
  if(i EQUAL -1)
    list(APPEND missing "${r}")
  endif()
endforeach()
if(bad OR missing)
  list(JOIN bad "\n  " bad_text)
  list(JOIN missing "\n  " missing_text)
  message(FATAL_ERROR "${LIBRARY}: ${count} exported symbols;\n"
                      "outside the public API:\n  ${bad_text}\n"
                      "missing from the exports:\n  ${missing_text}")
endif()
message(STATUS "${LIBRARY}: ${count} exported symbols, all public API: ok")
