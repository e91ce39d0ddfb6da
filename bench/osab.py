#!/usr/bin/env python3
"""Two lvm monitors side by side on the guest OS suite: `bench/osab.py OTHER`.

What a change to the monitor saved or cost, measured in one run: the suite of
bench/os.py (its micro rows and both macros; no boot row), run in lvm's call mode
(OSAB_MODE: call or trap) with out/bin/lvm-monitor (this tree's) and with OTHER (a
monitor binary built from another tree, e.g. the commit before the change),
interleaved, RUNS times each (default 3), median per row, and this tree's time
divided by OTHER's.  Nothing is asserted.  Writes out/bench/osab.md (also printed).
"""
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import linuxguest as lg  # noqa: E402
from osprofile import osbench  # noqa: E402  (bench/os.py, loaded by path)

MODE = os.environ.get("OSAB_MODE", "call")


def run(data, monitor):
    argv = lg.guest_argv("lvm " + MODE, data["initrd"], data["tsc_khz"])
    env = dict(os.environ, LVM_MONITOR=str(monitor))
    want = [k for k, _, _ in osbench.ROWS if k != "boot"]
    b = lg.boot(argv, want, env=env)
    sums = [l.split()[1] for l in b.lines if l.startswith("tree-sum ") and len(l.split()) > 1]
    osbench.check_sum(str(monitor), sums[0] if sums else "(none)", data)
    return b.ops


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: bench/osab.py OTHER_MONITOR   (an lvm-monitor binary)")
    lg.need_kernels()
    this, other = lg.ROOT / "out" / "bin" / "lvm-monitor", Path(sys.argv[1]).resolve()
    runs = {this: [], other: []}
    with tempfile.TemporaryDirectory() as t:
        data = osbench.prepare(Path(t))
        for r in range(osbench.RUNS):
            for m in (this, other):
                t0 = time.monotonic()
                runs[m].append(run(data, m))
                sys.stderr.write("osab: run %d/%d, %s: %.1f s\n" % (r + 1, osbench.RUNS, m, time.monotonic() - t0))
    med = {m: {k: statistics.median(x[k] for x in runs[m]) for k in runs[m][0]} for m in runs}
    lines = ["lvm %s mode, %s, median of %d runs each, interleaved: this tree's monitor against %s."
             % (MODE, time.strftime("%Y-%m-%d"), osbench.RUNS, other), "",
             "| | this | other | this / other |", "| --- | ---: | ---: | ---: |"]
    for key, label, unit in osbench.ROWS:
        if key in med[this]:
            a, b = med[this][key], med[other][key]
            lines.append("| %s, %s | %s | %s | %.2f |" % (label, unit, osbench.fmt_value(a, unit),
                                                        osbench.fmt_value(b, unit), a / b))
    text = "\n".join(lines) + "\n"
    out = lg.ROOT / "out" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "osab.md").write_text(text)
    print(text + "\nwritten: %s" % (out / "osab.md"))


if __name__ == "__main__":
    main()
