#!/usr/bin/env python3
"""IDE PIO disk throughput, side by side: lvm call mode, lvm trap mode, QEMU TCG.

Runs bench/kernels/diskbench with a 1 MiB raw image (allocated, not sparse): 2000
sequential 512-byte WRITE SECTORS commands, one sector each (DRQ polled on
Alternate Status, the data by `rep outsl`, completion by IRQ 14 whose handler reads
Status), then 2000 READ SECTORS the same way (`rep insl`).  The kernel prints TSC
cycles per sector; this prints µs per sector and KiB/s.  Median of RUNS runs.
lvm writes each sector to the image (pwrite) before its interrupt; QEMU's writes go
through its block layer's thread pool (aio=threads, cache=writeback).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ops import OUT, ROOT, RUNS, host_facts, median_run, qemu_argv  # noqa: E402

SECTORS_IN_IMAGE = 2048


def image(name):
    path = OUT / "bench" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(512 * SECTORS_IN_IMAGE))
    return path


def main():
    import subprocess
    subprocess.run(["make", "-s", "-C", str(ROOT), "monitor", "kernels"], check=True)
    ghz, _, _ = host_facts()
    lvm = str(ROOT / ".venv/bin/lvm")
    k = OUT / "kernels"
    cols = {
        "lvm call": median_run([lvm, "run", str(k / "call/diskbench.elf"), "-hda",
                                str(image("disk-call.img"))], "sector-read"),
        "lvm trap": median_run([lvm, "run", str(k / "trap/diskbench.elf"), "-hda",
                                str(image("disk-trap.img"))], "sector-read"),
        "QEMU TCG": median_run(qemu_argv(k / "native/diskbench.elf", "-drive",
                                         "file=%s,format=raw,index=0,if=ide" % image("disk-qemu.img")),
                               "sector-read"),
    }
    print("TSC %.3f GHz; median of %d runs; 2000 sectors, one command and one IRQ 14 each"
          % (ghz, RUNS))
    print("%-24s %12s %12s %12s" % ("", *cols))
    for op in ("sector-write", "sector-read"):
        us = {c: cols[c][op] / ghz / 1000 for c in cols}
        print("%-24s %12.2f %12.2f %12.2f" % (op + " (µs/sector)", *us.values()))
        print("%-24s %12.0f %12.0f %12.0f" % (op + " (KiB/s)", *(0.5 / (u / 1e6) for u in us.values())))


if __name__ == "__main__":
    main()
