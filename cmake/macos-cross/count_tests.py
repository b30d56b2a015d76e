#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""count_tests.py BUILD_DIR SOURCE_DIR MINIMUM — count the test cases the
macOS cross build compiles, and require at least MINIMUM in the shared suite.

The shared suite is every test source under SOURCE_DIR/tests that the build
compiles (compile_commands.json), except tests/macos (the Mach tests, counted
and shown apart). Each file is run through its own compile command with -E,
so that a test behind an #if that is false on macOS is not counted: what is
counted is what the macOS binaries contain. A TEST or TEST_F expands to one
call of ::testing::internal::MakeAndRegisterTestInfo(, a TEST_P to one
->AddTestPattern( (counted once, whatever its instantiations).
Prints one line per file and the totals; exit status 1 below MINIMUM.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile

TEST_MARKERS = ("::testing::internal::MakeAndRegisterTestInfo(", "->AddTestPattern(")


def preprocessed_count(entry):
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    out = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(a)
    with tempfile.NamedTemporaryFile(suffix=".i") as tmp:
        cmd = out[:1] + ["-E", "-o", tmp.name] + out[1:]
        subprocess.run(cmd, cwd=entry["directory"], check=True)
        text = open(tmp.name, encoding="utf-8", errors="replace").read()
    return sum(text.count(m) for m in TEST_MARKERS)


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    build, source, minimum = sys.argv[1], os.path.realpath(sys.argv[2]), int(sys.argv[3])
    tests_dir = os.path.join(source, "tests") + os.sep
    mach_dir = os.path.join(tests_dir, "macos") + os.sep
    entries = json.load(open(os.path.join(build, "compile_commands.json")))
    seen = set()
    shared = mach = 0
    for entry in sorted(entries, key=lambda e: e["file"]):
        path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
        if not path.startswith(tests_dir) or path in seen:
            continue
        seen.add(path)
        n = preprocessed_count(entry)
        if n == 0:
            continue  # support code and helper programs
        where = "macos" if path.startswith(mach_dir) else "shared"
        print("  %4d  %-6s %s" % (n, where, os.path.relpath(path, source)))
        if where == "macos":
            mach += n
        else:
            shared += n
    print("  shared suite in the macOS build: %d test cases (at least %d required); tests/macos: %d"
          % (shared, minimum, mach))
    return 0 if shared >= minimum else 1


if __name__ == "__main__":
    sys.exit(main())
