#!/usr/bin/env python3
"""Interrupt delivery latency, side by side: lvm call mode, lvm trap mode, QEMU TCG,
and the host's own floor (a POSIX timer signal to a host process, which is what
lvm's timers are made of: bench/host/timer_latency.c).

Runs bench/kernels/irqbench: the local APIC timer one-shot for 100 us, TSC cycles
from arming it to the guest's handler; the latency is that minus 100 us.  Median of
201 samples per run, median of RUNS runs.
"""
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ops import OUT, ROOT, RUNS, host_facts, median_run, qemu_argv  # noqa: E402


def main():
    subprocess.run(["make", "-s", "-C", str(ROOT), "monitor", "kernels"], check=True)
    ghz, _, _ = host_facts()
    helper = OUT / "bench" / "timer_latency"
    subprocess.run(["gcc", "-O2", "-o", str(helper), str(ROOT / "bench/host/timer_latency.c")],
                   check=True)
    host = {}
    for _ in range(RUNS):
        for line in subprocess.run([str(helper)], capture_output=True, text=True,
                                   check=True).stdout.splitlines():
            k, v = line.split()
            host.setdefault(k, []).append(int(v))
    lvm = str(ROOT / ".venv/bin/lvm")
    k = OUT / "kernels"
    last = "timer-100us-busy"
    # A run takes well under a second: one that takes a minute lost an interrupt.
    cols = {
        "lvm call": median_run([lvm, "run", str(k / "call/irqbench.elf")], last, 60),
        "lvm trap": median_run([lvm, "run", str(k / "trap/irqbench.elf")], last, 60),
        "QEMU TCG": median_run(qemu_argv(k / "native/irqbench.elf"), last, 60),
    }
    floor = {"timer-100us-halted": sorted(host["halted_ns"])[len(host["halted_ns"]) // 2],
             "timer-100us-busy": sorted(host["busy_ns"])[len(host["busy_ns"]) // 2]}
    print("TSC %.3f GHz; median of %d runs; us from timer expiry to the handler" % (ghz, RUNS))
    print("%-22s %10s %10s %10s %12s" % ("guest state", *cols, "host floor"))
    for op, name in (("timer-100us-halted", "halted (HLT)"), ("timer-100us-busy", "busy loop")):
        lat = [cols[c][op] / ghz / 1000 - 100 for c in cols]
        print("%-22s %10.1f %10.1f %10.1f %12.1f" % (name, *lat, floor[op] / 1000))


if __name__ == "__main__":
    main()
