#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""--every shows the program as it changes: a python3 program that starts
20 threads 200 ms after its start shows them in a later snapshot."""
import sys

import cli_support as s

PYTHON = sys.executable  # the child programs run under the python running the tests

PROGRAM = """
import threading, time
time.sleep(0.2)
go = threading.Event()
threads = [threading.Thread(target=go.wait) for _ in range(20)]
for t in threads: t.start()
time.sleep(1.0)
go.set()
for t in threads: t.join()
"""


class Periodic(s.CliTest):
    def test_a_later_snapshot_shows_the_20_threads_started_after_200ms(self):
        r = s.taskport("run", "--json", "--every", "100ms", "--", PYTHON, "-c", PROGRAM)
        self.assertEqual(r.returncode, 0, r.stderr)
        snaps = [o["snapshot"] for o in s.events(s.json_lines(r.stdout), "snapshot")]
        counts = [len(x["threads"]) for x in snaps]
        self.assertEqual(counts[0], 1, counts)  # right after execve: the main thread only
        self.assertGreaterEqual(max(counts), 20, counts)
        self.assertGreaterEqual(len(snaps), 4, counts)
        # The snapshot where they appear says so.
        grown = next(x for x in snaps if len(x["threads"]) >= 20)
        self.assertGreaterEqual(len(grown["changes"]["threads_born"]), 1)
        tids = {t["tid"] for t in grown["threads"]}
        self.assertEqual(len(tids), len(grown["threads"]))
        self.assertEqual([x["trigger"] for x in snaps[1:]], ["every"] * (len(snaps) - 1))

    def test_count_limits_the_periodic_snapshots(self):
        r = s.taskport("run", "--json", "--every", "50ms", "--count", "3", "--", "sleep", "0.6")
        self.assertEqual(r.returncode, 0, r.stderr)
        snaps = [o["snapshot"] for o in s.events(s.json_lines(r.stdout), "snapshot")]
        self.assertEqual([x["trigger"] for x in snaps], ["start", "every", "every", "every"])


if __name__ == "__main__":
    s.main()
