"""What bench/linux.py and bench/os.py share: the Linux guest's kernels, initramfs,
emulator command lines, and the boot that reads a benchmark's `op NAME NS` lines.

The kernels are out/linux/{call,trap,native}/bzImage (`make linux`; LVM_LINUX_OUT
points elsewhere, e.g. at another checkout's out/linux, to reuse its build).  Each
guest gets the project's initramfs plus /lvmbench (a directory: run.sh, which the
kernel command line's lvm.run= makes /init run, and its data) and whatever else the
caller adds; the host runs the same static i386 binaries (bench/linux/ubench.c).
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
APPEND = "console=ttyS0 panic=-1 lvm.run=/lvmbench/run.sh"
BEGIN, END = "lvm-bench-begin", "lvm-bench-end"
# Columns in the order they are run and printed; "call trusted" is call mode with
# -trusted-user (the kernel's pages stay mapped while user code runs: no revocation).
GUESTS = ("lvm call", "lvm trap", "call trusted", "QEMU TCG")


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


def guest_argv(column, initrd, memory="256M"):
    common = ["-m", memory, "-initrd", str(initrd), "-append", APPEND]
    if column == "QEMU TCG":
        return ["qemu-system-i386", "-nographic", "-no-reboot", "-monitor", "none",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-kernel", str(LINUX / "native" / "bzImage"), *common]
    mode = {"lvm call": "call", "lvm trap": "trap", "call trusted": "call"}[column]
    extra = ["-trusted-user"] if column == "call trusted" else []
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
    the guest's uptime then, the ops its run.sh printed, its console lines, and the
    run's whole wall time."""

    def __init__(self, to_init, uptime, ops, lines, wall):
        self.to_init, self.uptime, self.ops, self.lines, self.wall = to_init, uptime, ops, lines, wall


def fail(what, status, lines, err):
    sys.exit("%s failed (status %s); its last lines:\n%s\n%s" % (what, status, "\n".join(lines[-40:]), err))


def boot(argv, want, timeout=900):
    """Run a guest to its end; exits (status 1, the guest's last lines) unless it
    printed every op in `want` between BEGIN and END and its run.sh succeeded."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err:     # a file, not a pipe: never fills up
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        killer = threading.Timer(timeout, p.kill)   # a guest that hangs silently
        killer.start()
        to_init, uptime, lines = None, None, []
        for raw in p.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            lines.append(line)
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
    if to_init is None or END not in lines or missing or bad or not ended or p.returncode:
        fail(" ".join(argv) + (" (missing: %s)" % " ".join(missing) if missing else ""),
             p.returncode, lines, stderr)
    return Boot(to_init, uptime, ops, lines, wall)


def host_ops(argv, env=None):
    """A benchmark program's `op` lines when run on the host itself."""
    r = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if r.returncode:
        fail(" ".join(map(str, argv)), r.returncode, r.stdout.splitlines(), r.stderr)
    return parse_ops(r.stdout.splitlines())


def median_ops(runs):
    """Per op, the median over runs (dicts of op -> ns)."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}
