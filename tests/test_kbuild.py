"""Linux's Kbuild through lvm-cc (Debian's linux-source-6.1, ARCH=i386 tinyconfig).

lvm-cc must be a drop-in for gcc in a real kernel build, and the first place that can
go wrong is Kbuild's probing: cc-option, as-instr, ld-option and friends compile and
assemble snippets and pick flags and Kconfig symbols from the answers.  Through
lvm-cc every probe that assembles goes through lvm-as, so a probe that lvm-as answers
differently (an error the real `as` would not give, a diagnostic on stderr) changes
the configuration silently.  These tests build the same tree out of tree (O=) twice,
with CC=gcc and CC=lvm-cc, and compare what the probes decided:

  * `make tinyconfig`: the .config files are identical;
  * `make prepare`: include/generated/asm-offsets.h (and bounds.h) are identical;
  * a handful of real kernel objects with interesting instructions (port I/O, IF
    and EFLAGS, control and segment registers, descriptor tables, an .S file): the
    gcc-built object has findings in `lvm check`, the lvm-cc-built one has none and
    calls into the lvm runtime.

The source comes from scripts/linux-source.sh (cached under ~/.cache/lvm; ~140 MB
download the first time).  The tests skip only when that package cannot be
downloaded (no apt, no network, no package); any other failure fails.  The gcc
reference build is cached in ~/.cache/lvm/kbuild/<linux version>-<toolchain hash>/gcc
(it depends only on the tree and the host toolchain); the lvm-cc build is always
done afresh, since it is what is under test.  Progress goes to the terminal (the
Linux steps take about a minute with the source cached, on 2 cores).

Deselect with `-m "not kbuild"` when iterating on something else.
"""
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.kbuild

JOBS = "-j2"
# Objects with interesting instructions that lvm-cc builds cleanly, with what each
# exercises.  Each must have `lvm check` findings when built by plain gcc.
OBJECTS = {
    "arch/x86/kernel/irqflags.o": "an .S file: pushf in native_save_fl",
    "arch/x86/kernel/i8259.o": "inb/outb, spin_lock_irqsave (pushf/cli), popf",
    "arch/x86/kernel/process_32.o": "segment registers (loadsegment/savesegment), CR0-4 reads",
    "arch/x86/kernel/cpu/common.o": "cpuid, CR4 writes, lgdt/ltr, rdmsr/wrmsr",
    "arch/x86/kernel/idt.o": "lidt",
    "arch/x86/kernel/traps.o": "sti/cli around faults, CR2, CR4, DR6/DR7",
    "arch/x86/mm/tlb.o": "CR3 writes, invlpg",
    "arch/x86/lib/msr.o": "rdmsr/wrmsr in inline asm with exception-table entries",
}
# What apt prints when the package cannot be fetched (vs. a bug in the script).
_NO_DOWNLOAD = re.compile(r"apt-get update (failed|needs root)|no package .* in the apt lists|"
                          r"apt-get download .* failed|Temporary failure|Could not resolve|"
                          r"Failed to fetch|Unable to locate package|apt-cache: not found")


# -- progress on the terminal even though pytest captures output -------------------------
class Progress:
    def __init__(self, config):
        self.capman = config.pluginmanager.getplugin("capturemanager")
        self.start = None

    def __call__(self, msg):
        first = self.start is None
        if first:
            self.start = time.monotonic()
        line = "%s[kbuild %5.1fs] %s\n" % ("\n" if first else "", time.monotonic() - self.start, msg)
        if self.capman is not None:
            with self.capman.global_and_fixture_disabled():
                sys.stderr.write(line)
                sys.stderr.flush()
        else:
            sys.stderr.write(line)


@pytest.fixture(scope="module")
def progress(request):
    return Progress(request.config)


def _make(progress, linux, out, cc, targets, log, keep_going=False, every=15.0):
    """Run Kbuild; stream its output into `log`, report on the terminal every `every` s.
    Returns (exit status, output)."""
    cmd = ["make", "-C", str(linux), "O=%s" % out, "ARCH=i386", "CC=%s" % cc, JOBS]
    cmd += ["-k"] if keep_going else []
    cmd += targets
    env = dict(os.environ, CCACHE_DISABLE="1", LC_ALL="C", KBUILD_BUILD_TIMESTAMP="@0",
               KBUILD_BUILD_USER="lvm", KBUILD_BUILD_HOST="lvm")
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):     # when run from `make test`
        env.pop(var, None)
    name = "lvm-cc" if "lvm-cc" in cc else "gcc"
    what = " ".join(targets) if len(targets) < 3 else "%d objects" % len(targets)
    progress("%s: make %s" % (name, what))
    t0 = last = time.monotonic()
    lines, latest = [], ""
    with open(log, "a") as f:
        f.write("$ %s\n" % " ".join(cmd))
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", env=env, stdin=subprocess.DEVNULL)
        for line in p.stdout:
            f.write(line)
            lines.append(line)
            if line.startswith("  ") and line[2:3].isupper():
                latest = line.strip()
            now = time.monotonic()
            if now - last >= every:
                progress("%s: %3.0fs, %d lines, %s" % (name, now - t0, len(lines), latest))
                last = now
        rc = p.wait()
    progress("%s: make %s: %s in %.1fs" % (name, what,
                                            "ok" if rc == 0 else "exit %d" % rc, time.monotonic() - t0))
    return rc, "".join(lines)


def _version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "?"


def _cache_root():
    return Path(os.environ.get("LVM_CACHE") or
                Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lvm")


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def linux(progress):
    """The kernel tree (fetched once by scripts/linux-source.sh)."""
    if not shutil.which("apt-get") and not list(_cache_root().glob("linux-*/.lvm-source-complete")):
        pytest.skip("Linux source unavailable: no apt-get here to download linux-source-6.1 "
                    "and no tree cached in %s" % _cache_root())
    progress("fetching the Linux source (scripts/linux-source.sh; ~140 MB the first time)")
    p = subprocess.Popen([str(ROOT / "scripts" / "linux-source.sh")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    err = []
    for line in p.stderr:                              # its progress, live
        err.append(line)
        progress(line.rstrip())
    out = p.stdout.read()
    rc = p.wait()
    if rc != 0:
        text = "".join(err)
        if _NO_DOWNLOAD.search(text):
            pytest.skip("Linux source package cannot be downloaded (linux-source.sh exit %d): %s"
                        % (rc, " | ".join(l.strip() for l in err[-3:])))
        pytest.fail("scripts/linux-source.sh failed (exit %d):\n%s" % (rc, text))
    tree = Path(out.strip().splitlines()[-1])
    assert (tree / "Makefile").is_file() and (tree / "arch" / "x86").is_dir(), tree
    for tool in ("make", "flex", "bison", "bc"):
        if not shutil.which(tool):
            pytest.fail("building Linux needs `%s` (scripts/setup.sh installs it)" % tool)
    progress("Linux tree: %s" % tree)
    return tree


@pytest.fixture(scope="module")
def lvm_cc():
    exe = shutil.which("lvm-cc")
    assert exe, "lvm-cc is not on PATH (run `make setup`)"
    return exe


def _build_steps(progress, linux, out, cc, log):
    """tinyconfig, then prepare; fails the test with the log's tail on error."""
    for targets in (["tinyconfig"], ["prepare"]):
        rc, text = _make(progress, linux, out, cc, targets, log)
        if rc != 0:
            pytest.fail("%s: make %s failed (exit %d); log %s:\n%s"
                        % (cc, targets[0], rc, log, "".join(text.splitlines(True)[-40:])))


@pytest.fixture(scope="module")
def ref(linux, progress):
    """O= dir built with CC=gcc: tinyconfig + prepare + OBJECTS, cached by its inputs."""
    key = hashlib.sha256("\n".join(
        [linux.name, _version(["gcc", "--version"]), _version(["as", "--version"]),
         _version(["ld", "--version"]), _version(["make", "--version"]), JOBS]
        + sorted(OBJECTS)).encode()).hexdigest()[:12]
    base = _cache_root() / "kbuild" / ("%s-%s" % (linux.name, key))
    done = base / "gcc"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (done / ".lvm-complete").is_file():
            progress("gcc reference: cached in %s" % done)
            return done
        tmp = base / "gcc.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(done, ignore_errors=True)
        tmp.mkdir()
        log = base / "gcc.log"
        log.write_text("")
        _build_steps(progress, linux, tmp, "gcc", log)
        rc, text = _make(progress, linux, tmp, "gcc", sorted(OBJECTS), log)
        if rc != 0:
            pytest.fail("gcc could not build the reference objects; log %s:\n%s"
                        % (log, "".join(text.splitlines(True)[-40:])))
        (tmp / ".lvm-complete").write_text("gcc reference for %s\n" % linux)
        tmp.rename(done)                 # only read from now on: no further make in it
        return done


@pytest.fixture(scope="module")
def lvm(linux, lvm_cc, progress, tmp_path_factory):
    """O= dir built with CC=lvm-cc, afresh: tinyconfig + prepare (objects come later)."""
    out = tmp_path_factory.mktemp("kbuild-lvm-cc")
    log = out.parent / "lvm-cc.log"
    log.write_text("")
    _build_steps(progress, linux, out, "lvm-cc", log)
    return out, log


@pytest.fixture(scope="module")
def lvm_objects(linux, lvm, progress):
    """Build OBJECTS with lvm-cc (keep going: each object's test reports its own error)."""
    out, log = lvm
    rc, text = _make(progress, linux, out, "lvm-cc", sorted(OBJECTS), log, keep_going=True)
    return out, rc, text


# -- tests ------------------------------------------------------------------------------------
def test_tinyconfig_identical(ref, lvm):
    """Kconfig's compiler probes (cc-option, as-instr, ld-option, ...) answer the same."""
    a = (ref / ".config").read_text()
    b = (lvm[0] / ".config").read_text()
    assert "CONFIG_X86_32=y" in a and "CONFIG_CC_IS_GCC=y" in a
    if a != b:
        import difflib
        diff = "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True),
                                            "gcc/.config", "lvm-cc/.config"))
        pytest.fail("tinyconfig differs through lvm-cc:\n%s" % diff)


@pytest.mark.parametrize("header", ["asm-offsets.h", "bounds.h"])
def test_generated_header_identical(ref, lvm, header):
    """prepare: the headers generated by compiling to assembly come out the same."""
    a = (ref / "include" / "generated" / header).read_text()
    b = (lvm[0] / "include" / "generated" / header).read_text()
    assert "#define" in a
    assert a == b, "include/generated/%s differs between CC=gcc and CC=lvm-cc" % header


def _lvm_check(obj):
    lvm_cmd = shutil.which("lvm")
    assert lvm_cmd, "the `lvm` command is not on PATH (run `make setup`)"
    return subprocess.run([lvm_cmd, "check", str(obj)], capture_output=True, text=True)


def _runtime_calls(obj):
    """Relocations against the lvm runtime (__lvm_*) in the object's code."""
    r = subprocess.run(["objdump", "-dr", str(obj)], capture_output=True, text=True, check=True)
    return re.findall(r"R_386_(?:PC32|PLT32)\s+(__lvm_\w+)", r.stdout)


@pytest.mark.parametrize("obj", sorted(OBJECTS))
def test_kernel_object_rewritten(ref, lvm_objects, obj):
    out, rc, text = lvm_objects
    built = out / obj
    if not built.is_file():
        # Show what make/lvm-as said about this object.
        said = [l for l in text.splitlines() if obj in l or obj.rsplit("/", 1)[1] in l]
        pytest.fail("lvm-cc did not build %s (%s):\n%s" % (obj, OBJECTS[obj], "\n".join(said[-40:])))
    native = _lvm_check(ref / obj)
    assert native.returncode != 0 and native.stdout.strip(), (
        "the gcc-built %s has no interesting instructions: a useless test object\n%s%s"
        % (obj, native.stdout, native.stderr))
    checked = _lvm_check(built)
    assert checked.returncode == 0, "lvm check on the lvm-cc-built %s:\n%s%s" % (
        obj, checked.stdout, checked.stderr)
    calls = _runtime_calls(built)
    assert calls, "%s: no calls into the lvm runtime (nothing rewritten?)" % obj
    assert not _runtime_calls(ref / obj)
