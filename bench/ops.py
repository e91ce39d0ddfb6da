#!/usr/bin/env python3
"""Cost of emulated operations, side by side: lvm call mode, lvm trap mode (each
in-process and isolated: `lvm run --isolate`, guest code in ptrace-driven processes
of its own), QEMU TCG.

user-int80-roundtrip goes through the test kernels' entry code (vectors.S: four
segment-register loads, as Linux's entry does); user-int80-bare-iret through a gate
whose handler is a lone iret (the delivery path alone: the host's int $0x80 is a
system call, stopped by seccomp as SIGSYS); user-int-gp-bare-iret the same through
a vector the host's IDT refuses (#GP, SIGSEGV), as xv6's int $64 goes.

Runs bench/kernels/opbench (built by `make kernels`: lvm-cc call/trap, plain gcc for
QEMU), which prints TSC cycles per operation, and a host program measuring the TSC
rate and one host signal round trip.  Prints ns per operation and the issue's goals.
Each configuration is run RUNS times and the median is kept (the machine is shared).
"""
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out"
RUNS = int(os.environ.get("RUNS", "3"))
GOALS = {"cli+sti": ("< 20 ns per instruction", lambda ns, sig: ns / 2 < 20),
         "pushf+popf": ("< 20 ns per instruction", lambda ns, sig: ns / 2 < 20),
         "out-port-0x80": ("< 200 ns", lambda ns, sig: ns < 200),
         "user-int80-roundtrip": ("< 2x a host signal round trip", lambda ns, sig: ns < 2 * sig)}


def qemu_argv(kernel, *extra):
    """QEMU TCG booting a benchmark kernel the way the tests do."""
    return ["qemu-system-i386", "-display", "none", "-monitor", "none", "-serial", "stdio",
            "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel",
            str(kernel), *extra]


def run(argv, last="user-int-gp-bare-iret", timeout=300):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout or ""
        sys.exit("%s did not finish in %d s (a hang: no figure from this run); it printed:\n%s"
                 % (" ".join(argv), timeout, out))
    ops = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "op":
            ops[parts[1]] = int(parts[2])
    if last not in ops:
        sys.exit("%s failed (%d):\n%s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return ops


def median_run(argv, last="user-int-gp-bare-iret", timeout=300):
    runs = [run(argv, last, timeout) for _ in range(RUNS)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def host_facts():
    """TSC GHz, host signal round trip ns, host int $0x80 SIGSYS round trip ns."""
    helper = OUT / "bench" / "signal_rt"
    helper.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["gcc", "-O2", "-no-pie", "-o", str(helper), str(ROOT / "bench/host/signal_rt.c")],
                   check=True)
    host = dict(l.split() for l in subprocess.run([str(helper)], capture_output=True, text=True,
                                                   check=True).stdout.splitlines())
    return (float(host["tsc_ghz"]), float(host["signal_roundtrip_ns"]),
            float(host["int80_sigsys_roundtrip_ns"]))


def main():
    subprocess.run(["make", "-s", "-C", str(ROOT), "monitor", "kernels"], check=True)
    ghz, sig, sigsys = host_facts()
    lvm = str(ROOT / ".venv/bin/lvm")
    k = OUT / "kernels"
    cols = {
        "lvm call": median_run([lvm, "run", str(k / "call/opbench.elf")]),
        "call isolated": median_run([lvm, "run", "--isolate", str(k / "call/opbench.elf")]),
        "lvm trap": median_run([lvm, "run", str(k / "trap/opbench.elf")]),
        "trap isolated": median_run([lvm, "run", "--isolate", str(k / "trap/opbench.elf")]),
        "QEMU TCG": median_run(qemu_argv(k / "native/opbench.elf")),
    }
    print("TSC %.3f GHz; host signal round trip %.0f ns; host floor for a 32-bit int $0x80 "
          "(seccomp SIGSYS round trip, nothing else) %.0f ns; median of %d runs; ns per operation"
          % (ghz, sig, sigsys, RUNS))
    print("%-22s" % "operation" + " %13s" * len(cols) % tuple(cols) + "   goal (call mode)")
    for op in cols["lvm call"]:
        ns = {c: cols[c][op] / ghz for c in cols}
        goal = GOALS.get(op)
        verdict = ("%s: %s" % (goal[0], "met" if goal[1](ns["lvm call"], sig) else "NOT met")) if goal else ""
        print("%-22s" % op + " %13.1f" * len(cols) % tuple(ns.values()) + "   " + verdict)


if __name__ == "__main__":
    main()
