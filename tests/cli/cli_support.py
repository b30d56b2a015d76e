# SPDX-License-Identifier: MIT
"""What every CLI test needs: the built taskport, run as a user would, and
its JSON Lines checked against docs/cli-json.schema.json.

The paths come from CTest (tests/cli/CMakeLists.txt): TASKPORT_CLI (the
built binary), TASKPORT_SCHEMA, TASKPORT_MAN_PAGE.
"""
import json
import os
import select
import subprocess
import unittest

CLI = os.environ.get("TASKPORT_CLI", "")
SCHEMA = os.environ.get("TASKPORT_SCHEMA", "")
MAN_PAGE = os.environ.get("TASKPORT_MAN_PAGE", "")
TIMEOUT = 60  # seconds: no run of the CLI in these tests may take longer

try:
    import jsonschema  # Debian: python3-jsonschema (tools/deps)
except ImportError as e:  # a missing validator fails the tests, never skips them
    raise SystemExit(f"cli tests: {e}: install python3-jsonschema (./tools/deps)")

with open(SCHEMA, encoding="utf-8") as f:
    _validator = jsonschema.Draft202012Validator(json.load(f))


def taskport(*args, env=None, preexec_fn=None, timeout=TIMEOUT):
    """Runs `taskport ARGS...` to its end; stdout and stderr as bytes."""
    return subprocess.run([CLI, *args], capture_output=True, env=env, preexec_fn=preexec_fn,
                          timeout=timeout, check=False)


def json_lines(stdout: bytes):
    """Every line of a --json run: strict UTF-8, one JSON object each, each
    valid against the schema. Raises AssertionError naming the line."""
    text = stdout.decode("utf-8", errors="strict")
    lines = text.splitlines()
    out = []
    for n, line in enumerate(lines, 1):
        obj = json.loads(line)
        errors = sorted(_validator.iter_errors(obj), key=lambda e: list(e.path))
        if errors:
            raise AssertionError(f"line {n} does not match the schema: {errors[0].message}\n  {line[:400]}")
        out.append(obj)
    return out


def events(objs, kind):
    return [o for o in objs if o["event"] == kind]


def ppid_of(pid: int) -> int:
    """The parent pid the kernel gives `pid` (for checking whose child it is)."""
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def exited(pidfd: int, timeout_ms: int) -> bool:
    """True once the process the pidfd names has exited (it polls readable)."""
    p = select.poll()
    p.register(pidfd, select.POLLIN)
    return bool(p.poll(timeout_ms))


class CliTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(CLI and os.access(CLI, os.X_OK), f"TASKPORT_CLI={CLI!r} is not an executable")


def main():
    unittest.main(verbosity=2)
