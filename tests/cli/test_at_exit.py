#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""--at-exit: a snapshot taken while the program is held at its exit, with
its memory still mapped. The program (python3) writes a marker into its own
memory just before it exits — over its argv, which the kernel shows in
/proc/<pid>/cmdline, read from the process's memory — and the at-exit
snapshot's command line shows it."""
import os
import sys

import cli_support as s

PYTHON = sys.executable
PLACEHOLDER = "PLACEHOLDER_" * 4

# Overwrites argv[1] in the process's own memory (arg_start: field 48 of
# /proc/self/stat), then exits with 3, or dies by SIGTERM with "term".
PROGRAM = """
import ctypes, os, signal, sys, threading, time
threads = [threading.Thread(target=time.sleep, args=(30,), daemon=True) for _ in range(3)]
for t in threads: t.start()
with open("/proc/self/stat") as f:
    arg_start = int(f.read().rsplit(")", 1)[1].split()[45])
with open("/proc/self/cmdline", "rb") as f:
    offset = f.read().index(sys.argv[1].encode())
marker = ("at-exit-marker-%d" % os.getpid()).encode().ljust(len(sys.argv[1]), b"_")
ctypes.memmove(arg_start + offset, marker, len(marker))
if sys.argv[2] == "term":
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
os._exit(3)
"""


def marker_of(pid):
    return ("at-exit-marker-%d" % pid).ljust(len(PLACEHOLDER), "_")


class AtExit(s.CliTest):
    def run_json(self, how):
        r = s.taskport("run", "--json", "--at-exit", "--", PYTHON, "-c", PROGRAM, PLACEHOLDER, how)
        objs = s.json_lines(r.stdout)
        spawn = s.events(objs, "spawn")[0]
        snaps = [o["snapshot"] for o in s.events(objs, "snapshot")]
        return r, spawn, snaps, s.events(objs, "exit")

    def test_the_marker_written_just_before_exit_is_in_the_at_exit_snapshot(self):
        r, spawn, snaps, exits = self.run_json("exit")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual([x["trigger"] for x in snaps], ["start", "exit"])
        start, at_exit = snaps
        self.assertEqual(start["command_line"][-2], PLACEHOLDER)
        self.assertEqual(at_exit["command_line"][-2], marker_of(spawn["pid"]))
        self.assertEqual(at_exit["errors"], [])
        # Held: suspended for the look, the thread at its exit stop traced,
        # the memory still mapped, its registers read.
        self.assertTrue(at_exit["suspended"])
        self.assertGreater(at_exit["regions_summary"]["count"], 10)
        self.assertTrue(any(t["state"] == "traced" for t in at_exit["threads"]), at_exit["threads"])
        self.assertIsNotNone(at_exit["registers"])
        self.assertIsNotNone(at_exit["memory"])
        self.assertEqual(exits[0]["exit"]["code"], 3)
        self.assertEqual(exits[0]["exit_status"], 3)

    def test_a_fatal_signal_is_held_too(self):
        r, spawn, snaps, exits = self.run_json("term")
        self.assertEqual(r.returncode, 128 + 15, r.stderr)
        self.assertEqual(snaps[-1]["trigger"], "exit")
        self.assertEqual(snaps[-1]["command_line"][-2], marker_of(spawn["pid"]))
        self.assertEqual(exits[0]["exit"]["signal"], 15)

    def test_periodic_snapshots_come_before_the_one_at_exit(self):
        r = s.taskport("run", "--json", "--at-exit", "--every", "100ms", "--", "sleep", "0.35")
        self.assertEqual(r.returncode, 0, r.stderr)
        triggers = [o["snapshot"]["trigger"] for o in s.events(s.json_lines(r.stdout), "snapshot")]
        self.assertEqual(triggers[0], "start")
        self.assertEqual(triggers[-1], "exit")
        self.assertGreaterEqual(triggers.count("every"), 2, triggers)

    def test_text_shows_the_held_exit_with_the_rewritten_command_line(self):
        r = s.taskport("run", "--at-exit", "--", PYTHON, "-c", PROGRAM, PLACEHOLDER, "exit")
        self.assertEqual(r.returncode, 3, r.stderr)
        out = r.stdout.decode()
        self.assertIn("(at exit, held there):", out)
        self.assertRegex(out, r"  command .* at-exit-marker-[0-9]+_* exit\n")
        self.assertRegex(out, r"  registers   pc 0x[0-9a-f]+ .*\(thread [0-9]+, at its exit\)")
        self.assertIn("exit        exit code 3", out)

    def test_with_suspended_the_start_is_still_seen_before_the_first_instruction(self):
        # A program that lives a while: the hold takes in a start-suspended
        # program's first thread only once it runs (task.hpp, hold_at_exit),
        # and `true` can end before that when the tracer thread shares its
        # CPU with it (on one CPU it did, one run in two).
        r = s.taskport("run", "--json", "--at-exit", "--suspended", "--", PYTHON, "-c", "import time; time.sleep(0.2)")
        self.assertEqual(r.returncode, 0, r.stderr)
        snaps = [o["snapshot"] for o in s.events(s.json_lines(r.stdout), "snapshot")]
        self.assertEqual([x["trigger"] for x in snaps], ["start", "exit"])
        self.assertIsNotNone(snaps[0]["registers"])  # suspended from the start: registers shown

    def test_no_process_is_left_stopped_or_traced(self):
        r, spawn, snaps, exits = self.run_json("exit")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertFalse(os.path.exists("/proc/%d" % spawn["pid"]), "the child is left behind")


if __name__ == "__main__":
    s.main()
