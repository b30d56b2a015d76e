#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""taskport inspect PID: the snapshots of a process taskport did not start
(here: started by a shell through subprocess), each fact checked against
/proc; its end (as asked, the process exited, a signal to taskport) and exit
status; a pid that cannot be opened; another user's process; and a target
never left stopped by a SIGTERM that comes during a snapshot."""
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import unittest

import cli_support as s

PYTHON = sys.executable
WAIT_S = 20  # bound for every wait below

# Ten threads that end together while taskport, snapshotting every 5 ms,
# keeps suspending the process.
THREADS_ENDING = """
import threading, time
go = threading.Event()
threads = [threading.Thread(target=go.wait) for _ in range(10)]
for t in threads: t.start()
print("ready", flush=True)
time.sleep(0.3)
go.set()
for t in threads: t.join()
"""

# A sleeping process with some 3000 mappings (alternating protections keep
# the kernel from merging them): reading its smaps takes milliseconds, so
# with --every 1ms taskport has it suspended most of the time.
MANY_MAPPINGS = """
import mmap, sys, time
keep = [mmap.mmap(-1, 4096, prot=mmap.PROT_READ | (mmap.PROT_WRITE if i % 2 else 0)) for i in range(3000)]
print("ready", flush=True)
time.sleep(60)
"""


def stat_fields(pid):
    """/proc/<pid>/stat after the command name: [state, ppid, ...]."""
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
        return f.read().rsplit(")", 1)[1].split()


def state_of(pid):
    return stat_fields(pid)[0]


def start_time_of(pid):
    return int(stat_fields(pid)[19])  # field 22 of stat(5)


def cmdline_of(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0")[:-1]]


class Target:
    """A process started by the shell, as a user's program would be: `sh -c
    SCRIPT`, our child (so its pid cannot be reused before we reap it)."""

    def __init__(self, test, script="sleep 30", argv=None):
        self.proc = subprocess.Popen(argv or ["sh", "-c", script], stdout=subprocess.PIPE)
        test.addCleanup(self.cleanup)
        self.pid = self.proc.pid

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT_S)
        self.proc.stdout.close()


def inspect(*args, **kw):
    return s.taskport("inspect", *args, **kw)


class TextView(s.CliTest):
    def test_a_process_started_by_the_shell(self):
        target = Target(self)
        r = inspect(str(target.pid))
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode()
        self.assertTrue(text.startswith(f"inspecting  pid {target.pid}\n"), text[:200])
        self.assertIn(f"program     {os.readlink(f'/proc/{target.pid}/exe')}\n", text)
        self.assertIn("argv        " + " ".join(cmdline_of(target.pid)) + "\n", text)
        self.assertRegex(text, r"handle      pidfd \d+\n")
        self.assertRegex(text, r"snapshot 0 at \+\d+\.\d{3} s \(start, right after the open\):\n"
                               r"  registers   pc 0x[0-9a-f]+  sp 0x[0-9a-f]+  fp 0x[0-9a-f]+ \(main thread\)\n")
        self.assertRegex(text, rf"threads \(1\):\n    {target.pid} +sh +\w+")
        self.assertRegex(text, r"regions \(\d+ mappings, .*resident .*\), largest resident:\n +\d")
        self.assertNotIn("refused", text)
        self.assertTrue(text.endswith("end         1 snapshot, as asked\n"), text[-200:])
        self.assertNotIn(state_of(target.pid), "tT")


class JsonView(s.CliTest):
    def test_open_then_a_snapshot_then_end_each_valid_and_true_to_proc(self):
        target = Target(self)
        r = inspect("--json", str(target.pid))
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = s.json_lines(r.stdout)
        self.assertEqual([o["event"] for o in lines], ["open", "snapshot", "end"])
        opened, snap, end = lines[0], lines[1]["snapshot"], lines[2]
        self.assertEqual(opened["pid"], target.pid)
        self.assertEqual(opened["start_time"], start_time_of(target.pid))
        self.assertEqual(opened["executable"], os.readlink(f"/proc/{target.pid}/exe"))
        self.assertEqual(opened["argv"], cmdline_of(target.pid))
        self.assertEqual(opened["errors"], [])
        self.assertEqual((snap["index"], snap["trigger"], snap["suspended"]), (0, "start", True))
        self.assertEqual(snap["errors"], [])
        self.assertEqual(sorted(t["tid"] for t in snap["threads"]),
                         sorted(int(t) for t in os.listdir(f"/proc/{target.pid}/task")))
        self.assertIn(opened["executable"], {x["path"] for x in snap["regions"]})
        self.assertTrue(all(isinstance(x["resident_bytes"], int) for x in snap["regions"]))
        self.assertTrue(int(snap["registers"]["pc"], 16) != 0)
        self.assertIsNone(snap["memory"])
        self.assertEqual(end["end"], {"reason": "completed", "signal": None, "snapshots": 1})
        self.assertEqual(end["exit_status"], 0)

    def test_every_with_count_takes_the_first_and_count_more(self):
        target = Target(self)
        r = inspect("--json", "--every", "100ms", "--count", "3", str(target.pid))
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = s.json_lines(r.stdout)
        self.assertEqual(lines[0]["schedule"], {"every_ns": 100000000, "count": 3})
        snaps = [o for o in lines if o["event"] == "snapshot"]
        self.assertEqual([o["snapshot"]["trigger"] for o in snaps], ["start", "every", "every", "every"])
        self.assertEqual([o["snapshot"]["index"] for o in snaps], [0, 1, 2, 3])
        for k, o in enumerate(snaps):
            self.assertGreaterEqual(o["elapsed_ns"], k * 100000000, k)
        self.assertEqual(snaps[2]["snapshot"]["changes"]["since_index"], 1)
        self.assertEqual(lines[-1]["end"], {"reason": "completed", "signal": None, "snapshots": 4})

    def test_the_process_exiting_during_every_ends_the_inspection_with_0(self):
        # Long enough for taskport to start and open it on a loaded machine.
        target = Target(self, "sleep 1.5")
        started = time.monotonic()
        r = inspect("--json", "--every", "100ms", str(target.pid))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.monotonic() - started, WAIT_S)
        lines = s.json_lines(r.stdout)
        self.assertEqual(lines[-1]["end"]["reason"], "exited")
        self.assertEqual(lines[-1]["exit_status"], 0)
        self.assertGreaterEqual(lines[-1]["end"]["snapshots"], 2)
        self.assertEqual(lines[-1]["end"]["snapshots"], len([o for o in lines if o["event"] == "snapshot"]))
        # It has exited indeed (a zombie until we reap it).
        self.assertEqual(target.proc.wait(WAIT_S), 0)

    def test_threads_ending_during_snapshots_the_inspection_still_ends_with_the_process(self):
        for _ in range(3):  # the race is in the kernel's timing: a few rounds
            target = Target(self, argv=[PYTHON, "-c", THREADS_ENDING])
            self.assertEqual(target.proc.stdout.readline(), b"ready\n")
            r = inspect("--json", "--every", "5ms", str(target.pid))
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = s.json_lines(r.stdout)
            self.assertEqual(lines[-1]["end"]["reason"], "exited")
            self.assertEqual(target.proc.wait(WAIT_S), 0)

    def test_text_says_the_process_exited(self):
        target = Target(self, "sleep 1.5")
        r = inspect("--every", "100ms", str(target.pid))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r"\nend         the process exited; \d+ snapshots\n$")


class CannotOpen(s.CliTest):
    """Exit status 1, a message on stderr, and with --json an error object."""

    def check(self, pid, says):
        r = inspect(str(pid))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, b"")
        self.assertRegex(r.stderr.decode(), rf"^taskport: 'pid {pid}': open task \(.*{says}")
        j = inspect("--json", str(pid))
        self.assertEqual(j.returncode, 1)
        lines = s.json_lines(j.stdout)
        self.assertEqual([o["event"] for o in lines], ["error"])
        self.assertEqual(lines[0]["exit_status"], 1)
        self.assertEqual((lines[0]["error"]["step"], lines[0]["error"]["program"]), ("open task", f"pid {pid}"))
        return lines[0]["error"]

    def test_a_pid_that_does_not_exist(self):
        gone = subprocess.Popen(["true"])
        gone.wait(WAIT_S)  # reaped: its pid names no process now (pids are reused only after a wrap)
        self.assertFalse(os.path.exists(f"/proc/{gone.pid}"))
        self.assertEqual(self.check(gone.pid, "no such process")["errno_name"], "ESRCH")

    def test_a_zombie(self):
        zombie = subprocess.Popen(["true"])
        pidfd = os.pidfd_open(zombie.pid)
        self.addCleanup(os.close, pidfd)
        self.addCleanup(zombie.wait, WAIT_S)
        self.assertTrue(select.select([pidfd], [], [], WAIT_S)[0], "true did not exit")
        self.assertEqual(state_of(zombie.pid), "Z")
        self.assertEqual(self.check(zombie.pid, "has exited")["errno_name"], "ESRCH")

    def test_a_thread_id_that_is_not_a_process_id(self):
        done = threading.Event()
        thread = threading.Thread(target=done.wait)
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(done.set)
        self.assertEqual(self.check(thread.native_id, "not a process id")["errno_name"], "EINVAL")


class Signals(s.CliTest):
    def start(self, target, *options):
        cli = subprocess.Popen([s.CLI, "inspect", *options, str(target.pid)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        self.addCleanup(self.stop, cli)
        return cli

    @staticmethod
    def stop(cli):
        if cli.poll() is None:
            cli.kill()
        cli.wait(WAIT_S)
        cli.stdout.close()
        cli.stderr.close()

    def test_sigterm_during_a_snapshot_leaves_the_target_running(self):
        target = Target(self, argv=[PYTHON, "-c", MANY_MAPPINGS])
        self.assertEqual(target.proc.stdout.readline(), b"ready\n")
        cli = self.start(target, "--json", "--every", "1ms")
        self.assertEqual(json.loads(cli.stdout.readline())["event"], "open")
        # Read as it comes: a full pipe would hold taskport in write(2).
        out = []
        reader = threading.Thread(target=lambda: out.append(cli.stdout.read()))
        reader.start()
        # Sent while taskport has the target stopped ('t': tracing stop).
        deadline = time.monotonic() + WAIT_S
        while state_of(target.pid) != "t":
            self.assertLess(time.monotonic(), deadline, "taskport never had the target suspended")
            time.sleep(0.0002)
        cli.send_signal(signal.SIGTERM)
        self.assertEqual(cli.wait(WAIT_S), 128 + signal.SIGTERM)
        self.assertNotIn(state_of(target.pid), "tT")
        reader.join(WAIT_S)
        lines = s.json_lines(out[0])
        self.assertEqual(lines[-1]["end"]["reason"], "signal")
        self.assertEqual(lines[-1]["end"]["signal"], signal.SIGTERM)
        self.assertEqual(lines[-1]["exit_status"], 128 + signal.SIGTERM)
        snaps = [o["snapshot"] for o in lines if o["event"] == "snapshot"]
        self.assertEqual(lines[-1]["end"]["snapshots"], len(snaps))
        # The snapshot it was in finished: suspended, and resumed without error.
        self.assertTrue(snaps[-1]["suspended"])
        self.assertNotIn("resume", [e["section"] for e in snaps[-1]["errors"]])
        time.sleep(0.1)
        self.assertNotIn(state_of(target.pid), "tT")
        self.assertIsNone(target.proc.poll())

    def test_sigint_ends_an_inspection_in_text_too(self):
        target = Target(self)
        cli = self.start(target, "--every", "50ms")
        self.assertRegex(cli.stdout.readline(), rb"^inspecting  pid \d+\n$")
        cli.send_signal(signal.SIGINT)
        self.assertEqual(cli.wait(WAIT_S), 128 + signal.SIGINT)
        self.assertRegex(cli.stdout.read().decode(), r"\nend         SIGINT to taskport; \d+ snapshots?\n$")
        self.assertNotIn(state_of(target.pid), "tT")


def as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


@unittest.skipUnless(os.geteuid() == 0, "needs root, to run taskport as another user than its target")
class AnotherUsersProcess(s.CliTest):
    """taskport as nobody, its target root's: no ptrace access. The threads
    and usage are shown, the rest is said to be refused, and the
    inspection completes."""

    def setUp(self):
        super().setUp()
        try:
            s.taskport("--version", preexec_fn=as_nobody)
        except PermissionError as e:  # a build tree nobody may not enter
            self.skipTest(f"nobody cannot run {s.CLI}: {e}")
        self.target = Target(self)

    def test_json_shows_threads_and_usage_and_names_what_was_refused(self):
        r = inspect("--json", "--every", "100ms", "--count", "1", str(self.target.pid), preexec_fn=as_nobody)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = s.json_lines(r.stdout)
        self.assertEqual([o["event"] for o in lines], ["open", "snapshot", "snapshot", "end"])
        opened = lines[0]
        self.assertIsNone(opened["executable"])
        self.assertEqual(opened["argv"], cmdline_of(self.target.pid))
        self.assertEqual([(e["section"], e["errno"]) for e in opened["errors"]], [("executable", 13)])
        for o in lines[1:3]:
            snap = o["snapshot"]
            self.assertEqual([t["tid"] for t in snap["threads"]], [self.target.pid])
            self.assertIsInstance(snap["info"]["resident_size"], int)
            self.assertIsNone(snap["info"]["syscalls_read"])  # /proc/<pid>/io needs ptrace access
            self.assertFalse(snap["suspended"])
            self.assertEqual((snap["regions"], snap["registers"]), ([], None))
            refused = {e["section"]: e for e in snap["errors"]}
            self.assertEqual(set(refused), {"suspend", "regions"})
            self.assertTrue(all(e["errno"] in (1, 13) for e in refused.values()), refused)
            self.assertIn("CAP_SYS_PTRACE", refused["suspend"]["message"])
        self.assertEqual(lines[-1]["end"]["reason"], "completed")
        self.assertNotIn(state_of(self.target.pid), "tT")

    def test_text_says_it_once_in_full_then_by_name(self):
        r = inspect("--every", "100ms", "--count", "1", str(self.target.pid), preexec_fn=as_nobody)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode()
        self.assertIn("refused     executable: ", text)
        self.assertRegex(text, r"snapshot 0 at .*, not suspended:\n")
        self.assertRegex(text, rf"threads \(1\):\n    {self.target.pid} +sh ")
        self.assertEqual(len(re.findall(r"(?m)^  refused     suspend: .*Operation not permitted$", text)), 1)
        self.assertEqual(len(re.findall(r"(?m)^  refused     regions: .*Permission denied$", text)), 1)
        self.assertRegex(text, r"snapshot 1 [^\n]*\n(?:  [^\n]*\n)*  refused     suspend, regions \(as before\)\n")
        self.assertTrue(text.endswith("end         2 snapshots, as asked\n"), text[-200:])


if __name__ == "__main__":
    s.main()
