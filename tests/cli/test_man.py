#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""taskport(1): man renders it without a warning, and it documents every
option `taskport run --help` and `taskport inspect --help` list, each in
its command's part, and every exit status of each."""
import os
import re
import subprocess

import cli_support as s


def render(*extra):
    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LC_ALL="C.UTF-8")
    return subprocess.run(["man", *extra, "-l", s.MAN_PAGE], capture_output=True, env=env,
                          timeout=s.TIMEOUT, check=False)


def section(page, name, sub):
    """The subsection `sub` of section `name` of the rendered page."""
    body = re.split(rf"(?m)^{name}$", page, maxsplit=1)[1]
    body = re.split(r"(?m)^\S", body, maxsplit=1)[0]  # up to the next section
    part = re.split(rf"(?m)^   {re.escape(sub)}$", body, maxsplit=1)
    assert len(part) == 2, f"no '{sub}' under {name}"
    return re.split(r"(?m)^   \S", part[1], maxsplit=1)[0]


class ManPage(s.CliTest):
    def test_man_renders_it_without_warnings(self):
        r = render("--warnings=all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.decode(), "")
        text = r.stdout.decode()
        for section in ("NAME", "SYNOPSIS", "OPTIONS", "TEXT OUTPUT", "JSON OUTPUT", "SIGNALS", "EXIT STATUS"):
            self.assertRegex(text, rf"(?m)^{section}$")

    def check_options(self, command, at_least):
        help_text = s.taskport(command, "--help").stdout.decode()
        options = set(re.findall(r"(?m)^\s+(?:-h, )?(--[a-z-]+)", help_text))
        self.assertGreaterEqual(len(options), at_least, options)
        part = section(render().stdout.decode(), "OPTIONS", f"taskport {command}")
        for option in sorted(options):
            self.assertRegex(part, rf"(?m)^\s+(?:-h, )?{re.escape(option)}\b",
                             f"{option} has no entry under OPTIONS, taskport {command}")

    def test_it_documents_every_option_of_run_help(self):
        self.check_options("run", 9)

    def test_it_documents_every_option_of_inspect_help(self):
        self.check_options("inspect", 4)

    def test_it_documents_every_exit_status(self):
        page = render().stdout.decode()
        for command, codes in (("run", ("N", "128 + N", "127", "126", "125")), ("inspect", ("0", "1", "125", "128 + N"))):
            part = section(page, "EXIT STATUS", f"taskport {command}")
            for code in codes:
                self.assertRegex(part, rf"(?m)^\s+{re.escape(code)}(?:\s|$)", (command, code))


if __name__ == "__main__":
    s.main()
