#!/usr/bin/env python3
"""Linux under lvm, side by side, the quick way: boot to /init and ubench's micro-measurements.

A subset of bench/os.py (`make bench-os`: the same rows plus the macro runs, the
goals, a Markdown table and a plot), without the macro runs and their data: boots
out/linux/{call,trap}/bzImage under lvm and out/linux/native/bzImage under QEMU TCG
with the project's initramfs plus bench/linux/ubench.c (static i386) as /bin/ubench,
runs the same binary on the host, and prints wall time to /init's first line, the
guest's uptime then, and ns per operation by the guest's clock.  Median of RUNS
runs (default 3), the columns interleaved; the machine is shared, so the figures
are ratios measured together, never asserted.

Needs `make linux` (the three kernels); builds the rest itself.
"""
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import linuxguest as lg  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
SCRIPT = lg.script(["ubench || echo lvm-bench-fail ubench"])


def main():
    lg.need_kernels()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        ubench = lg.build_ubench(tmp)
        want = list(lg.host_ops([str(ubench)]))
        (tmp / "lvmbench").mkdir()
        (tmp / "lvmbench" / "run.sh").write_text(SCRIPT)
        initrd = lg.initramfs(tmp, tmp / "lvmbench", ["%s=bin/ubench" % ubench])
        khz = lg.host_tsc_khz(ubench)
        runs = {c: [] for c in lg.GUESTS + ("host",)}
        for _ in range(RUNS):
            for c in lg.GUESTS:
                runs[c].append(lg.boot(lg.guest_argv(c, initrd, khz), want))
            runs["host"].append(lg.host_ops([str(ubench)]))
    cols = {c: (statistics.median(b.to_init for b in runs[c]), statistics.median(b.uptime for b in runs[c]),
                lg.median_ops([b.ops for b in runs[c]])) for c in lg.GUESTS}
    cols["host"] = (None, None, lg.median_ops(runs["host"]))
    print("Linux 6.1 i386, same initramfs and static ubench everywhere; median of %d runs" % RUNS)
    print("%-26s" % "" + "".join(" %12s" % c for c in cols))
    fmt = lambda v, f: "%12s" % "-" if v is None else ("%12" + (f if v >= 100 else ".2f")) % v
    print("%-26s %s" % ("start to /init (wall s)", " ".join(fmt(c[0], ".2f") for c in cols.values())))
    print("%-26s %s" % ("guest uptime at /init (s)", " ".join(fmt(c[1], ".2f") for c in cols.values())))
    for op in want:
        print("%-26s %s" % (op + " (ns)", " ".join(fmt(c[2].get(op), ".0f") for c in cols.values())))
    rates = [statistics.median(b.clock_rate for b in runs[c]) for c in lg.GUESTS]
    print("%-26s %s" % ("guest clock / host clock", " ".join("%12.4f" % r for r in rates)))


if __name__ == "__main__":
    main()
