#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""taskport's exit status, as GNU env and timeout choose theirs: the
child's; 128 + signal; 127 not found; 126 found but not runnable; 125
taskport's own failure (also a status the kernel discarded)."""
import os
import signal
import stat
import tempfile

import cli_support as s


class ExitStatus(s.CliTest):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.TemporaryDirectory(prefix="tp-cli-exit-")
        self.addCleanup(self.dir.cleanup)

    def file(self, name, text, mode):
        path = os.path.join(self.dir.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def status(self, *args, **kw):
        return s.taskport("run", *args, **kw).returncode

    def json_error(self, *args, **kw):
        r = s.taskport("run", "--json", *args, **kw)
        lines = s.json_lines(r.stdout)
        self.assertEqual(lines[-1]["event"], "error", lines)
        self.assertEqual(lines[-1]["exit_status"], r.returncode)
        return r.returncode, lines[-1]["error"]

    def test_the_childs_exit_code(self):
        for code in (0, 1, 3, 42, 255):
            self.assertEqual(self.status("--", "sh", "-c", f"exit {code}"), code)

    def test_128_plus_the_signal_that_killed_the_child(self):
        self.assertEqual(self.status("--", "sh", "-c", "kill -KILL $$"), 128 + signal.SIGKILL)
        self.assertEqual(self.status("--", "sh", "-c", "kill -SEGV $$"), 128 + signal.SIGSEGV)

    def test_127_for_a_name_not_in_path(self):
        code, err = self.json_error("--", "tp-no-such-program-anywhere")
        self.assertEqual(code, 127)
        self.assertEqual((err["step"], err["errno_name"]), ("resolve program", "ENOENT"))

    def test_127_for_a_path_that_does_not_exist(self):
        code, err = self.json_error("--", os.path.join(self.dir.name, "missing"))
        self.assertEqual(code, 127)
        self.assertEqual((err["step"], err["errno_name"]), ("execve", "ENOENT"))

    def test_127_for_a_script_whose_interpreter_is_missing(self):
        script = self.file("script", "#!/nonexistent/interpreter\n", 0o755)
        code, err = self.json_error("--", script)
        self.assertEqual(code, 127)
        self.assertEqual((err["step"], err["errno_name"]), ("execve", "ENOENT"))

    def test_126_for_a_file_without_execute_permission(self):
        code, err = self.json_error("--", self.file("plain", "echo hi\n", 0o644))
        self.assertEqual(code, 126)
        self.assertEqual((err["step"], err["errno_name"]), ("execve", "EACCES"))

    def test_126_for_a_directory(self):
        code, err = self.json_error("--", self.dir.name)
        self.assertEqual(code, 126)
        self.assertEqual(err["step"], "execve")

    def test_125_for_a_refused_command_line(self):
        self.assertEqual(self.status("--no-such-option", "--", "true"), 125)

    def test_125_when_taskport_itself_fails(self):
        env = dict(os.environ, TASKPORT_PRELOAD_LIBRARY=os.path.join(self.dir.name, "no-such-preload.so"))
        code, err = self.json_error("--via-preload", "--", "true", env=env)
        self.assertEqual(code, 125)
        self.assertEqual((err["step"], err["errno_name"]), ("rendezvous", "ENOENT"))

    def test_125_when_the_kernel_discarded_the_exit_status(self):
        # SIGCHLD ignored (inherited through execve): the kernel reaps the
        # child itself and its status is gone — the library's unknown
        # status (ExitStatus::unknown()), not an error. The program lives
        # 200 ms: one that ends during the first snapshot ends traced, and
        # the kernel keeps a traced child's status (it is then known).
        r = s.taskport("run", "--json", "--", "sleep", "0.2",
                       preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
        lines = s.json_lines(r.stdout)
        self.assertEqual(r.returncode, 125)
        self.assertEqual(lines[-1]["event"], "exit", lines)
        self.assertEqual(lines[-1]["exit_status"], 125)
        self.assertIsNone(lines[-1]["exit"]["code"])
        self.assertIsNone(lines[-1]["exit"]["signal"])
        self.assertIn("discarded", lines[-1]["exit"]["description"])

    def test_text_mode_says_why_on_stderr(self):
        r = s.taskport("run", "--", "tp-no-such-program-anywhere")
        self.assertEqual(r.returncode, 127)
        self.assertEqual(r.stdout, b"")
        self.assertRegex(r.stderr, rb"^taskport: 'tp-no-such-program-anywhere': resolve program .*No such file")


if __name__ == "__main__":
    s.main()
