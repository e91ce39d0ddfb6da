"""NetBSD/i386 (`make netbsd`, from ../shared/netbsd's sources) under lvm, against QEMU.

The kernel of each mode boots from lvm's IDE disk: root on wd0a, an FFS image made
by makefs (out/netbsd/root.img) whose /sbin/init is the project's own
(guests/netbsd/init): it prints a banner, runs a system-call suite (one "ok N - name"
or "not ok N - name (detail)" line a case), then a shell on the console (Debian's
busybox ash under COMPAT_LINUX, prompt "# "); the test
feeds the shell a few commands through stdin, then `exit`, and init reboots, which
ends lvm (status 0) and QEMU (-no-reboot).  One boot per machine: lvm's call and trap
kernels and the native kernel under qemu-system-i386 (TCG).  The kernel's messages up
to the banner must be QEMU's but for the lines that differ by nature (masked below,
each with its reason); the suite's lines must be QEMU's exactly, and all pass.  Booted
with -s (-append "-s"), init reboots after the suite: a run without input.
`make test` builds the kernels first (`make netbsd`, ~3 min cold on 2 cores); without
them these tests fail, naming the command.
"""
import os
import re
import select
import shutil
import subprocess
import time

import pytest

from conftest import ROOT
from test_kernels import LVM, built, qemu_argv  # noqa: F401  (fixture)

OUT = ROOT / "out" / "netbsd"
BANNER = b"lvm NetBSD init: system-call suite, then a shell\n"
SHELL = b"shell: type exit to reboot\n"
BOOT_TIMEOUT = 300
# The shell session: each command, and a line its output must hold.
SESSION = [
    (b"echo hello from the shell", "hello from the shell"),
    (b"ls /", "README  bin     dev     sbin    tmp"),
    (b"mkdir /made; echo $((6*7)) > /made/f; cat /made/f", "42"),
    (b"ls -l /made", " 3 "),
    (b"uname -s", "Linux"),
]

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


class Machine:
    """One boot: its serial output, exit status and the times (from the start) at which
    the banner, the suite's last line and the end came."""

    def __init__(self, argv, cwd):
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, cwd=str(cwd))
        self.out = b""
        self.marks = {}
        self.replies = []

    def until(self, what, name, start=0):
        """Wait for `what` in the output from `start`, read without the CRs of the
        console's output processing (ONLCR)."""
        while what not in self.out[start:].replace(b"\r", b""):
            left = BOOT_TIMEOUT - (time.monotonic() - self.t0)
            if left <= 0:
                raise AssertionError("no %r after %.0f s:\n%s" % (what, BOOT_TIMEOUT, self.tail()))
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 1.0))
            if r:
                chunk = self.p.stdout.read1(65536)
                if not chunk:
                    raise AssertionError("exited (%s) before %r:\n%s" % (self.p.wait(), what, self.tail()))
                self.out += chunk
        self.marks[name] = time.monotonic() - self.t0

    def send(self, line):
        self.p.stdin.write(line + b"\n")
        self.p.stdin.flush()

    def finish(self):
        try:
            rest, _ = self.p.communicate(timeout=BOOT_TIMEOUT)
            self.out += rest
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.out += self.p.communicate()[0]
        self.marks["end"] = time.monotonic() - self.t0
        return self.p.returncode

    def tail(self):
        return self.out.decode(errors="replace")[-3000:]


def boot(argv, tmp_path):
    m = Machine(argv, tmp_path)
    try:
        m.until(BANNER, "banner")
        m.until(b"\nsuite: ", "suite")
        m.until(SHELL, "shell")
        m.until(b"\n# ", "prompt", m.out.rindex(b"shell: type exit"))
        for cmd, _ in SESSION:
            n = len(m.out)
            m.send(cmd)
            m.until(b"\n# ", "cmd", n)
            m.replies.append(text(m.out[n:]))
        m.send(b"exit")
        status = m.finish()
    except BaseException:
        m.p.kill()
        m.p.wait()
        raise
    return m, status


def text(out):
    return out.decode(errors="replace").replace("\r", "")


def transcript(out):
    """The kernel's messages from its copyright to init's banner, masked."""
    t = text(out)
    t = t[t.index("Copyright (c) 1996"):t.index(BANNER.decode())]
    return [l for l in t.split("\n") if not any(m.match(l) for m in _MASKS)]


def suite_lines(out):
    t = text(out)
    t = t[t.index(BANNER.decode()) + len(BANNER):]
    return [l for l in t.split("\n") if re.match(r"^(1\.\.\d+|(not )?ok \d+ - .*|suite: .*)$", l)]


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
    return boot(qemu_argv(kernel("native"), "-drive", "file=%s,format=raw,if=ide"
                          % disk(tmp, "root.img")), tmp)


@pytest.fixture(scope="module", params=["call", "trap"])
def lvm_boot(request, built, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("netbsd-" + request.param)
    m, status = boot([str(LVM), "run", str(kernel(request.param)), "-hda", str(disk(tmp, "root.img"))], tmp)
    return request.param, m, status


def times(m):
    return "boot to banner %.2f s, suite %.2f s" % (m.marks["banner"], m.marks["suite"] - m.marks["banner"])


def test_boots_to_init_as_under_qemu(lvm_boot, reference):
    mode, m, _ = lvm_boot
    lines = transcript(m.out)
    assert lines == transcript(reference[0].out)
    assert "root on wd0a dumps on wd0b" in lines


def test_suite_as_under_qemu(lvm_boot, reference):
    mode, m, _ = lvm_boot
    ref = suite_lines(reference[0].out)
    lines = suite_lines(m.out)
    passed = sum(1 for l in lines if l.startswith("ok "))
    print("NetBSD suite: %d of %d pass; lvm %s: %s; QEMU TCG: %s" % (
        passed, len([l for l in lines if re.match(r"(not )?ok ", l)]), mode, times(m), times(reference[0])))
    assert lines == ref
    assert ref and not [l for l in ref if l.startswith("not ok")], "\n".join(ref)


def test_shell_session_then_reboot(lvm_boot, reference):
    for mode, (m, status) in ((lvm_boot[0], lvm_boot[1:]), ("qemu", reference)):
        t = text(m.out)
        for (cmd, want), reply in zip(SESSION, m.replies):
            assert want in reply, (mode, cmd, reply)
        assert "init: rebooting" in t, (mode, t[-2000:])
        if mode != "qemu":
            assert status == 0, (mode, status, t[-2000:])


def test_suite_only_with_the_single_user_flag(built, reference, tmp_path):  # noqa: F811
    """Booted with -s (the Multiboot command line), init runs the suite alone and
    reboots: no console input needed, lvm's status 0."""
    r = subprocess.run([str(LVM), "run", str(kernel("call")), "-hda", str(disk(tmp_path, "root.img")),
                        "-append", "-s"], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=BOOT_TIMEOUT, cwd=str(tmp_path))
    t = text(r.stdout)
    assert r.returncode == 0, t[-3000:]
    assert suite_lines(r.stdout) == suite_lines(reference[0].out)
    assert "init: suite only (-s)" in t and SHELL.decode() not in t


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_boot_and_suite_isolated(built, reference, tmp_path, mode):  # noqa: F811
    """The same boot and suite with guest code in lvm's isolated processes
    (--isolate): QEMU's transcript and suite lines."""
    r = subprocess.run([str(LVM), "run", "--isolate", str(kernel(mode)), "-hda",
                        str(disk(tmp_path, "root.img")), "-append", "-s"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=BOOT_TIMEOUT, cwd=str(tmp_path))
    assert r.returncode == 0, (text(r.stdout)[-3000:], r.stderr[-2000:])
    assert transcript(r.stdout) == transcript(reference[0].out)
    assert suite_lines(r.stdout) == suite_lines(reference[0].out)


BOOTS = int(os.environ.get("LVM_NETBSD_BOOTS", "5"))


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_boots_are_deterministic(built, reference, tmp_path, mode):  # noqa: F811
    """BOOTS boots in a row with -s (the suite, then a reboot): the same kernel messages
    and suite lines every time, and QEMU's (`make fuzz`: 20 boots)."""
    seen = []
    for i in range(BOOTS):
        r = subprocess.run([str(LVM), "run", str(kernel(mode)), "-hda", str(disk(tmp_path, "root%d.img" % i)),
                            "-append", "-s"], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=BOOT_TIMEOUT, cwd=str(tmp_path))
        assert r.returncode == 0, text(r.stdout)[-3000:]
        seen.append((transcript(r.stdout), suite_lines(r.stdout)))
        (tmp_path / ("root%d.img" % i)).unlink()
    want = (transcript(reference[0].out), suite_lines(reference[0].out))
    assert all(s == want for s in seen), [i for i, s in enumerate(seen) if s != want]
    print("NetBSD %s: %d boots, the same transcript as QEMU's each time" % (mode, BOOTS))


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_kernel_checks_clean(mode):
    r = subprocess.run([str(LVM), "check", str(kernel(mode))], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, ""), r.stdout[-3000:] + r.stderr


def test_host_tools_outlive_their_source_copy(tmp_path, monkeypatch):
    """The host tools are keyed on their own sources, the patched source copy on the
    tree and the patches: a patch change makes a new copy and prunes the old one while
    the tools stay.  A tool that referred to the copy (genassym did: CI's cached tools
    then ran a genassym.sh that was gone) must not: build them from a copy, remove
    the copy, run genassym on a one-line input."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("netbsd_build", ROOT / "scripts" / "netbsd-build.py")
    nb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nb)
    tree = nb.netbsd_tree(None)
    src = tmp_path / "src"
    for part in ("usr.bin/config", "usr.bin/genassym", "usr.bin/cksum"):
        shutil.copytree(str(tree / part), str(src / part))
    monkeypatch.setenv("LVM_CACHE", str(tmp_path / "cache"))
    bindir = nb.host_tools(lambda msg: None, src)
    shutil.rmtree(str(src))
    for tool in bindir.iterdir():      # the scripts (config's binary names its sources in asserts)
        text = tool.read_text(errors="replace")
        assert not text.startswith("#!") or str(src) not in text, tool
    cf = "include <stdint.h>\ndefine S_B sizeof(int32_t)\n"
    r = subprocess.run([str(bindir / "genassym"), "--", "gcc", "-m32"], input=cf,
                       capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert re.search(r"#define\s+S_B\s+4\b", r.stdout), r.stdout
