"""`make linux`'s parts that can be tested without building Linux (a few seconds).

The build itself (scripts/linux-build.py, ~15 min per mode cold on 2 cores) is not run
here; what is: the fragment's form (every option explained), the .config check, the
build directory's key, scripts/linux-cc's routing of objects (vDSO and real-mode setup
to the real compiler, the real-mode blob under LVM_CHECK=code16, the rest to lvm-cc),
and the exception list against real objects.
"""
import importlib.util
import os
import re
import stat
import subprocess
import sys

import pytest

from conftest import ROOT

FRAGMENT = ROOT / "patches" / "linux" / "lvm.config"
LINUX_CC = ROOT / "scripts" / "linux-cc"
_OPTION = re.compile(r"^(?:(CONFIG_\w+)=\S+|# (CONFIG_\w+) is not set)$")


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def build():
    return _load("linux_build", ROOT / "scripts" / "linux-build.py")


@pytest.fixture(scope="module")
def exceptions():
    return _load("linux_check_exceptions", ROOT / "scripts" / "linux-check-exceptions.py")


def test_fragment_explains_every_option():
    """Each option line belongs to a paragraph (lines without a blank between them) that
    has a comment saying why; no option twice."""
    seen, para = {}, []
    lines = FRAGMENT.read_text().splitlines() + [""]
    for n, line in enumerate(lines, 1):
        if line.strip():
            para.append((n, line))
            continue
        comments = [l for _, l in para if l.startswith("#") and not _OPTION.match(l)]
        for k, l in para:
            m = _OPTION.match(l)
            if m:
                name = m.group(1) or m.group(2)
                assert name not in seen, "%s:%d: %s already at line %d" % (FRAGMENT, k, name, seen[name])
                seen[name] = k
                assert comments, "%s:%d: %s has no comment in its paragraph" % (FRAGMENT, k, name)
        para = []
    for must in ("SERIAL_8250_CONSOLE", "BLK_DEV_INITRD", "BINFMT_ELF", "DEVTMPFS", "PROC_FS",
                 "SYSFS", "TMPFS", "FUTEX", "EPOLL", "SIGNALFD", "TIMERFD", "EVENTFD",
                 "COMPAT_32BIT_TIME", "X86_UP_APIC", "X86_UP_IOAPIC", "X86_MPPARSE", "PATA_LEGACY",
                 "EXT2_FS", "EXT4_FS"):
        assert "CONFIG_" + must in seen, must


def test_config_check(build):
    frag = "# why\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=4\n"
    assert build.check_config("CONFIG_A=y\nCONFIG_C=4\n", frag) == []     # B absent: not set
    bad = build.check_config("CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n", frag)
    assert [b.split(": ", 1)[1] for b in bad] == ["CONFIG_B=n requested, .config has y",
                                                   "CONFIG_C=4 requested, .config has n"]
    assert ":3:" in bad[0] and ":4:" in bad[1]


def test_key(build):
    k = build.build_key("call", "v1", b"frag", "lvm1")
    assert k == build.build_key("call", "v1", b"frag", "lvm1")
    assert len({k, build.build_key("trap", "v1", b"frag", "lvm1"),
                build.build_key("call", "v2", b"frag", "lvm1"),
                build.build_key("call", "v1", b"frag2", "lvm1"),
                build.build_key("call", "v1", b"frag", "lvm2")}) == 5
    # the native kernel does not depend on lvm
    assert build.build_key("native", "v1", b"frag", "lvm1") == build.build_key("native", "v1", b"frag", "lvm2")
    assert build.lvm_digest() == build.lvm_digest()


def _fake(path, name):
    """An executable that records how it was called (argv, LVM_CHECK) and succeeds."""
    exe = path / name
    exe.write_text('#!/bin/sh\necho "%s LVM_CHECK=${LVM_CHECK-unset} $*" >> "%s"\n'
                   % (name, path / "calls"))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


@pytest.mark.parametrize("obj, want", [
    ("arch/x86/entry/vdso/vdso32/note.o", "lvm-cc LVM_CHECK=unset --lvm-mode=user"),   # user code
    ("arch/x86/entry/vdso/vdso32-setup.o", "lvm-cc LVM_CHECK=unset --lvm-mode=trap"),
    ("arch/x86/boot/main.o", "lvm-cc LVM_CHECK=code16 --lvm-mode=trap"),
    ("arch/x86/boot/compressed/misc.o", "lvm-cc LVM_CHECK=unset --lvm-mode=trap"),
    ("arch/x86/realmode/rm/reboot.o", "lvm-cc LVM_CHECK=code16 --lvm-mode=trap"),
    ("kernel/fork.o", "lvm-cc LVM_CHECK=unset --lvm-mode=trap"),
])
def test_linux_cc_routes_objects(tmp_path, obj, want):
    _fake(tmp_path, "lvm-cc")
    real = _fake(tmp_path, "realcc")
    env = dict(os.environ, PATH="%s:%s" % (tmp_path, os.environ["PATH"]), LVM_CC=str(real))
    env.pop("LVM_CHECK", None)
    r = subprocess.run([str(LINUX_CC), "trap", "-c", "x.c", "-o", obj], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    call = (tmp_path / "calls").read_text().strip()
    assert call.startswith(want) and call.endswith("-c x.c -o %s" % obj), call


ALT = """\
\t.text
f:\tnop
\t.pushsection .altinstr_replacement, "ax"
\t.byte 0x0f,0x01,0xcb
\t.popsection
"""


def _object(tmp_path, rel, text):
    src = tmp_path / "x.s"
    src.write_text(text)
    obj = tmp_path / rel
    obj.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["as", "--32", "-o", str(obj), str(src)], check=True)
    return obj


def test_exceptions_accept_listed_findings_only(tmp_path, exceptions):
    # The project's list is empty now (lvm-as handles what it held); the mechanism is
    # tested with a list of one entry, as a kernel of one's own may need.
    env = dict(os.environ)
    env.pop("LVM_CHECK", None)
    lst = tmp_path / "exceptions"
    lst.write_text("*  .altinstr_replacement  *  stac,clac  # raw SMAP bytes, assembled without lvm-as\n")
    env["LVM_CHECK_EXCEPTIONS"] = str(lst)
    script = str(ROOT / "scripts" / "linux-check-exceptions.py")
    _object(tmp_path, "kernel/a.o", ALT)                               # stac in .altinstr_replacement
    r = subprocess.run([sys.executable, script, "kernel/a.o"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0 and "1 finding(s) accepted" in r.stderr, r.stderr
    _object(tmp_path, "kernel/b.o", ALT.replace("f:\tnop", "f:\tnop; cli"))   # and a raw cli
    r = subprocess.run([sys.executable, script, "kernel/b.o"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 1 and not (tmp_path / "kernel/b.o").exists()
    assert "kernel/b.o: .text+0x1 <f+0x1>" in r.stderr and ": cli " in r.stderr, r.stderr
    assert "1 interesting instruction(s) escaped rewriting; kernel/b.o removed (1 more accepted" in r.stderr


def test_exception_list_is_well_formed(exceptions):
    from lvm.check import RULES_BY_NAME
    entries = exceptions.load()               # empty today: README says so
    for n, objs, sec, syms, rules in entries:
        assert rules <= set(RULES_BY_NAME), "check-exceptions:%d: unknown rule in %s" % (n, rules)


def test_cc_is_a_link_in_the_build_directory(build, tmp_path):
    # Kbuild records CC in each object's command: a link in the (keyed) build directory
    # keeps that line the same from one checkout of lvm to another, so nothing rebuilds
    if not (ROOT / ".venv" / "bin" / "lvm-cc").exists():
        pytest.fail("run `make setup` first")
    variables, _ = build.compilers("call", True, "0" * 64, tmp_path)
    cc, mode = variables["CC"].split()
    assert (cc, mode) == (str(tmp_path / "lvm-bin" / "linux-cc"), "call")
    assert os.path.realpath(cc) == str(LINUX_CC)
    variables, _ = build.compilers("call", True, "0" * 64, tmp_path)      # again: replaced
    assert os.path.realpath(variables["CC"].split()[0]) == str(LINUX_CC)
    # linux-cc finds its helpers next to itself, not next to the link
    assert 'here=$(dirname "$(readlink -f "$0")")' in LINUX_CC.read_text()
