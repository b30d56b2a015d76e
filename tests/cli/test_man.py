#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""taskport(1): man renders it without a warning, and it documents every
option `taskport run --help` lists and every exit status."""
import os
import re
import subprocess

import cli_support as s


def render(*extra):
    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LC_ALL="C.UTF-8")
    return subprocess.run(["man", *extra, "-l", s.MAN_PAGE], capture_output=True, env=env,
                          timeout=s.TIMEOUT, check=False)


class ManPage(s.CliTest):
    def test_man_renders_it_without_warnings(self):
        r = render("--warnings=all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.decode(), "")
        text = r.stdout.decode()
        for section in ("NAME", "SYNOPSIS", "OPTIONS", "TEXT OUTPUT", "JSON OUTPUT", "SIGNALS", "EXIT STATUS"):
            self.assertRegex(text, rf"(?m)^{section}$")

    def test_it_documents_every_option_of_run_help(self):
        help_text = s.taskport("run", "--help").stdout.decode()
        options = set(re.findall(r"(?m)^\s+(?:-h, )?(--[a-z-]+)", help_text))
        self.assertGreaterEqual(len(options), 9, options)
        page = render().stdout.decode()
        for option in sorted(options):
            self.assertRegex(page, rf"(?m)^\s+(?:-h, )?{re.escape(option)}\b", f"{option} has no entry in taskport(1)")

    def test_it_documents_every_exit_status(self):
        page = render().stdout.decode()
        exit_status = page.split("EXIT STATUS", 1)[1].split("ENVIRONMENT", 1)[0]
        for code in ("128 + N", "127", "126", "125"):
            self.assertRegex(exit_status, rf"(?m)^\s+{re.escape(code)}\b")


if __name__ == "__main__":
    s.main()
