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
    """The bytes of .text of an object."""
    out = Path(str(obj) + ".bin")
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(out)], check=True)
    return out.read_bytes()


@pytest.fixture
def root():
    return ROOT
