#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""taskport's command line: getopt_long forms, help, and every refusal
(exit status 125, a message naming the problem, nothing run or inspected)."""
import cli_support as s


class Help(s.CliTest):
    def test_run_help_prints_the_run_usage_on_stdout(self):
        r = s.taskport("run", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"usage: taskport run", r.stdout)
        self.assertIn(b"--every INTERVAL", r.stdout)
        self.assertEqual(r.stderr, b"")

    def test_help_run_and_run_h_say_the_same(self):
        self.assertEqual(s.taskport("help", "run").stdout, s.taskport("run", "-h").stdout)

    def test_help_and_dash_dash_help_list_the_commands(self):
        for args in (["help"], ["--help"]):
            r = s.taskport(*args)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn(b"taskport run [OPTIONS] -- PROGRAM", r.stdout)
            self.assertIn(b"taskport inspect [OPTIONS] PID", r.stdout)

    def test_inspect_help_prints_the_inspect_usage_on_stdout(self):
        r = s.taskport("inspect", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"usage: taskport inspect [--every INTERVAL [--count N]] [--json] PID", r.stdout)
        self.assertEqual(r.stderr, b"")

    def test_help_inspect_and_inspect_h_say_the_same(self):
        self.assertEqual(s.taskport("help", "inspect").stdout, s.taskport("inspect", "-h").stdout)

    def test_help_for_an_unknown_command_is_refused(self):
        r = s.taskport("help", "bogus")
        self.assertEqual(r.returncode, 125)
        self.assertIn(b"the commands are run, inspect and help", r.stderr)

    def test_version(self):
        r = s.taskport("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, rb"^taskport \d+\.\d+\.\d+\n$")


class Forms(s.CliTest):
    def spawn_line(self, *options):
        r = s.taskport("run", "--json", *options, "--", "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        return s.events(s.json_lines(r.stdout), "spawn")[0]

    def test_opt_equals_value_and_opt_space_value_are_the_same(self):
        a = self.spawn_line("--every=100ms", "--count=2", "--at=1.5s", "--at", "250ms")
        b = self.spawn_line("--every", "100ms", "--count", "2", "--at", "1.5s", "--at=250ms")
        self.assertEqual(a["schedule"], b["schedule"])
        self.assertEqual(a["schedule"], {"at_ns": [1500000000, 250000000], "every_ns": 100000000, "count": 2})

    def test_durations_take_ms_s_m_and_h(self):
        sched = self.spawn_line("--at", "250ms", "--at", "2s", "--at", "1m", "--at", "1h")["schedule"]
        self.assertEqual(sched["at_ns"], [250 * 10**6, 2 * 10**9, 60 * 10**9, 3600 * 10**9])

    def test_options_after_program_are_the_programs(self):
        r = s.taskport("run", "--json", "echo", "--every", "--bogus")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"--every --bogus\n", r.stderr)  # the child's stdout goes to stderr under --json
        self.assertEqual(s.events(s.json_lines(r.stdout), "spawn")[0]["argv"], ["echo", "--every", "--bogus"])


class Refusals(s.CliTest):
    def refused(self, *args, says):
        r = s.taskport(*args)
        self.assertEqual(r.returncode, 125, (args, r.stderr))
        self.assertEqual(r.stdout, b"", args)
        self.assertIn(says.encode(), r.stderr, args)
        self.assertTrue(r.stderr.startswith(b"taskport: "), r.stderr)

    def test_unknown_option(self):
        self.refused("run", "--bogus", "--", "true", says="unknown option '--bogus'")

    def test_option_without_its_value(self):
        self.refused("run", "--every", says="option '--every' needs a value")

    def test_durations_without_unit_or_malformed(self):
        for bad in ("10", "1x", "-1s", "1.s", ".5s", "1..5s", "s", ""):
            self.refused("run", "--at", bad, "--", "true", says="is not a duration")

    def test_every_below_a_millisecond(self):
        self.refused("run", "--every", "0ms", "--", "true", says="at least 1ms")

    def test_count_without_every(self):
        self.refused("run", "--count", "3", "--", "true", says="--count needs --every")

    def test_count_not_a_positive_whole_number(self):
        for bad in ("0", "-2", "3x", "1.5"):
            self.refused("run", "--every", "1s", "--count", bad, "--", "true", says="not a whole number")

    def test_every_twice(self):
        self.refused("run", "--every", "1s", "--every=2s", "--", "true", says="--every given twice")

    def test_preload_timeout_without_via_preload(self):
        self.refused("run", "--preload-timeout", "1s", "--", "true", says="--preload-timeout needs --via-preload")

    def test_missing_program(self):
        self.refused("run", says="missing PROGRAM")
        self.refused("run", "--every", "1s", "--", says="missing PROGRAM")

    def test_unknown_command(self):
        self.refused("bogus", says="unknown command 'bogus'")
        self.refused(says="missing command")


class InspectRefusals(s.CliTest):
    def refused(self, *args, says):
        r = s.taskport("inspect", *args)
        self.assertEqual(r.returncode, 125, (args, r.stderr))
        self.assertEqual(r.stdout, b"", args)
        self.assertTrue(r.stderr.startswith(b"taskport: inspect: "), r.stderr)
        self.assertIn(says.encode(), r.stderr, args)
        self.assertIn(b"(see 'taskport inspect --help')", r.stderr)

    def test_missing_pid(self):
        self.refused(says="missing PID")
        self.refused("--every", "1s", says="missing PID")

    def test_a_pid_that_is_not_a_whole_number_from_1(self):
        for bad in ("abc", "0", "+5", " 5", "5x", "1.5", "0x10", "99999999999", ""):
            self.refused("--", bad, says="is not a process id")

    def test_a_negative_pid_is_an_unknown_option(self):
        self.refused("-5", says="unknown option '-5'")

    def test_two_pids(self):
        self.refused("1", "2", says="one PID only: '2'")

    def test_unknown_option_also_after_the_pid(self):
        self.refused("--bogus", "1", says="unknown option '--bogus'")
        self.refused("1", "--bogus", says="unknown option '--bogus'")

    def test_option_without_its_value_also_after_the_pid(self):
        self.refused("1", "--every", says="option '--every' needs a value")

    def test_options_of_run_only(self):
        for option in ("--at=1s", "--suspended", "--via-preload", "--at-exit"):
            self.refused(option, "1", says=f"unknown option '{option}'")

    def test_count_without_every_and_bad_values(self):
        self.refused("--count", "2", "1", says="--count needs --every")
        self.refused("--every", "1s", "--count", "0", "1", says="not a whole number")
        self.refused("--every", "10", "1", says="is not a duration")
        self.refused("--every", "0ms", "1", says="at least 1ms")
        self.refused("--every", "1s", "--every=2s", "1", says="--every given twice")

    def test_options_after_the_pid_are_taken(self):
        r = s.taskport("inspect", "1", "--json", "--every=bogus")
        self.assertEqual(r.returncode, 125)
        self.assertEqual(s.json_lines(r.stdout)[0]["error"]["step"], "parse options")


class RefusalsInJson(s.CliTest):
    def test_a_refused_command_line_is_also_a_json_error_on_stdout(self):
        for args in (["--every", "0ms"], ["--bogus"], ["--count", "2"]):
            r = s.taskport("run", "--json", *args, "--", "true")
            self.assertEqual(r.returncode, 125, args)
            lines = s.json_lines(r.stdout)
            self.assertEqual(len(lines), 1, args)
            err = lines[0]["error"]
            self.assertEqual(err["step"], "parse options")
            self.assertIsNone(err["errno"])
            self.assertEqual(lines[0]["exit_status"], 125)
        self.assertIn("--count needs --every", s.json_lines(s.taskport("run", "--json", "--count", "2", "--", "true")
                                                             .stdout)[0]["error"]["message"])


if __name__ == "__main__":
    s.main()
