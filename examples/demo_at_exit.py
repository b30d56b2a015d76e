# SPDX-License-Identifier: MIT
"""For `taskport run --at-exit` (README): writes a word into its own memory
just before it exits — over its argv[1], which the kernel shows in
/proc/<pid>/cmdline, read live from the process's memory — so that the
snapshot taken at the exit shows it.

    taskport run --at-exit -- python3 examples/demo_at_exit.py ..........
"""
import ctypes
import os
import sys

WORD = b"goodbye"

with open("/proc/self/stat") as f:
    arg_start = int(f.read().rsplit(")", 1)[1].split()[45])  # field 48: where argv begins
with open("/proc/self/cmdline", "rb") as f:
    offset = f.read().index(sys.argv[1].encode())
ctypes.memmove(arg_start + offset, WORD.ljust(len(sys.argv[1]), b"."), len(sys.argv[1]))
sys.exit(3)
