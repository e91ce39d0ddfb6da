"""The differential oracle: each test kernel, built with lvm-cc and booted by lvm in
call and trap mode, must print exactly what the same source built with plain gcc
prints under qemu-system-i386, and end with the same exit status.

A kernel is a directory of tests/kernels/ (see tests/kernels/README.md); adding one
is adding a directory and its name to KERNELS in tests/kernels/Makefile.
"""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

OUT = ROOT / "out" / "kernels"
LVM = ROOT / ".venv" / "bin" / "lvm"
TIMEOUT = 60


def kernel_names():
    text = (ROOT / "tests" / "kernels" / "Makefile").read_text()
    return re.search(r"^KERNELS\s*:=\s*(.*)$", text, re.M).group(1).split()


@pytest.fixture(scope="session")
def built():
    r = subprocess.run(["make", "-s", "monitor", "kernels"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return OUT


def qemu_argv(kernel, *args):
    return ["qemu-system-i386", "-display", "none", "-monitor", "none", "-serial", "stdio",
            "-no-reboot", "-m", "128", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", str(kernel), *args]


def lvm_argv(kernel, *args):
    return [str(LVM), "run", str(kernel), *args]


def qemu(kernel, *args, input=None):
    """QEMU's status and serial output; `args` are extra QEMU options (-m, -hda...),
    `input` bytes fed to the serial port's stdin (else stdin is /dev/null)."""
    r = subprocess.run(qemu_argv(kernel, *args), capture_output=True, timeout=TIMEOUT,
                       input=input, stdin=None if input is not None else subprocess.DEVNULL)
    return r.returncode, r.stdout


def lvm(kernel, *args, input=None):
    """lvm run's status, stdout and stderr; arguments as for qemu()."""
    r = subprocess.run(lvm_argv(kernel, *args), capture_output=True, timeout=TIMEOUT,
                       input=input, stdin=None if input is not None else subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


_reference = {}


def reference(name):
    """QEMU's transcript, from two runs that agree (or the majority of three): a
    kernel whose QEMU transcript varies is a bad test, and must not pass by luck."""
    if name not in _reference:
        runs = [qemu(OUT / "native" / (name + ".elf")) for _ in range(2)]
        if runs[0] != runs[1]:
            runs.append(qemu(OUT / "native" / (name + ".elf")))
            runs.sort(key=runs.count, reverse=True)
            assert runs.count(runs[0]) >= 2, "QEMU gave three different transcripts for %s" % name
        _reference[name] = runs[0]
    return _reference[name]


@pytest.mark.parametrize("mode", ["call", "trap", "call-isolated", "trap-isolated"])
@pytest.mark.parametrize("name", kernel_names())
def test_transcript_matches_qemu(built, name, mode):
    want_status, want = reference(name)
    assert want, "QEMU printed nothing for %s" % name
    assert want_status & 1, "the QEMU reference did not end through isa-debug-exit (status %d)" % want_status
    base, _, isolated = mode.partition("-")
    status, got, err = lvm(OUT / base / (name + ".elf"), *(["--isolate"] if isolated else []))
    assert got.decode(errors="replace") == want.decode(errors="replace"), err.decode(errors="replace")
    assert status == want_status, err.decode(errors="replace")


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_halted_guest_leaves_the_host_idle(built, mode):
    # Half a second of HLT: the process must sleep, not spin.  A ratio of CPU time
    # to wall time, robust on a loaded machine (load only adds wall time).
    import resource
    import time
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    status, out, err = lvm(OUT / mode / "idle.elf")
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert status == 1 and b"slept 50 ticks" in out, err
    assert wall >= 0.45
    assert cpu < 0.25 * wall, "%.3f s of CPU in %.3f s of wall time" % (cpu, wall)
