"""Shared test set-up: the lvm package from this checkout, tools on PATH, helpers."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))
_VENV_BIN = ROOT / ".venv" / "bin"
if _VENV_BIN.is_dir():
    os.environ["PATH"] = str(_VENV_BIN) + os.pathsep + os.environ.get("PATH", "")


def assemble(text, path, extra=()):
    """Assemble AT&T text with the real `as --32`; returns the object path."""
    src = Path(path).with_suffix(".s")
    src.write_text(text)
    obj = Path(path).with_suffix(".o")
    r = subprocess.run(["as", "--32", *extra, "-o", str(obj), str(src)], capture_output=True, text=True)
    if r.returncode:
        raise AssertionError("as failed:\n%s\n--- source ---\n%s" % (r.stderr, text))
    return obj


def text_bytes(obj):
    """The bytes of the object's own .text (not the runtime's COMDAT .text groups)."""
    from elftools.elf.elffile import ELFFile
    SHF_GROUP = 0x200
    with open(obj, "rb") as f:
        for sec in ELFFile(f).iter_sections():
            if sec.name == ".text" and not sec["sh_flags"] & SHF_GROUP:
                return sec.data()
    raise AssertionError("%s has no .text" % obj)


@pytest.fixture
def root():
    return ROOT


def cpu_seconds(fn, *args, repeat=3):
    """The least CPU time (this process) of `repeat` calls of fn(*args): CPU, not wall
    time, and the least of a few, so that other work on the machine barely shows."""
    import time
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn(*args)
        best = min(best, time.process_time() - t)
    return best


def growth(fn, make_input, n, factor=4):
    """How much longer fn takes on make_input(factor * n) than on make_input(n): about
    `factor` when its cost is linear in the input, factor**2 when quadratic.  Tests
    assert a bound well between the two, never a wall-clock time."""
    small, large = make_input(n), make_input(factor * n)
    fn(small)                                           # warm caches (templates, imports)
    return cpu_seconds(fn, large) / max(cpu_seconds(fn, small), 1e-4)
