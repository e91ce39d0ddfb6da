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


# The guest side of __lvm_emulate (runtime/guest/emulate.s.j2) and of each movseg
# subroutine (which emulates the same way when it cannot finish), as assembled: a
# call to one is a call-mode marker in a bzImage, which has no symbols.
def _marker_signatures():
    from . import isa
    from .guestcode import code
    sigs = []
    for sig in [code("emulate")] + [code(n) for n in isa.FASTSEG_NAMES]:
        # movseg's `jmp __lvm_emulate`: its displacement is the link's (as --32 left
        # the unresolved -4 there); only the bytes around it are the signature's
        at = sig.find(b"\xe9\xfc\xff\xff\xff")
        sigs.append((sig, at + 1 if at >= 0 else -1))
    return sigs


def _matches(buf, target, sig, wild):
    body = buf[target:target + len(sig)]
    if len(body) != len(sig):
        return False
    if wild < 0:
        return body == sig
    return body[:wild] == sig[:wild] and body[wild + 4:] == sig[wild + 4:]


def bzimage_startup(data):
    """(the protected-mode kernel of a Linux bzImage, the length of its 32-bit startup
    code: the decompressor's .head.text, which runs first, everything before the
    compressed payload), or None if `data` is no bzImage that says where its payload
    is (boot protocol 2.08+)."""
    if len(data) < 0x268 or data[0x202:0x206] != b"HdrS" or data[0x1FE:0x200] != b"\x55\xaa":
        return None
    if int.from_bytes(data[0x206:0x208], "little") < 0x0208:
        return None
    setup = ((data[0x1F1] or 4) + 1) * 512
    payload = int.from_bytes(data[0x248:0x24C], "little")
    pm = data[setup:]
    return (pm, payload) if 0 < payload <= len(pm) else None


def _bzimage_findings(kernel):
    try:
        with open(kernel, "rb") as f:
            data = f.read()
    except OSError:
        return None
    found = bzimage_startup(data)
    if found is None:
        return None
    from .sweep import sweep
    pm, startup = found
    sigs, buf = _marker_signatures(), bytearray(pm)

    def is_emulate_call(off):
        target = off + 5 + int.from_bytes(buf[off + 1:off + 5], "little", signed=True)
        return 0 <= target and any(_matches(buf, target, s, w) for s, w in sigs)
    return sweep(buf, 0, startup, 32, (), is_emulate_call)


def preflight(kernel):
    """None if the kernel may boot, else the one-line reason it may not."""
    if not _is_elf32(kernel):
        found = _bzimage_findings(kernel)
        if found:
            off, text, rule = found[0]
            return ("%s: a Linux bzImage not built with lvm-cc: its 32-bit startup code has %d "
                    "interesting instruction(s), first at offset %#x of the protected-mode "
                    "kernel: %s [%s]; rebuild with CC=lvm-cc (`make linux`), or --no-check to "
                    "boot it anyway" % (kernel, len(found), off, text, rule.name))
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
