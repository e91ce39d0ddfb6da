#!/usr/bin/env python3
"""Linux under lvm, side by side: boot to /init and user-space micro-measurements.

Boots out/linux/{call,trap}/bzImage under lvm and out/linux/native/bzImage under
QEMU TCG, each with the project's initramfs plus bench/linux/ubench.c (a static i386
binary, gcc -m32 -static) as /bin/ubench, and runs that same binary on the host.
Prints, in one table: wall time from starting the emulator to /init's first line,
the guest's own uptime at /init, and ns per operation as ubench measures it with the
guest's clock (getppid, fork+exit+wait, fork+exec+wait, pipe round trip, page fault,
one iteration of a compute loop).  "call trusted" is call mode with -trusted-user (the
kernel's pages stay mapped while user code runs: no revocation).  Median of RUNS runs (default 3): the machine is
shared, so the figures are ratios measured together, never asserted.

Needs `make linux` (the three kernels); builds the rest itself.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINUX = Path(os.environ.get("LVM_LINUX_OUT") or ROOT / "out" / "linux")
RUNS = int(os.environ.get("RUNS", "3"))
APPEND = "console=ttyS0 panic=-1 lvm.run=/lvmbench/run.sh"
SCRIPT = "echo lvm-bench-begin\n/bin/ubench\necho lvm-bench-end\n"


def build(tmp):
    ubench = tmp / "ubench"
    subprocess.run(["gcc", "-m32", "-static", "-O2", "-o", str(ubench),
                    str(ROOT / "bench" / "linux" / "ubench.c")], check=True)
    d = tmp / "lvmbench"
    d.mkdir()
    (d / "run.sh").write_text(SCRIPT)
    initrd = tmp / "initramfs.cpio.gz"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "linux-initramfs.py"), "-o", str(initrd),
                    "--add", "%s=lvmbench" % d, "--add", "%s=bin/ubench" % ubench], check=True,
                   stderr=subprocess.DEVNULL)
    return ubench, initrd


def boot(argv, timeout=600):
    """(seconds to /init's first line, guest uptime at /init, {op: ns})"""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    to_init, uptime, ops, out = None, None, {}, []
    for raw in p.stdout:
        line = raw.decode(errors="replace").rstrip("\r\n")
        out.append(line)
        m = re.match(r"lvm-init: .* /init at ([\d.]+) s", line)
        if m and to_init is None:
            to_init, uptime = time.monotonic() - t0, float(m.group(1))
        parts = line.split()
        if len(parts) == 3 and parts[0] == "op":
            ops[parts[1]] = float(parts[2])
        if time.monotonic() - t0 > timeout:
            p.kill()
            break
    p.wait()
    if to_init is None or "lvm-bench-end" not in out:
        sys.exit("%s failed (status %s):\n%s\n%s" % (" ".join(argv), p.returncode, "\n".join(out[-40:]),
                                                     p.stderr.read().decode(errors="replace")))
    return to_init, uptime, ops


def median(runs):
    keys = runs[0][2].keys()
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            {k: statistics.median(r[2][k] for r in runs) for k in keys})


def main():
    for mode in ("call", "trap", "native"):
        if not (LINUX / mode / "bzImage").is_file():
            sys.exit("%s missing: run `make linux`" % (LINUX / mode / "bzImage"))
    subprocess.run(["make", "-s", "-C", str(ROOT), "monitor"], check=True)
    lvm = str(ROOT / ".venv" / "bin" / "lvm")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        ubench, initrd = build(tmp)
        common = ["-m", "256M", "-initrd", str(initrd), "-append", APPEND]
        cols = {}
        for name, argv in (
                ("lvm call", [lvm, "run", str(LINUX / "call" / "bzImage"), *common]),
                ("lvm trap", [lvm, "run", str(LINUX / "trap" / "bzImage"), *common]),
                ("call trusted", [lvm, "run", str(LINUX / "call" / "bzImage"), "-trusted-user", *common]),
                ("QEMU TCG", ["qemu-system-i386", "-nographic", "-no-reboot", "-monitor", "none",
                              "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                              "-kernel", str(LINUX / "native" / "bzImage"), *common])):
            cols[name] = median([boot(argv) for _ in range(RUNS)])
        host = []
        for _ in range(RUNS):
            r = subprocess.run([str(ubench)], capture_output=True, text=True, check=True)
            host.append({l.split()[1]: float(l.split()[2]) for l in r.stdout.splitlines()})
        cols["host"] = (None, None, {k: statistics.median(h[k] for h in host) for k in host[0]})
    print("Linux 6.1 i386, same initramfs and static ubench everywhere; median of %d runs" % RUNS)
    print("%-26s" % "" + "".join(" %12s" % c for c in cols))
    fmt = lambda v, f: ("%12" + f) % v if v is not None else "%12s" % "-"
    print("%-26s %s" % ("start to /init (wall s)", " ".join(fmt(c[0], ".2f") for c in cols.values())))
    print("%-26s %s" % ("guest uptime at /init (s)", " ".join(fmt(c[1], ".2f") for c in cols.values())))
    for op in cols["lvm call"][2]:
        print("%-26s %s" % (op + " (ns)", " ".join(fmt(c[2].get(op), ".0f") for c in cols.values())))


if __name__ == "__main__":
    main()
