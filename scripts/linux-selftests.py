#!/usr/bin/env python3
"""linux-selftests.py [-o DIR] [--linux TREE]: Linux's x86 selftests, the 32-bit builds.

Builds every 32-bit program of tools/testing/selftests/x86 in the same Debian tree
the guest kernel comes from (scripts/linux-source.sh, or --linux / LINUX_SRC), as its
Makefile builds them (`gcc -m32 -O2 -g -std=gnu99 -pthread -Wall -no-pie
-DCAN_BUILD_32`, with the assembly helpers some need), but static: the guest's
initramfs has no i386 libc of its own.  Each program is rebuilt only when its
sources change; one line says what was built.  The list comes from the Makefile's
TARGETS_C_BOTHBITS, TARGETS_C_32BIT_ONLY and TARGETS_C_32BIT_NEEDED.

Output: DIR/<name>_32 (default out/linux/selftests).
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CFLAGS = ["-m32", "-O2", "-g", "-std=gnu99", "-pthread", "-Wall", "-no-pie", "-static", "-DCAN_BUILD_32"]
LIBS = ["-lrt", "-ldl", "-lm"]
# What the Makefile adds for some programs.
EXTRA = {
    "ptrace_syscall": ["raw_syscall_helper_32.S"],
    "test_syscall_vdso": ["thunks_32.S"],
    "check_initial_reg_state": ["-Wl,-ereal_start"],
}
LISTS = ("TARGETS_C_BOTHBITS", "TARGETS_C_32BIT_ONLY", "TARGETS_C_32BIT_NEEDED")


def tree(arg):
    sys.path.insert(0, str(ROOT / "scripts"))
    import importlib.util
    spec = importlib.util.spec_from_file_location("linux_build", ROOT / "scripts" / "linux-build.py")
    lb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lb)
    return lb.linux_tree(arg)


def targets(srcdir):
    text = (srcdir / "Makefile").read_text().replace("\\\n", " ")
    names = []
    for var in LISTS:
        m = re.search(r"^%s\s*:=\s*(.*)$" % var, text, re.M)
        if not m:
            raise SystemExit("linux-selftests: %s not in %s/Makefile" % (var, srcdir))
        names += m.group(1).split()
    return names


def build(srcdir, out, name):
    srcs = [name + ".c"] + [e for e in EXTRA.get(name, []) if not e.startswith("-")]
    flags = [e for e in EXTRA.get(name, []) if e.startswith("-")]
    h = hashlib.sha256(" ".join(CFLAGS + flags + LIBS).encode())
    for s in srcs + ["helpers.h"]:
        p = srcdir / s
        if p.is_file():
            h.update(p.read_bytes())
    exe, stamp = out / (name + "_32"), out / (name + "_32.key")
    if exe.is_file() and stamp.is_file() and stamp.read_text() == h.hexdigest():
        return False
    r = subprocess.run(["gcc", *CFLAGS, *flags, "-o", str(exe), *srcs, *LIBS], cwd=srcdir,
                       capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr)
        raise SystemExit("linux-selftests: %s did not build" % name)
    stamp.write_text(h.hexdigest())
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", default=str(ROOT / "out" / "linux" / "selftests"))
    ap.add_argument("--linux", help="kernel tree (default: LINUX_SRC, else scripts/linux-source.sh)")
    args = ap.parse_args()
    t0 = time.monotonic()
    srcdir = tree(args.linux) / "tools" / "testing" / "selftests" / "x86"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = targets(srcdir)
    built = [n for n in names if build(srcdir, out, n)]
    print("linux-selftests: %d programs in %s (%d built, %.1fs)"
          % (len(names), os.path.relpath(out), len(built), time.monotonic() - t0))


if __name__ == "__main__":
    main()
