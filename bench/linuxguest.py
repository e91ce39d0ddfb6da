"""What bench/linux.py and bench/os.py share: the Linux guest's kernels, initramfs,
emulator command lines, and the boot that reads a benchmark's `op NAME NS` lines.

The kernels are out/linux/{call,trap,native}/bzImage (`make linux`; LVM_LINUX_OUT
points elsewhere, e.g. at another checkout's out/linux, to reuse its build).  Each
guest gets the project's initramfs plus /lvmbench (a directory: run.sh, which the
kernel command line's lvm.run= makes /init run, and its data) and whatever else the
caller adds; the host runs the same static i386 binaries (bench/linux/ubench.c).

Every guest is told the host's TSC frequency (tsc_early_khz=, the same command line
in every column): under QEMU's TCG, Linux's calibration of the TSC against the PIT
fails whenever the emulation is too slow for its loop ("Unable to calibrate against
PIT"), and the guest then keeps time by jiffies, 10 ms steps at HZ=100, which makes
a 100 ms measurement 10% wrong (TCG's TSC is the host's, as is lvm's).  Each run also
checks the guest's clock against the host's (Boot.clock_rate).
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINUX = Path(os.environ.get("LVM_LINUX_OUT") or ROOT / "out" / "linux")
LVM = str(ROOT / ".venv" / "bin" / "lvm")
APPEND = "console=ttyS0 panic=-1 lvm.run=/lvmbench/run.sh tsc_early_khz=%d"
BEGIN, END = "lvm-bench-begin", "lvm-bench-end"
# Columns in the order they are run and printed.  lvm runs user code in processes of
# its own, one per recent address space (the default, runtime/host/userproc.c and
# aspaces.c); "call 1 aspace" is call mode with -lvm-aspaces 1: one user process,
# whose mappings every context switch drops (the design before aspaces.c); "call
# in-process" is call mode with -lvm-userproc off: user code in the monitor's
# process, the kernel's pages revoked at every return to it (the design before
# userproc.c).  Each side by side with the default.
GUESTS = ("lvm call", "call 1 aspace", "lvm trap", "call in-process", "QEMU TCG")


def need_kernels():
    """The three kernels must be built already (`make linux` takes ~8 min each cold:
    never start that from a benchmark); the monitor is cheap, so make sure of it."""
    for mode in ("call", "trap", "native"):
        if not (LINUX / mode / "bzImage").is_file():
            sys.exit("%s missing: run `make linux`" % (LINUX / mode / "bzImage"))
    subprocess.run(["make", "-s", "-C", str(ROOT), "monitor"], check=True)


def build_ubench(tmp):
    out = Path(tmp) / "ubench"
    subprocess.run(["gcc", "-m32", "-static", "-O2", "-Wall", "-o", str(out),
                    str(ROOT / "bench" / "linux" / "ubench.c")], check=True)
    return out


def busybox():
    """Debian's static i386 busybox, the one the initramfs holds (scripts/i386-debs.py)."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "i386-debs.py"), "busybox-static"],
                       stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, check=True)
    return Path(r.stdout.split()[-1]) / "bin" / "busybox"


def initramfs(tmp, benchdir, adds=()):
    """The project's initramfs with `benchdir` as /lvmbench and `adds` (SRC=DEST)."""
    out = Path(tmp) / "initramfs.cpio.gz"
    argv = [sys.executable, str(ROOT / "scripts" / "linux-initramfs.py"), "-o", str(out),
            "--add", "%s=lvmbench" % benchdir]
    for a in adds:
        argv += ["--add", a]
    subprocess.run(argv, check=True, stderr=subprocess.DEVNULL)
    return out


def host_tsc_khz(ubench):
    r = subprocess.run([str(ubench), "--tsc-khz"], stdout=subprocess.PIPE, text=True, check=True)
    return int(r.stdout)


def script(body):
    """A run.sh: `body` (shell lines) between BEGIN and END, each marked by the
    guest's clock for the clock check."""
    return "\n".join(["echo " + BEGIN, "ubench --clock"] + list(body) + ["ubench --clock", "echo " + END, ""])


def guest_argv(column, initrd, tsc_khz, memory="256M"):
    common = ["-m", memory, "-initrd", str(initrd), "-append", APPEND % tsc_khz]
    if column == "QEMU TCG":
        return ["qemu-system-i386", "-nographic", "-no-reboot", "-monitor", "none",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-kernel", str(LINUX / "native" / "bzImage"), *common]
    mode = {"lvm call": "call", "call 1 aspace": "call", "lvm trap": "trap",
            "call in-process": "call"}[column]
    extra = {"call in-process": ["-lvm-userproc", "off"],
             "call 1 aspace": ["-lvm-aspaces", "1"]}.get(column, [])
    return [LVM, "run", str(LINUX / mode / "bzImage"), *extra, *common]


def parse_ops(lines):
    """{name: ns} from `op NAME NS` lines; an op measured in several rounds counts
    its least (as ubench does within one)."""
    ops = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "op":
            ops[parts[1]] = min(float(parts[2]), ops.get(parts[1], float("inf")))
    return ops


class Boot:
    """One guest run: wall seconds from starting the emulator to /init's first line,
    the guest's uptime then, the ops its run.sh printed, its console lines, the run's
    whole wall time, and the guest clock's rate against the host's between the first
    and the last `clock NS` line (1.0: right; the lines' own latency is ~ms)."""

    def __init__(self, to_init, uptime, ops, lines, wall, clock_rate, stderr=""):
        self.to_init, self.uptime, self.ops, self.lines = to_init, uptime, ops, lines
        self.wall, self.clock_rate, self.stderr = wall, clock_rate, stderr


def fail(what, status, lines, err):
    sys.exit("%s failed (status %s); its last lines:\n%s\n%s" % (what, status, "\n".join(lines[-40:]), err))


def boot(argv, want, timeout=900, env=None):
    """Run a guest to its end; exits (status 1, the guest's last lines) unless it
    printed every op in `want` between BEGIN and END and its run.sh succeeded."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:     # a file, not a pipe: never fills up
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                             env=env)
        killer = threading.Timer(timeout, p.kill)   # a guest that hangs silently
        killer.start()
        to_init, uptime, lines, clocks = None, None, [], []
        for raw in p.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            lines.append(line)
            if re.match(r"clock \d+$", line):
                clocks.append((time.monotonic(), float(line.split()[1])))
            m = re.match(r"lvm-init: .* /init at ([\d.]+) s", line)
            if m and to_init is None:
                to_init, uptime = time.monotonic() - t0, float(m.group(1))
        p.wait()
        killer.cancel()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    wall = time.monotonic() - t0
    ops = parse_ops(lines[lines.index(BEGIN):] if BEGIN in lines else [])
    missing = [w for w in want if w not in ops]
    bad = [l for l in lines if l.startswith("lvm-bench-fail")]
    ended = any(re.match(r"lvm-init: .* exited with status 0$", l) for l in lines)
    if (to_init is None or END not in lines or missing or bad or not ended or p.returncode
            or len(clocks) < 2):
        fail(" ".join(argv) + (" (missing: %s)" % " ".join(missing) if missing else ""),
             p.returncode, lines, stderr)
    rate = (clocks[-1][1] - clocks[0][1]) / 1e9 / (clocks[-1][0] - clocks[0][0])
    return Boot(to_init, uptime, ops, lines, wall, rate, stderr)


def host_ops(argv, env=None):
    """A benchmark program's `op` lines when run on the host itself."""
    r = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if r.returncode:
        fail(" ".join(map(str, argv)), r.returncode, r.stdout.splitlines(), r.stderr)
    return parse_ops(r.stdout.splitlines())


def median_ops(runs):
    """Per op, the median over runs (dicts of op -> ns)."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}
