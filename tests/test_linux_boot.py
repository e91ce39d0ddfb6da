"""Linux's 32-bit boot protocol (runtime/host/boot/linux.c) on synthetic bzImages:
a setup header around a small protected-mode program (tests/linuxboot/payload.S)
that prints what the protocol promises it, and every malformed header, kernel or
initrd refused with one line before the guest runs.  (The real Linux guest is
issue 10's test.)"""
import struct
import subprocess

import pytest

from conftest import ROOT
from test_kernels import LVM, built  # noqa: F401  (fixture)

SRC = ROOT / "tests" / "linuxboot" / "payload.S"


@pytest.fixture(scope="module", params=["call", "trap"])
def payload(request, tmp_path_factory):
    """The program built with lvm-cc in each mode (so its reads of CS and DS are the
    guest's), as the protected-mode part of a bzImage: a flat binary at 1 MiB."""
    out = tmp_path_factory.mktemp("linuxboot") / "payload.bin"
    subprocess.run([str(ROOT / ".venv" / "bin" / "lvm-cc"), "--lvm-mode=" + request.param, "-m32",
                    "-nostdlib", "-static", "-no-pie", "-Wl,-Ttext=0x100000",
                    "-Wl,--oformat=binary", "-Wl,--build-id=none", "-o", str(out), str(SRC)],
                   check=True)
    return out.read_bytes()


def bzimage(pm, version=0x020F, loadflags=0x01, xloadflags=0, setup_sects=1,
            init_size=0x20000, initrd_max=0x37FFFFFF, cmdline_size=2047, boot_flag=0xAA55):
    head = bytearray(512 * (1 + setup_sects))
    head[0x1F1] = setup_sects
    struct.pack_into("<H", head, 0x1FE, boot_flag)
    head[0x200:0x202] = bytes([0xEB, 0x66])         # jmp: the header ends at 0x268
    head[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", head, 0x206, version)
    head[0x211] = loadflags
    struct.pack_into("<I", head, 0x214, 0x100000)  # code32_start
    struct.pack_into("<I", head, 0x22C, initrd_max)
    struct.pack_into("<H", head, 0x236, xloadflags)
    struct.pack_into("<I", head, 0x238, cmdline_size)
    struct.pack_into("<I", head, 0x260, init_size)
    return bytes(head) + pm


def run(tmp_path, image, *args):
    k = tmp_path / "bzImage"
    k.write_bytes(image)
    r = subprocess.run([str(LVM), "run", str(k), *args], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_boot_protocol_state(built, payload, tmp_path):
    rd = tmp_path / "initrd"
    rd.write_bytes(b"\x07\x07\x07\x07" + b"x" * 5000)
    status, out, err = run(tmp_path, bzimage(payload), "-m", "64M", "-append",
                           "console=ttyS0 lvm", "-initrd", str(rd))
    assert status == 1, (out, err)
    assert out.splitlines() == [
        "esi 00090000", "ebx|edi|ebp 00000000", "cs 00000010", "ds 00000018", "IF 00000000",
        "type_of_loader 000000ff", "e820 entries 00000006",
        "extended memory KiB 0000fc00",               # 64 MiB - 1 MiB
        "initrd size 0000138c", "initrd offset in page 00000000",
        "initrd first word 07070707", "cmdline: console=ttyS0 lvm reservetop=4M"], err


@pytest.mark.parametrize("given, seen", [
    ("", "reservetop=4M"),                         # lvm's top pages: the fixmap below them
    ("reservetop=16M console=ttyS0", "reservetop=16M console=ttyS0"),   # the user's wins
])
def test_reservetop_is_added_unless_given(built, payload, tmp_path, given, seen):
    status, out, err = run(tmp_path, bzimage(payload), "-append", given)
    assert status == 1 and out.splitlines()[-1] == "cmdline: " + seen, (out, err)


@pytest.mark.parametrize("kwargs, message", [
    (dict(version=0x0205), "boot protocol 2.05 is older than 2.06"),
    (dict(loadflags=0), "a zImage"),
    (dict(xloadflags=1), "a 64-bit kernel"),
    (dict(boot_flag=0), "0xAA55"),
    (dict(init_size=0x10000000), "beyond guest memory"),
])
def test_bad_bzimages_are_refused(built, payload, tmp_path, kwargs, message):
    status, out, err = run(tmp_path, bzimage(payload, **kwargs), "-m", "64M")
    assert status == 3 and message in err and out == "", (status, out, err)
    assert len(err.strip().splitlines()) == 1, err


def test_bad_initrds_are_refused(built, payload, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"\0" * (80 << 20))
    status, out, err = run(tmp_path, bzimage(payload), "-m", "64M", "-initrd", str(big))
    assert status == 3 and "does not fit" in err, err
    status, out, err = run(tmp_path, bzimage(payload), "-initrd", str(tmp_path / "missing"))
    assert status == 3 and "No such file" in err, err
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    status, out, err = run(tmp_path, bzimage(payload), "-initrd", str(empty))
    assert status == 3 and "empty initrd" in err, err


def test_initrd_needs_a_bzimage(built, tmp_path):
    rd = tmp_path / "initrd"
    rd.write_bytes(b"x")
    r = subprocess.run([str(LVM), "run", str(ROOT / "out/kernels/call/hello.elf"), "-initrd", str(rd)],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and b"not a Linux bzImage" in r.stderr, r.stderr


def test_long_command_line_is_refused(built, payload, tmp_path):
    status, out, err = run(tmp_path, bzimage(payload, cmdline_size=16), "-append", "x" * 17)
    assert status == 3 and "longer than this kernel takes (16)" in err, err
