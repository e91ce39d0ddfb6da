"""IDE disks: the `ide` test kernel (tests/kernels/ide) against QEMU, each run with
fresh images whose sector n holds a known pattern; afterwards the image files must
hold exactly what the kernel wrote (lvm's and QEMU's alike).  Also: `lvm run` on
bad -hda/-drive input, and a completed write surviving kill -9.
"""
import array
import os
import signal
import subprocess
import time

import pytest

from conftest import ROOT
from test_kernels import LVM, OUT, built, lvm, qemu  # noqa: F401 (built is a fixture)

SECTORS = 8192                # 4 MiB: default geometry 8/16/63, as QEMU guesses it
SLAVE_SECTORS = 2000
SLAVE_XOR = 0x5A5A5A5A
WRITES = {0: [100, 101, 102, 200, 201, 202, 203, 204, 300, 301], 1: [9]}   # what ide.c writes


def pattern(lba, xor=0):
    return array.array("I", (((lba << 16) | i) ^ xor for i in range(128))).tobytes()


def written(lba):
    return array.array("I", (~((lba << 16) | i) & 0xFFFFFFFF for i in range(128))).tobytes()


def image_bytes(sectors, xor=0, mbr=None, writes=()):
    data = bytearray(b"".join(pattern(n, xor) for n in range(sectors)))
    if mbr:
        data[0:512] = mbr
    for n in writes:
        data[n * 512:(n + 1) * 512] = written(n)
    return bytes(data)


def mbr(heads, spt, sectors):
    """Sector 0 with one partition ending on a cylinder boundary of heads x spt:
    QEMU (and lvm) take the geometry from it."""
    sec = bytearray(pattern(0))
    sec[0x1BE:0x1FE] = bytes(64)
    cyls = sectors // (heads * spt)
    p = bytearray(16)
    p[4] = 0x83
    p[5], p[6], p[7] = heads - 1, spt | (((cyls - 1) >> 2) & 0xC0), (cyls - 1) & 0xFF
    p[8:12] = (spt).to_bytes(4, "little")
    p[12:16] = (cyls * heads * spt - spt).to_bytes(4, "little")
    sec[0x1BE:0x1CE] = p
    sec[510:512] = b"\x55\xaa"
    return bytes(sec)


# "slave" is -hdb alone: device 0 is QEMU's empty disk (ready, aborts what needs a
# medium), and the kernel runs its tests on device 1 (which then gets WRITES[0]).
LAYOUTS = {
    "master": dict(master=dict(sectors=SECTORS)),
    "mbr-geometry": dict(master=dict(sectors=SECTORS, mbr=mbr(4, 32, SECTORS))),
    "master+slave": dict(master=dict(sectors=SECTORS), slave=dict(sectors=SLAVE_SECTORS, xor=SLAVE_XOR)),
    "slave": dict(slave=dict(sectors=SLAVE_SECTORS, xor=SLAVE_XOR), option="-hdb"),
}


def make_images(tmp, layout):
    """Fresh images for `layout` in tmp; (QEMU-style options, expected images)."""
    args, expect = [], {}
    alone = len([r for r in ("master", "slave") if r in LAYOUTS[layout]]) == 1
    for index, role in enumerate(("master", "slave")):
        spec = LAYOUTS[layout].get(role)
        if not spec:
            continue
        path = tmp / ("%s.img" % role)
        path.write_bytes(image_bytes(spec["sectors"], spec.get("xor", 0), spec.get("mbr")))
        if "option" in LAYOUTS[layout]:
            args += [LAYOUTS[layout]["option"], str(path)]
        else:
            args += ["-drive", "file=%s,format=raw,index=%d,if=ide" % (path, index)]
        writes = WRITES[0] if alone else WRITES[index]
        expect[path] = image_bytes(spec["sectors"], spec.get("xor", 0), spec.get("mbr"), writes)
    return args, expect


def check_images(expect, who):
    for path, want in expect.items():
        got = path.read_bytes()
        assert len(got) == len(want), "%s changed the size of %s" % (who, path.name)
        if got != want:
            bad = [n for n in range(len(want) // 512) if got[n * 512:(n + 1) * 512] != want[n * 512:(n + 1) * 512]]
            pytest.fail("%s: %s differs from what the kernel wrote in sectors %s" % (who, path.name, bad[:20]))


_reference = {}


def reference(layout, tmp_path_factory):
    """QEMU's transcript for a layout, its images checked too."""
    if layout not in _reference:
        tmp = tmp_path_factory.mktemp("qemu-" + layout)
        args, expect = make_images(tmp, layout)
        status, out = qemu(OUT / "native" / "ide.elf", *args)
        text = out.decode(errors="replace")
        assert status == 1 and "BAD" not in text and "timeout" not in text, text
        check_images(expect, "QEMU")
        _reference[layout] = text
    return _reference[layout]


@pytest.mark.parametrize("mode", ["call", "trap", "call-isolated", "trap-isolated"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_ide_matches_qemu(built, tmp_path, tmp_path_factory, layout, mode):
    want = reference(layout, tmp_path_factory)
    args, expect = make_images(tmp_path, layout)
    base, _, isolated = mode.partition("-")
    status, out, err = lvm(OUT / base / "ide.elf", *(["--isolate"] if isolated else []), *args)
    assert out.decode(errors="replace") == want, err.decode(errors="replace")
    assert status == 1, err.decode(errors="replace")
    check_images(expect, "lvm")
    # The unknown command is logged once, on stderr.
    assert err.decode().count("command 0x50 not emulated") == 1, err.decode()


def test_ide_what_differs_from_qemu(built, tmp_path):
    """Where lvm follows ATA-6 and QEMU does not: our identity strings and integrity
    word; nIEN (an interrupt raised while nIEN=1 shows when nIEN is cleared if Status
    was not read; QEMU drops it); byte access to the Data register (QEMU: 0xff);
    INITIALIZE DEVICE PARAMETERS setting the CHS translation (QEMU ignores it)."""
    args, _ = make_images(tmp_path, "master+slave")
    status, out, err = lvm(OUT / "call" / "ide.elf", *args, "-append", "model spec")
    text = out.decode().replace("\r\n", "\n")
    assert status == 1, err.decode()
    assert "model 'LVM HARDDISK" in text and "serial 'LVM00002" in text
    assert text.count("integrity word a5, sum 0\n") == 2
    assert "spec: nIEN cleared, Status not read: interrupts 1\n" in text
    assert "spec: read lba 21 with inb: ok\n" in text
    assert "spec: chs 1/2/3 is lba 194: ok\n" in text
    assert "spec: identify: current chs 64/4/32 capacity 8192\n" in text
    assert "BAD" not in text


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_completed_write_survives_kill(built, tmp_path, mode):
    img = tmp_path / "disk.img"
    img.write_bytes(image_bytes(64))
    p = subprocess.Popen([str(LVM), "run", str(OUT / mode / "ide.elf"), "-hda", str(img), "-append", "kill"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        line = b""
        while b"written" not in line and time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
        assert b"written" in line, p.stderr.read().decode()
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == -signal.SIGKILL
    assert img.read_bytes() == image_bytes(64, writes=[42])


def run(*args):
    r = subprocess.run([str(LVM), "run", str(OUT / "call" / "ide.elf"), *map(str, args)], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def refused(args, *words):
    status, out, err = run(*args)
    assert status == 2 and out == "", (status, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], err
    return lines[0]


@pytest.fixture
def img(tmp_path):
    p = tmp_path / "disk.img"
    p.write_bytes(bytes(512 * 16))
    return p


def test_missing_image(built, tmp_path):
    refused(["-hda", tmp_path / "nope.img"], "-hda", "nope.img", "No such file")


def test_image_size_not_a_multiple_of_512(built, tmp_path):
    p = tmp_path / "odd.img"
    p.write_bytes(bytes(1000))
    refused(["-drive", "file=%s,format=raw,index=0,if=ide" % p], "odd.img", "1000", "not a multiple of 512")
    assert p.stat().st_size == 1000


def test_empty_image(built, tmp_path):
    p = tmp_path / "empty.img"
    p.write_bytes(b"")
    refused(["-hda", p], "empty.img", "empty")


def test_read_only_image(built, img):
    if os.geteuid() == 0:
        # root writes to mode 0444 files: make it immutable instead, if we may.
        if subprocess.run(["chattr", "+i", str(img)], capture_output=True).returncode:
            pytest.skip("running as root without chattr +i: cannot make a read-only file")
    else:
        img.chmod(0o444)
    try:
        refused(["-hda", img], "disk.img", "read-only", "writable copy")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(img)])
    refused(["-drive", "file=%s,readonly=on" % img], "readonly=on", "read-write")


def test_index_out_of_range(built, img):
    refused(["-drive", "file=%s,format=raw,index=2" % img], "index 2 out of range", "secondary")
    refused(["-drive", "file=%s,index=-1" % img], "index -1 out of range")
    refused(["-hdc", img], "-hdc", "index 2 out of range")


def test_two_images_on_one_index(built, img, tmp_path):
    other = tmp_path / "other.img"
    other.write_bytes(bytes(512))
    refused(["-hda", img, "-drive", "file=%s,index=0" % other], "index 0 already holds", "disk.img")
    refused(["-hda", img, "-hdb", img], "disk.img", "given twice")


def test_unsupported_drive_options(built, img):
    refused(["-drive", "file=%s,format=qcow2" % img], "format=qcow2", "raw images only")
    refused(["-drive", "file=%s,if=scsi" % img], "if=scsi", "IDE")
    refused(["-drive", "file=%s,cache=none" % img], "unknown key 'cache'")
    refused(["-drive", "format=raw"], "no file=")
    img.write_bytes(b"QFI\xfb" + bytes(508))
    refused(["-hda", img], "qcow2 image", "qemu-img convert")


def test_qemu_style_options_reach_the_monitor(tmp_path):
    # click would read -hda as -h -d -a: lvm run passes QEMU's one-dash words on.
    env = dict(os.environ, LVM_MONITOR="/bin/echo")
    k = tmp_path / "k.elf"
    k.write_bytes(b"not an elf")
    r = subprocess.run([str(LVM), "run", str(k), "-hda", "a.img", "-hdb", "b.img", "-drive", "file=c,index=1",
                        "-nographic", "-serial", "stdio", "-m", "64", "-append", "x y"],
                       capture_output=True, text=True, env=env)
    assert r.stdout.split() == ["-m", "64", "-hda", "a.img", "-hdb", "b.img", "-drive", "file=c,index=1",
                                "-nographic", "-serial", "stdio", "-append", "x", "y", str(k)], r.stderr
