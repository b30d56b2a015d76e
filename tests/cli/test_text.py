#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The text view: what a person reads at a glance, and the child's output
and the report never mixed within a line."""
import re
import sys

import cli_support as s

PYTHON = sys.executable  # the child programs run under the python running the tests

PIECES = """
import sys, time
for i in range(15):
    for out, a, b in ((sys.stdout, "AAAA", "BBBB"), (sys.stderr, "CCCC", "DDDD")):
        out.write(a); out.flush()
        time.sleep(0.01)
        out.write(b + "\\n"); out.flush()
"""

THREADS = """
import threading, time
time.sleep(0.3)
go = threading.Event()
threads = [threading.Thread(target=go.wait) for _ in range(5)]
for t in threads: t.start()
block = bytearray(8 << 20)
for i in range(0, len(block), 4096): block[i] = 1
time.sleep(2.0)
go.set()
for t in threads: t.join()
"""

# Names itself ESC "[2Jodd" 0xff (PR_SET_NAME = 15): a terminal escape and a
# byte that is not UTF-8.
ODD_NAME = """
import ctypes, time
ctypes.CDLL(None).prctl(15, b"\\x1b[2Jodd\\xff", 0, 0, 0)
time.sleep(2.5)
"""


class TextView(s.CliTest):
    def test_threads_largest_regions_and_what_changed(self):
        # The snapshot at 1.5 s comes after the threads and the 8 MiB however
        # slowly a loaded machine starts python (up to ~1.2 s), and before
        # the program ends at 2.3 s.
        r = s.taskport("run", "--at", "1500ms", "--", PYTHON, "-c", THREADS)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode()
        self.assertRegex(text, r"snapshot 0 at \+0\.\d{3} s \(start, right after execve\):")
        at = re.search(r"snapshot 1 at \+(\d+\.\d{3}) s \(--at\):", text)
        self.assertIsNotNone(at, text)
        self.assertGreaterEqual(float(at.group(1)), 1.5)
        self.assertRegex(text, r"threads \(6\), busiest first:\n    \d+ +python3 +\w+ +user \d+\.\d{3} s")
        self.assertRegex(text, r"regions \(\d+ mappings, .*resident .*\), largest resident:\n +\d")
        # The 8 MiB the program wrote to is the largest resident mapping.
        self.assertRegex(text, r"largest resident:\n +(8\.\d|9\.\d) MiB +rw-p +anonymous")
        self.assertRegex(text, r"changed +since snapshot 0 \(\d+\.\d{3} s ago\): threads 5 born \(\d+( \d+){4}\), "
                               r"0 ended; resident \+\d+\.\d MiB")
        self.assertTrue(text.endswith("exit        exit code 0\n"), text[-200:])

    def test_the_childs_lines_stay_whole_among_report_lines(self):
        # The child writes each line in two pieces, 10 ms apart, while
        # taskport reports every 5 ms.
        r = s.taskport("run", "--every", "5ms", "--", PYTHON, "-c", PIECES)
        self.assertEqual(r.returncode, 0, r.stderr)
        out, err = r.stdout.decode(), r.stderr.decode()
        self.assertGreater(out.count("snapshot "), 5, "too few reports to interleave with")
        for text, a, b in ((out, "AAAA", "BBBB"), (err, "CCCC", "DDDD")):
            child = [l for l in text.splitlines() if a in l or b in l]
            self.assertEqual(child, [a + b] * 15)

    def test_an_unfinished_last_line_is_passed_on_and_the_report_starts_a_new_line(self):
        r = s.taskport("run", "--", "printf", "no newline")
        self.assertEqual(r.returncode, 0)
        # Passed on when the pipe reached EOF: before or after the first
        # snapshot, depending on when printf was done; the next report
        # starts on a line of its own either way.
        self.assertRegex(r.stdout, rb"(?m)^no newline\n(snapshot 0 |exit        exit code 0\n)")
        self.assertTrue(r.stdout.endswith(b"exit        exit code 0\n"))

    def test_control_bytes_in_names_do_not_reach_the_terminal(self):
        r = s.taskport("run", "--at", "1500ms", "--", PYTHON, "-c", ODD_NAME)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"?[2Jodd", r.stdout)  # the thread's name, its ESC shown as '?'
        self.assertIsNone(re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", r.stdout))

if __name__ == "__main__":
    s.main()
