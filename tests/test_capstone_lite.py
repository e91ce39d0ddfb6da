"""lvm.capstone_lite decodes exactly like the capstone package, and falls back to it."""
import random

import capstone
import pytest

from lvm import capstone_lite


def _package(bits):
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32 if bits == 32 else capstone.CS_MODE_16)
    md.syntax = capstone.CS_OPT_SYNTAX_ATT
    return md


def _sweep(md, code):
    """Every instruction of a linear sweep that skips undecodable bytes."""
    out, pos = [], 0
    while pos < len(code):
        nxt = pos
        for insn in md.disasm_lite(memoryview(code)[pos:], pos):
            out.append(insn)
            nxt = insn[0] + insn[1]
        pos = nxt + 1
    return out


@pytest.mark.parametrize("bits", [32, 16])
def test_same_as_the_package(bits):
    md = capstone_lite.disassembler(bits)
    assert isinstance(md, capstone_lite._Disassembler), "the ctypes binding did not load"
    rng = random.Random(bits)
    code = bytes(rng.randrange(256) for _ in range(20000))
    code += bytes.fromhex("fa fb 9c 9d 0f 20 d8 0f 22 d8 8e d8 e4 60 ee 0f 01 15 00 00 00 00 cf f4")
    got = _sweep(md, code)
    assert len(got) > 4000
    assert got == _sweep(_package(bits), code)


def test_empty_and_offsets():
    md = capstone_lite.disassembler(32)
    assert list(md.disasm_lite(b"", 0)) == []
    assert list(md.disasm_lite(b"\xfa\x90", 0x1000)) == [(0x1000, 1, "cli", ""), (0x1001, 1, "nop", "")]


def test_falls_back_to_the_package(monkeypatch):
    monkeypatch.setattr(capstone_lite, "_lib", None)           # as if no usable library
    md = capstone_lite.disassembler(32)
    assert isinstance(md, capstone.Cs)
    assert list(md.disasm_lite(b"\x0f\x20\xd8", 0)) == [(0, 3, "movl", "%cr3, %eax")]


def test_count_and_in_place_buffers_as_the_package():
    # check.py decodes a bytearray in place, a bounded number of instructions at a time
    code = bytearray(bytes.fromhex("fa 90 0f 20 d8 ee 66 9c cf") * 50)
    md, pkg = capstone_lite.disassembler(32), _package(32)
    view = memoryview(code)
    for pos, count in ((0, 7), (3, 100), (5, 0)):
        assert list(md.disasm_lite(view[pos:], pos, count)) == list(pkg.disasm_lite(view[pos:], pos, count))
    assert len(list(md.disasm_lite(view, 0, 7))) == 7
    assert list(md.disasm_lite(bytes(code[:2]), 0)) == [(0, 1, "cli", ""), (1, 1, "nop", "")]
