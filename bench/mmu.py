#!/usr/bin/env python3
"""What paging costs, side by side: lvm call mode, lvm trap mode (each in-process
and isolated: `lvm run --isolate`), QEMU TCG.

Runs bench/kernels/pfbench (TSC cycles per operation): a shadow fill, CR3 switches
with 10/100/1000 touched pages, a user page fault handled by the guest kernel, a
local APIC register read and write, and a user loop over 896 KiB, which is also run
as a host process (bench/host/memloop.c) for the native-speed ratio (goal >= 0.97);
and bench/kernels/kabove, built twice (kernel above or below its user program): a
user page fault and a null system call under paging, i.e. what user/supervisor
protection costs (segment limits vs revocation); and bench/kernels/growbench, the
teaching-kernel pattern of issue 12: a process grown to 48 MiB a page at a time with
a CR3 reload after each page (and two per timer tick), then freed the same way, per
page.  "call 1 aspace" is call mode with -lvm-aspaces 1: one user process, whose
mappings a switch to another address space drops (the design before aspaces.c, which
keeps a user process per recent address space).  "call refill" is call mode with
LVM_SHADOW=refill: every CR3 load throws the
shadow away (the design before runtime/host/mmu/ptsnap.c, which keeps what the new tables
translate the same), for the two designs side by side.  Median of RUNS runs.
"""
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ops import OUT, ROOT, RUNS, host_facts, median_run, qemu_argv  # noqa: E402


def main():
    subprocess.run(["make", "-s", "-C", str(ROOT), "monitor", "kernels"], check=True)
    ghz, sig, _ = host_facts()
    loop = OUT / "bench" / "memloop"
    subprocess.run(["gcc", "-O2", "-o", str(loop), str(ROOT / "bench/host/memloop.c")], check=True)
    # The same statistic as every lvm column (median of RUNS runs): this VM runs
    # the loop bimodally (host process and guest alike, ~1.8x apart from run to
    # run), and a min against medians would read as lvm's loss.
    native = statistics.median(int(subprocess.run([str(loop)], capture_output=True, text=True,
                                                  check=True).stdout.split()[1]) for _ in range(RUNS))
    lvm = str(ROOT / ".venv/bin/lvm")
    k = OUT / "kernels"
    last = {"pfbench": "user-loop-1MiB", "kabove": "user-syscall-kernel-above",
            "kbelow": "user-syscall-kernel-below", "growbench": "free-48MiB-per-page"}
    cols = {"lvm call": {}, "call 1 aspace": {}, "call refill": {}, "call isolated": {},
            "lvm trap": {}, "trap isolated": {}, "QEMU TCG": {}}
    for kernel, final in last.items():
        cols["lvm call"].update(median_run([lvm, "run", str(k / "call" / (kernel + ".elf"))], final))
        cols["call 1 aspace"].update(median_run([lvm, "run", str(k / "call" / (kernel + ".elf")),
                                                 "-lvm-aspaces", "1"], final))
        cols["call refill"].update(median_run(["env", "LVM_SHADOW=refill", lvm, "run",
                                               str(k / "call" / (kernel + ".elf"))], final))
        cols["call isolated"].update(median_run([lvm, "run", "--isolate",
                                                 str(k / "call" / (kernel + ".elf"))], final))
        cols["lvm trap"].update(median_run([lvm, "run", str(k / "trap" / (kernel + ".elf"))], final))
        cols["trap isolated"].update(median_run([lvm, "run", "--isolate",
                                                 str(k / "trap" / (kernel + ".elf"))], final))
        cols["QEMU TCG"].update(median_run(qemu_argv(k / "native" / (kernel + ".elf")), final))
    print("TSC %.3f GHz; host signal round trip %.0f ns; median of %d runs; us per operation"
          % (ghz, sig, RUNS))
    print("%-28s" % "operation" + " %12s" * len(cols) % tuple(cols))
    for op in cols["lvm call"]:
        print("%-28s" % op + " %12.2f" * len(cols) % tuple(cols[c][op] / ghz / 1000 for c in cols))
    print("%-28s %12.2f" % ("user-loop-1MiB native", native / ghz / 1000))
    for c in ("lvm call", "call isolated", "lvm trap", "trap isolated"):
        ratio = native / cols[c]["user-loop-1MiB"]
        print("user loop speed, %s vs a host process: %.3f (goal >= 0.97: %s)"
              % (c, ratio, "met" if ratio >= 0.97 else "NOT met"))


if __name__ == "__main__":
    main()
