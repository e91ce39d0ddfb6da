"""NetBSD/i386 (`make netbsd`, from ../shared/netbsd's sources) under lvm, against QEMU.

The kernel of each mode boots from lvm's IDE disk: root on wd0a, an FFS image made
by makefs (out/netbsd/root.img, no init yet), up to the kernel's prompt for an init
path.  lvm's call and trap kernels must print what the native kernel prints under
qemu-system-i386, but for the lines that differ by nature (masked below, each with
its reason).  `make test` builds the kernels first (`make netbsd`, ~3 min cold on 2
cores); without them these tests fail, naming the command.
"""
import re
import shutil
import subprocess
import time

import pytest

from conftest import ROOT
from test_kernels import LVM, built, qemu_argv  # noqa: F401  (fixture)

OUT = ROOT / "out" / "netbsd"
PROMPT = b"init path (default /sbin/init): "
BOOT_TIMEOUT = 180

# Lines that differ between machines by nature, and why.
MASKS = [
    (r"^multiboot: .*", "the loader's own: its name, flags, command line, memory map"),
    (r"^NetBSD 7\.99\.4 \(.*\) #0: .*", "the build directory and time"),
    (r"^\t\S+@\S+:.*", "who built it, where"),
    (r"^mainbus0: Intel MP Specification \(Version 1\.4\) \(.*\)$", "the MP table's OEM and product"),
    (r"^cpu0: .*, id 0x[0-9a-f]+$", "the CPU: lvm's is the host's"),
    (r"^wd0: <.*>$", "the disk's model string"),
    (r"^(total|avail) memory = \d+ MB$", "lvm keeps no BIOS area: a MiB more"),
    (r"^\[ Kernel symbol table missing! \]$", "printed before the console is set up"),
]
_MASKS = [re.compile(m) for m, _ in MASKS]


def kernel(mode):
    path = OUT / mode / "netbsd"
    if not path.is_file():
        pytest.fail("%s missing: run `make netbsd` (make test does)" % path)
    return path


def boot(argv, tmp_path):
    """The serial output of a boot up to the init prompt, and the seconds it took."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, cwd=str(tmp_path))
    out = b""
    try:
        import select
        while PROMPT not in out:
            left = BOOT_TIMEOUT - (time.monotonic() - t0)
            if left <= 0 or p.poll() is not None and not select.select([p.stdout], [], [], 0)[0]:
                break
            r, _, _ = select.select([p.stdout], [], [], min(left, 1.0))
            if r:
                chunk = p.stdout.read1(65536)
                if not chunk and p.poll() is not None:
                    break
                out += chunk
        secs = time.monotonic() - t0
    finally:
        p.kill()
        p.wait()
    assert PROMPT in out, "no init prompt after %.0f s:\n%s" % (time.monotonic() - t0, out.decode(errors="replace")[-3000:])
    return out, secs


def transcript(out):
    text = out.decode(errors="replace").replace("\r", "")
    text = text[text.index("Copyright (c) 1996"):]
    return [l for l in text.split("\n") if not any(m.match(l) for m in _MASKS)]


def disk(tmp_path, name):
    img = OUT / "root.img"
    if not img.is_file():
        pytest.fail("%s missing: run `make netbsd` (make test does)" % img)
    dst = tmp_path / name
    shutil.copyfile(img, dst)
    return dst


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("netbsd-qemu")
    out, secs = boot(qemu_argv(kernel("native"), "-drive", "file=%s,format=raw,if=ide"
                               % disk(tmp, "root.img")), tmp)
    return transcript(out), secs


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_boots_to_the_init_prompt_as_under_qemu(built, reference, mode, tmp_path):
    out, secs = boot([str(LVM), "run", str(kernel(mode)), "-hda", str(disk(tmp_path, "root.img"))], tmp_path)
    lines = transcript(out)
    print("NetBSD boot to the init prompt: lvm %s %.2f s, QEMU TCG %.2f s" % (mode, secs, reference[1]))
    assert lines == reference[0]
    assert "root on wd0a dumps on wd0b" in lines


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_kernel_checks_clean(mode):
    r = subprocess.run([str(LVM), "check", str(kernel(mode))], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, ""), r.stdout[-3000:] + r.stderr
