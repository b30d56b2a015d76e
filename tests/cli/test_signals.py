#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""SIGINT, SIGTERM and SIGHUP sent to taskport reach the child; a taskport
killed by SIGKILL takes the child along (Linux: PR_SET_PDEATHSIG). Whether
the child is gone is asked of a pidfd opened on it, never of its pid."""
import json
import os
import signal
import subprocess
import time

import cli_support as s

WAIT_S = 20  # bound for every wait below


class Running:
    """taskport run --json OPTIONS -- sleep 60, with a pidfd on the child,
    proven to be taskport's child."""

    def __init__(self, test, *options, preexec_fn=None):
        self.cli = subprocess.Popen([s.CLI, "run", "--json", *options, "--", "sleep", "60"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec_fn)
        test.addCleanup(self.cleanup)
        spawn = json.loads(self.cli.stdout.readline())
        test.assertEqual(spawn["event"], "spawn")
        self.pid = spawn["pid"]
        self.pidfd = os.pidfd_open(self.pid)
        # Opened while taskport (which has not reaped it) is its parent: the
        # pidfd names taskport's child, not a recycled pid.
        test.assertEqual(s.ppid_of(self.pid), self.cli.pid)
        # The first snapshot is out once its line is: the child runs sleep.
        test.assertEqual(json.loads(self.cli.stdout.readline())["event"], "snapshot")

    def cleanup(self):
        if not s.exited(self.pidfd, 0):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        os.close(self.pidfd)
        if self.cli.poll() is None:
            self.cli.kill()
        self.cli.wait(WAIT_S)
        self.cli.stdout.close()
        self.cli.stderr.close()


class Forwarding(s.CliTest):
    def check_forwarded(self, signo, *options):
        run = Running(self, *options)
        os.kill(run.cli.pid, signo)
        self.assertEqual(run.cli.wait(WAIT_S), 128 + signo)
        self.assertTrue(s.exited(run.pidfd, WAIT_S * 1000), "the child is still running")
        lines = s.json_lines(run.cli.stdout.read())
        self.assertEqual(lines[-1]["exit"]["signal"], signo)

    def test_sigterm_is_forwarded_and_the_child_is_gone(self):
        self.check_forwarded(signal.SIGTERM)

    def test_sigint_is_forwarded(self):
        self.check_forwarded(signal.SIGINT)

    def test_sighup_is_forwarded(self):
        self.check_forwarded(signal.SIGHUP)

    def test_sigterm_is_forwarded_after_a_suspended_start(self):
        self.check_forwarded(signal.SIGTERM, "--suspended")

    def test_a_signal_ignored_at_start_stays_ignored_and_is_not_forwarded(self):
        # As under nohup: SIGHUP ignored when taskport starts.
        run = Running(self, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
        with open(f"/proc/{run.pid}/status", encoding="utf-8") as f:
            ignored = int(next(l for l in f if l.startswith("SigIgn:")).split()[1], 16)
        self.assertTrue(ignored & (1 << (signal.SIGHUP - 1)), "the child did not inherit SIGHUP ignored")
        os.kill(run.cli.pid, signal.SIGHUP)
        time.sleep(0.3)
        self.assertIsNone(run.cli.poll())
        self.assertFalse(s.exited(run.pidfd, 0))
        os.kill(run.cli.pid, signal.SIGTERM)
        self.assertEqual(run.cli.wait(WAIT_S), 128 + signal.SIGTERM)


class KilledTaskport(s.CliTest):
    def check_child_dies_with_taskport(self, *options):
        run = Running(self, *options)
        os.kill(run.cli.pid, signal.SIGKILL)
        self.assertEqual(run.cli.wait(WAIT_S), -signal.SIGKILL)
        self.assertTrue(s.exited(run.pidfd, WAIT_S * 1000), "the child outlived taskport")

    def test_sigkill_of_taskport_kills_the_child(self):
        self.check_child_dies_with_taskport()

    def test_sigkill_of_taskport_kills_a_child_started_suspended(self):
        # The clone ran on the library's tracer thread (PDEATHSIG follows
        # the creating thread): the child must still die with taskport.
        self.check_child_dies_with_taskport("--suspended")

    def test_sigkill_of_taskport_kills_a_child_spawned_via_preload(self):
        self.check_child_dies_with_taskport("--via-preload")


if __name__ == "__main__":
    s.main()
