#!/usr/bin/env python3
"""What each row of the guest OS suite costs lvm, counted (`make bench-os-profile`).

bench/os.py says how long each row takes; this says why.  For each row it boots the
Linux guest under lvm twice with LVM_STATS=1, the second run doing the row's work
twice as often as the first (`ubench --count N` and `--count 2N`; a macro once and
not at all), and divides the difference of everything the monitor counted by the
operations between them.  Per operation: the monitor entries by how they came (host
signals by kind, guest subroutines' far calls, the user system-call gate), the
instructions emulated, the MMU's work (shadow fills, flushes, CR3 loads, mappings
and unmappings sent to the user processes) and the handoffs to a user process
(user runs).  Boot and everything else the two runs share cancel out; what is left
is exact up to the timer ticks that fall in the longer run (a few per millisecond
of guest time, listed with the rest).

Writes out/bench/osprofile.md (also printed).  Environment: PROFILE_MODE ("lvm
call" or any other column of bench/linuxguest.py; default "lvm call"),
PROFILE_ROWS (a comma-separated subset of the rows), LVM_LINUX_OUT.
"""
import importlib.util
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import linuxguest as lg  # noqa: E402

_spec = importlib.util.spec_from_file_location("osbench", Path(__file__).with_name("os.py"))
osbench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(osbench)

COLUMN = os.environ.get("PROFILE_MODE", "lvm call")
# (row, N, operations per iteration): N sized so the longer run stays ~1-2 s in call mode.
MICRO = (("getppid-vdso", 20000, 1), ("getppid-int80", 5000, 1), ("fork+exit+wait", 300, 1),
         ("fork+exec+wait", 100, 1), ("pipe-round-trip", 2000, 1), ("context-switch", 2000, 2),
         ("page-fault", 4096, 1), ("mmap+munmap", 2000, 1), ("compute", 20000, 1))
TREE = "cp -a /lvmbench/tree /tmp/tree || echo lvm-bench-fail cp"
PATCH = "ubench --time patch -C /tmp/tree -i /lvmbench/tree.diff patch -p1 || echo lvm-bench-fail patch"
SHELL = "ubench --time shell sh /lvmbench/shell.sh %d || echo lvm-bench-fail shell"
OUT = lg.ROOT / "out" / "bench"


def scripts():
    """{row: (ops between the runs, body of the first run, body of the second)}"""
    s = {}
    for name, n, per in MICRO:
        s[name] = (n * per, ["ubench --count %d %s" % (n, name)], ["ubench --count %d %s" % (2 * n, name)])
    s["patch"] = (1, [TREE], [TREE, PATCH])
    s["shell"] = (1, [SHELL % osbench.SHELL_ROUNDS], [SHELL % (2 * osbench.SHELL_ROUNDS)])
    return s


def parse_stats(stderr):
    """{counter: value} from the monitor's `lvm stats:` output (LVM_STATS=1)."""
    c, section = {}, None
    for line in stderr.splitlines():
        if line.startswith("lvm stats: fills "):
            words = line[len("lvm stats: "):].split()
            c.update(("mmu: " + words[i].replace("_", " "), int(words[i + 1])) for i in range(0, len(words) - 1, 2))
        elif line.startswith("lvm stats: monitor entries"):
            section = "entry: "
        elif line.startswith("lvm stats: instructions"):
            section = "emulated: "
        elif section and re.match(r"\s+\d+\s", line):
            n, what = line.split(None, 1)
            c[section + what.strip()] = int(n)
    return c


def write_scripts(data, tmp):
    """Every run's script into the bench directory, then the initramfs again with them."""
    for row, (_, one, two) in scripts().items():
        for i, body in ((1, one), (2, two)):
            (data["bench"] / script_name(row, i)).write_text(lg.script(body))
    data["initrd"] = lg.initramfs(tmp, data["bench"], ["%s=bin/ubench" % data["ubench"]])


def script_name(row, i):
    return "profile-%s-%d.sh" % (row.replace("+", "-"), i)


def boot(data, row, i):
    """The guest run of `row`'s script i: its counters and ops."""
    script = data["bench"] / script_name(row, i)
    argv = lg.guest_argv(COLUMN, data["initrd"], data["tsc_khz"])
    argv[argv.index("-append") + 1] = (lg.APPEND % data["tsc_khz"]).replace(
        "/lvmbench/run.sh", "/lvmbench/" + script.name)
    env = dict(os.environ, LVM_STATS="1")
    b = lg.boot(argv, [], env=env)
    return parse_stats(b.stderr), b.ops


def profile(data, rows):
    """{row: (per-operation counters, ns per operation in the longer run)}"""
    result = {}
    for row in rows:
        ops = scripts()[row][0]
        t0 = time.monotonic()
        a, _ = boot(data, row, 1)
        b, timing = boot(data, row, 2)
        per = {k: (b.get(k, 0) - a.get(k, 0)) / ops for k in set(a) | set(b)}
        result[row] = (per, timing.get(row))
        sys.stderr.write("osprofile: %s: %.1f s\n" % (row, time.monotonic() - t0))
    return result


def fmt(v):
    return "%.0f" % v if abs(v) >= 100 else "%.1f" % v if abs(v) >= 1 else "%.2f" % v


def report(result):
    """Per row: time per operation, then every counter of at least 0.05 per
    operation, largest first (emulated instructions and MMU work under their entry)."""
    lines = ["lvm profile of the guest OS suite (%s), %s: per operation, the difference of two "
             "runs (N and 2N operations) divided by N; `entry:` monitor entries by how they came, "
             "`emulated:` instructions the monitor emulated, `mmu:` its MMU counters (user runs: "
             "handoffs to a user process; user maps/unmaps: mappings queued for one)."
             % (COLUMN, time.strftime("%Y-%m-%d")), ""]
    for row, (per, ns) in result.items():
        t = "%s ns" % fmt(ns) if ns is not None else "(time: see bench/os.py)"
        lines.append("* **%s** (%s per operation in the longer run):" % (row, t))
        for group in ("entry: ", "emulated: ", "mmu: "):
            items = sorted(((v, k[len(group):]) for k, v in per.items() if k.startswith(group) and v >= 0.05),
                           reverse=True)
            if items:
                lines.append("  %s %s" % (group.strip(), "; ".join("%s %s" % (fmt(v), k) for v, k in items)))
    return "\n".join(lines) + "\n"


def main():
    lg.need_kernels()
    want = [r for r in scripts() if r in os.environ.get("PROFILE_ROWS", ",".join(scripts())).split(",")]
    if not want:
        sys.exit("osprofile: PROFILE_ROWS names none of: %s" % ", ".join(scripts()))
    with tempfile.TemporaryDirectory() as t:
        data = osbench.prepare(Path(t))
        write_scripts(data, Path(t))
        result = profile(data, want)
    text = report(result)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "osprofile.md").write_text(text)
    print(text + "\nwritten: %s" % (OUT / "osprofile.md"))


if __name__ == "__main__":
    main()
