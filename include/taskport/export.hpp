// SPDX-License-Identifier: MIT
// taskport — TASKPORT_API, the mark of the public API's declarations.
//
// The library is compiled with -fvisibility=hidden and
// -fvisibility-inlines-hidden (src/CMakeLists.txt): a shared libtaskport
// exports only what carries TASKPORT_API — the classes and functions of
// include/taskport/ — together with the vtables and typeinfo of those
// classes, so that `catch (const taskport::Error&)` matches an Error thrown
// inside the library. Everything else (the backends, /proc parsers,
// helpers) stays internal, and tests reach it through the internal static
// target taskport_internal.
//
// The mark is the same for a shared and a static libtaskport and for the
// library's own build and its users: on ELF and Mach-O, default visibility
// on a declaration is harmless where the symbol is not exported, so nothing
// needs to be defined to pick a variant.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define TASKPORT_API __attribute__((visibility("default")))
#else
#define TASKPORT_API
#endif
