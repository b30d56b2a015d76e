#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""--json: JSON Lines valid against docs/cli-json.schema.json, always
UTF-8, with the exact bytes of any text that is not in a base64 twin."""
import base64
import os
import shutil
import tempfile

import sys

import cli_support as s

PYTHON = sys.executable  # the child programs run under the python running the tests


class JsonLines(s.CliTest):
    def test_a_run_is_spawn_then_snapshots_then_exit_each_valid(self):
        r = s.taskport("run", "--json", "--at", "100ms", "--every", "150ms", "--count", "2", "--",
                       "sleep", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = s.json_lines(r.stdout)
        kinds = [o["event"] for o in lines]
        self.assertEqual(kinds[0], "spawn")
        self.assertEqual(kinds[-1], "exit")
        snaps = [o["snapshot"] for o in s.events(lines, "snapshot")]
        self.assertEqual([x["trigger"] for x in snaps], ["start", "at", "every", "every"])
        self.assertEqual([x["index"] for x in snaps], [0, 1, 2, 3])
        stamps = [o["monotonic_ns"] for o in lines]
        self.assertEqual(stamps, sorted(stamps))
        self.assertEqual(lines[-1]["exit"]["code"], 0)
        self.assertIsNone(snaps[0]["changes"])
        self.assertEqual(snaps[1]["changes"]["since_index"], 0)

    def test_the_whole_region_list_with_resident_sizes(self):
        r = s.taskport("run", "--json", "--suspended", "--", "sleep", "0")
        snap = s.events(s.json_lines(r.stdout), "snapshot")[0]["snapshot"]
        regions = snap["regions"]
        self.assertEqual(len(regions), snap["regions_summary"]["count"])
        self.assertGreater(len(regions), 5)
        self.assertEqual(sum(x["size"] for x in regions), snap["regions_summary"]["bytes"])
        self.assertTrue(all(isinstance(x["resident_bytes"], int) for x in regions))
        self.assertEqual(sum(x["resident_bytes"] for x in regions), snap["regions_summary"]["resident_bytes"])
        starts = [int(x["start"], 16) for x in regions]
        self.assertEqual(starts, sorted(starts))
        self.assertIn("stack", {x["kind"] for x in regions})
        self.assertIsNotNone(snap["registers"])

    def test_a_failure_is_an_error_object_on_stdout(self):
        r = s.taskport("run", "--json", "--", "tp-no-such-program-anywhere")
        lines = s.json_lines(r.stdout)
        self.assertEqual([o["event"] for o in lines], ["error"])
        err = lines[0]["error"]
        self.assertEqual(err["program"], "tp-no-such-program-anywhere")
        self.assertEqual(err["errno"], 2)
        self.assertIn("resolve program", err["message"])


class NotUtf8(s.CliTest):
    """A program whose path holds byte 0xff (not UTF-8): the JSON stays
    valid UTF-8 and the base64 twins give back the exact bytes."""

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="tp-cli-json-")
        self.addCleanup(shutil.rmtree, self.dir)
        self.path = os.path.join(os.fsencode(self.dir), b"sleep-\xff-copy")
        shutil.copy(shutil.which("sleep"), self.path)
        os.chmod(self.path, 0o755)

    def test_program_argv_and_region_paths_round_trip_the_bytes(self):
        r = s.taskport("run", "--json", "--suspended", "--", os.fsdecode(self.path), "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = s.json_lines(r.stdout)  # strict UTF-8 and the schema
        spawn = s.events(lines, "spawn")[0]
        self.assertIn("\ufffd", spawn["program"])
        self.assertEqual(base64.b64decode(spawn["program_base64"]), self.path)
        self.assertEqual(base64.b64decode(spawn["argv_base64"][0]), self.path)
        self.assertEqual(base64.b64decode(spawn["argv_base64"][1]), b"0")
        self.assertEqual(spawn["argv"][1], "0")
        regions = s.events(lines, "snapshot")[0]["snapshot"]["regions"]
        mapped = [base64.b64decode(x["path_base64"]) for x in regions if "path_base64" in x]
        self.assertIn(self.path, mapped)
        self.assertTrue(all("path_base64" not in x for x in regions if x["path"].isascii()))

    def test_a_thread_name_with_control_and_non_utf8_bytes_round_trips(self):
        program = ("import ctypes, time\n"
                   "ctypes.CDLL(None).prctl(15, b'\\x1b[2Jodd\\xff', 0, 0, 0)\n"
                   "time.sleep(2.5)\n")
        r = s.taskport("run", "--json", "--at", "1500ms", "--", PYTHON, "-c", program)
        self.assertEqual(r.returncode, 0, r.stderr)
        threads = s.events(s.json_lines(r.stdout), "snapshot")[1]["snapshot"]["threads"]
        self.assertEqual(threads[0]["name"], "\x1b[2Jodd\ufffd")
        self.assertEqual(base64.b64decode(threads[0]["name_base64"]), b"\x1b[2Jodd\xff")

    def test_a_failure_naming_the_path_round_trips_it_too(self):
        missing = self.path + b"-missing"
        r = s.taskport("run", "--json", "--", os.fsdecode(missing))
        self.assertEqual(r.returncode, 127)
        err = s.json_lines(r.stdout)[0]["error"]
        self.assertEqual(base64.b64decode(err["program_base64"]), missing)
        self.assertIn(missing, base64.b64decode(err["message_base64"]))


if __name__ == "__main__":
    s.main()
