#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_macho.py ARCH KIND FILE... — verify cross-built macOS outputs.

ARCH: x86_64 or aarch64 (for KIND universal: the slices required, e.g.
x86_64,aarch64). KIND: exe, dylib, archive (an ar archive whose members are
Mach-O objects) or universal (a fat file whose slices are exactly ARCH's,
each a dylib that passes the dylib check). Reads the Mach-O header itself
(magic, cputype, filetype) and, for linked images, the dylibs it loads: each
must be a system library under /usr/lib (libSystem) — a Linux library or a
build-tree path there would fail on a Mac. Prints one line per file; exit
status 1 if any check fails.
"""
import struct
import sys

MH_MAGIC_64 = 0xFEEDFACF
FAT_MAGIC, FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF  # big-endian on disk (mach-o/fat.h)
CPU = {"x86_64": 0x01000007, "aarch64": 0x0100000C}
FILETYPE = {"exe": 2, "dylib": 6, "object": 1}
LC_LOAD_DYLIB, LC_ID_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB = 0xC, 0xD, 0x80000018, 0x8000001F


def header(data, arch, kind):
    if len(data) < 32:
        return "too short for a Mach-O header", None
    magic, cpu, _sub, filetype, ncmds, _size, _flags, _res = struct.unpack_from("<IiiIIIII", data, 0)
    if magic != MH_MAGIC_64:
        return "magic 0x%x, not a 64-bit Mach-O" % magic, None
    if cpu & 0xFFFFFFFF != CPU[arch]:
        return "cputype 0x%x, expected 0x%x (%s)" % (cpu & 0xFFFFFFFF, CPU[arch], arch), None
    if filetype != FILETYPE[kind]:
        return "filetype %d, expected %d (%s)" % (filetype, FILETYPE[kind], kind), None
    dylibs = []
    off = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd in (LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB):
            name_off = struct.unpack_from("<I", data, off + 8)[0]
            dylibs.append(data[off + name_off:off + size].split(b"\0")[0].decode())
        off += size
    return None, dylibs


def archive_members(data):
    if not data.startswith(b"!<arch>\n"):
        return None
    members, off = [], 8
    while off + 60 <= len(data):
        name = data[off:off + 16].decode(errors="replace").strip()
        size = int(data[off + 48:off + 58].decode().strip())
        body = data[off + 60:off + 60 + size]
        if name.startswith("#1/"):  # BSD long name: stored before the data
            n = int(name[3:])
            name, body = body[:n].rstrip(b"\0").decode(errors="replace"), body[n:]
        members.append((name, body))
        off += 60 + size + (size & 1)
    return members


def check_universal(archs, data):
    magic, count = struct.unpack_from(">II", data, 0)
    if magic not in (FAT_MAGIC, FAT_MAGIC_64):
        return "magic 0x%x, not a universal (fat) file" % magic
    entry = 20 if magic == FAT_MAGIC else 32
    slices = {}
    for i in range(count):
        if magic == FAT_MAGIC:
            cpu, _sub, off, size, _align = struct.unpack_from(">iiIII", data, 8 + i * entry)
        else:
            cpu, _sub, off, size, _align, _res = struct.unpack_from(">iiQQII", data, 8 + i * entry)
        name = [a for a, c in CPU.items() if c == cpu & 0xFFFFFFFF]
        if not name:
            return "slice %d has cputype 0x%x" % (i, cpu & 0xFFFFFFFF)
        problem, dylibs = header(data[off:off + size], name[0], "dylib")
        if problem:
            return "%s slice: %s" % (name[0], problem)
        foreign = [d for d in dylibs if not d.startswith("/usr/lib/")]
        if foreign:
            return "%s slice loads non-system libraries: %s" % (name[0], ", ".join(foreign))
        slices[name[0]] = size
    if sorted(slices) != sorted(archs):
        return "slices %s, expected %s" % (",".join(sorted(slices)), ",".join(sorted(archs)))
    return "ok: universal dylib, slices %s" % ", ".join("%s (%d bytes)" % kv for kv in sorted(slices.items()))


def check(arch, kind, path):
    try:
        data = open(path, "rb").read()
    except OSError as e:
        return "not built (%s)" % e.strerror
    if kind == "universal":
        return check_universal(arch.split(","), data)
    if kind == "archive":
        members = archive_members(data)
        if members is None:
            return "not an ar archive"
        objects = [(n, b) for n, b in members if n.endswith(".o")]
        if not objects:
            return "no object files in the archive"
        for name, body in objects:
            problem, _ = header(body, arch, "object")
            if problem:
                return "member %s: %s" % (name, problem)
        return "ok: ar archive of %d Mach-O %s objects" % (len(objects), arch)
    problem, dylibs = header(data, arch, kind)
    if problem:
        return problem
    foreign = [d for d in dylibs if not d.startswith("/usr/lib/")]
    if foreign:
        return "loads non-system libraries: %s" % ", ".join(foreign)
    return "ok: Mach-O 64-bit %s %s, loads %s" % (arch, kind, ", ".join(d.rsplit("/", 1)[-1] for d in dylibs))


def main():
    arch, kind, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    failed = 0
    for path in files:
        result = check(arch, kind, path)
        ok = result.startswith("ok")
        failed += not ok
        print("  %s  %s: %s" % ("ok  " if ok else "FAIL", path.rsplit("/", 1)[-1], result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
