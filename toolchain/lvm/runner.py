"""`lvm run`: check that a kernel was built for lvm, then exec the monitor.

The monitor (runtime/host/, built as out/bin/lvm-monitor) does the booting; this
module only refuses kernels that cannot work before they start, with one line that
says why: a kernel with interesting instructions outside the runtime was not built
with lvm-cc (it would fault or silently misbehave in ring 3).  Files that are not
ELF32 go straight to the monitor, whose loader names the problem.
"""
import os
from pathlib import Path

from .errors import LvmError

ROOT = Path(__file__).resolve().parents[2]
EXIT_USAGE = 2
EXIT_BAD_KERNEL = 3


def monitor_path():
    env = os.environ.get("LVM_MONITOR")
    if env:
        return Path(env)
    return ROOT / "out" / "bin" / "lvm-monitor"


def _is_elf32(path):
    try:
        with open(path, "rb") as f:
            head = f.read(5)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and head[4:5] == b"\x01"


def preflight(kernel):
    """None if the kernel may boot, else the one-line reason it may not."""
    if not _is_elf32(kernel):
        return None
    from .check import check_file, format_finding
    try:
        findings = check_file(kernel)
    except LvmError:
        return None                     # the loader's message is more precise
    if not findings:
        return None
    return ("%s: not built with lvm-cc: %d interesting instruction(s) outside the runtime, "
            "first: %s; rebuild with CC=lvm-cc (or --no-check to boot it anyway)"
            % (kernel, len(findings), format_finding(findings[0]).split(": ", 1)[1]))


def monitor_argv(kernel, memory, append, extra):
    argv = [str(monitor_path())]
    if memory is not None:              # -m "" too: the monitor says what is wrong
        argv += ["-m", memory]
    if append:
        argv += ["-append", append]
    return argv + list(extra) + [kernel]
