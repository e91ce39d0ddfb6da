"""Linux i386 (Debian's linux-source, `make linux`) under lvm, against QEMU.

Each kernel boots with the project's initramfs (scripts/linux-initramfs.py:
busybox-static from Debian's i386 package as /init's shell) plus tests/linux/ as
/lvmtest, and runs one script there (`lvm.run=`, patches/linux/init).  The script's
`T ...` lines are the transcript: lvm's call and trap kernels must print the same
lines as the native kernel under qemu-system-i386, and end the same way.

`make test` builds the kernels first (`make linux`: ~20 min cold on 2 cores, seconds
when cached).  Without them these tests fail, naming the command: a missing kernel
is a missing build step, not a reason to skip.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from test_kernels import LVM, built  # noqa: F401  (fixture)

OUT = ROOT / "out" / "linux"
MODES = ["call", "trap"]
APPEND = "console=ttyS0 panic=-1"
BOOT_TIMEOUT = 600


def kernel(mode):
    path = OUT / mode / "bzImage"
    if not path.is_file():
        pytest.fail("%s missing: run `make linux` (make test does)" % path)
    return path


@pytest.fixture(scope="module")
def initramfs(tmp_path_factory):
    d = tmp_path_factory.mktemp("linux")
    out = d / "initramfs.cpio.gz"
    adds = ["--add", "%s=lvmtest" % (ROOT / "tests" / "linux")]
    for prog in ("tls", "userds", "ldt", "sparse", "cpuid"):  # static i386 glibc, as Debian's programs use it
        subprocess.run(["gcc", "-m32", "-static", "-O2", "-pthread", "-o", str(d / prog),
                        str(ROOT / "tests" / "linux" / "src" / (prog + ".c"))], check=True)
        adds += ["--add", "%s=lvmtest/%s" % (d / prog, prog)]
    subprocess.run([sys.executable, str(ROOT / "scripts" / "linux-initramfs.py"), "-o", str(out),
                    *adds], check=True)
    return out


def disk(tmp_path):
    """A 4 MiB ext2 image made on the host, holding /hello."""
    src = tmp_path / "disk"
    src.mkdir()
    (src / "hello").write_text("hello from the host\n")
    img = tmp_path / "disk.img"
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-d", str(src), str(img), "4M"],
                   check=True, stdout=subprocess.DEVNULL)
    return img


def run_lvm(mode, initramfs, script, hda=None, extra=(), memory="256M", append="", env=None):
    argv = [str(LVM), "run", str(kernel(mode)), *extra, "-m", memory, "-initrd", str(initramfs),
            "-append", "%s lvm.run=/lvmtest/%s %s" % (APPEND, script, append)]
    if hda:
        argv += ["-hda", str(hda)]
    r = subprocess.run(argv, capture_output=True, timeout=BOOT_TIMEOUT, stdin=subprocess.DEVNULL, env=env)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def run_qemu(initramfs, script, hda=None, memory="256M", append=""):
    argv = ["qemu-system-i386", "-m", memory, "-nographic", "-no-reboot", "-monitor", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            "-kernel", str(kernel("native")), "-initrd", str(initramfs),
            "-append", "%s lvm.run=/lvmtest/%s %s" % (APPEND, script, append)]
    if hda:
        argv += ["-drive", "file=%s,format=raw,if=ide,index=0" % hda]
    r = subprocess.run(argv, capture_output=True, timeout=BOOT_TIMEOUT, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def transcript(out):
    return [line.rstrip("\r") for line in out.splitlines() if line.startswith("T ")]


def debugfs_cat(img, path):
    r = subprocess.run(["debugfs", "-R", "cat " + path, str(img)], capture_output=True, text=True)
    return r.stdout


@pytest.fixture(scope="module")
def qemu_session(initramfs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qemu")
    img = disk(tmp)
    status, out, err = run_qemu(initramfs, "session.sh", img)
    assert status == 0 and "lvm-init: /lvmtest/session.sh exited with status 0" in out, (status, out[-3000:], err)
    return transcript(out), debugfs_cat(img, "/out")


@pytest.mark.parametrize("mode, extra", [("call", ()), ("trap", ()), ("call", ("-lvm-userproc", "off")),
                                         ("call", ("--isolate",)), ("trap", ("--isolate",))],
                         ids=["call", "trap", "call-in-process", "call-isolated", "trap-isolated"])
def test_shell_session_matches_qemu(built, initramfs, qemu_session, tmp_path, mode, extra):
    img = disk(tmp_path)
    status, out, err = run_lvm(mode, initramfs, "session.sh", img, extra)
    assert status == 0 and "lvm: guest reset" in err, (status, out[-3000:], err[-2000:])
    assert "lvm-init: /lvmtest/session.sh exited with status 0" in out, out[-3000:]
    expected, written = qemu_session
    assert transcript(out) == expected, out[-4000:]
    assert "T dmesg clean" in expected, expected
    # what the guest wrote on lvm's IDE disk, read on the host after lvm exited
    assert debugfs_cat(img, "/out") == written == "".join("%d\n" % i for i in range(1, 5001))


@pytest.fixture(scope="module")
def qemu_tls(initramfs):
    status, out, err = run_qemu(initramfs, "tls.sh")
    assert status == 0 and "T tls exited 0" in out and "T userds exited 0" in out, (status, out[-3000:], err)
    assert "T ldt exited 0" in out and "T modify_ldt entry 1: 0, entry 3: 0" in out, out[-3000:]
    return transcript(out)


@pytest.mark.parametrize("mode, extra", [("call", ()), ("trap", ()), ("call", ("--isolate",)),
                                         ("trap", ("--isolate",)), ("call", ("-lvm-userproc", "off"))],
                         ids=["call", "trap", "call-isolated", "trap-isolated", "call-in-process"])
def test_tls_threads_signals_ldt_match_qemu(built, initramfs, qemu_tls, mode, extra):
    status, out, err = run_lvm(mode, initramfs, "tls.sh", extra=extra)
    assert status == 0, (status, out[-3000:], err[-2000:])
    assert transcript(out) == qemu_tls, out[-3000:]
    assert "L read at 4096 of a 4096-byte segment: SIGSEGV" in out, out[-3000:]   # as the CPU
    assert "T set_thread_area 0 entry 10" in qemu_tls         # glibc took 9 (patch 0001)
    # user code's CPUID traps and gets lvm's model: no vector state the kernel does
    # not save (the host's answer said XSAVE, OSXSAVE, AVX, AVX2, AVX-512F: cpuid.c)
    assert "T cpuid: xsave 0 osxsave 0 avx 0" in qemu_tls and "T libgcc: avx 0 avx2 0" in qemu_tls


def sparse_size():
    """(MiB of every-other-page memory, guest memory) that need more host mappings
    than vm.max_map_count allows a process: one per touched page, plus 8192."""
    bound = int(open("/proc/sys/vm/max_map_count").read())
    mib = -(-(bound + 8192) * 8192 // (1 << 20))
    if mib > 2560:
        pytest.skip("vm.max_map_count is %d here: more pages than a 3 GiB guest has" % bound)
    return mib, "%dM" % (mib + 320)


@pytest.fixture(scope="module")
def qemu_sparse(initramfs):
    mib, memory = sparse_size()
    status, out, err = run_qemu(initramfs, "sparse.sh", memory=memory, append="lvm.sparse_mib=%d" % mib)
    lines = transcript(out)
    assert status == 0 and "T sparse exited 0" in lines, (status, out[-3000:], err)
    assert "T sparse pass 2: %d pages, 0 wrong (first -1)" % (mib * 128) in lines, lines
    return lines


@pytest.mark.parametrize("mode, extra", [("call", ()), ("trap", ()), ("call", ("-lvm-userproc", "off")),
                                         ("call", ("--isolate",))],
                         ids=["call", "trap", "call-in-process", "call-isolated"])
def test_more_scattered_pages_than_the_host_maps_match_qemu(built, initramfs, qemu_sparse, mode, extra):
    """Past vm.max_map_count a view is dropped whole and refilled (userchild.c in a
    user process, revoke.c's local_view_drop in the monitor, isoproc.c's
    map_bound_met in an isolated one), counted in LVM_STATS: before, lvm's user
    process died (exit 70), and in-process mode's revocation and an isolated
    process's queue stopped lvm with an internal error."""
    mib, memory = sparse_size()
    status, out, err = run_lvm(mode, initramfs, "sparse.sh", extra=extra, memory=memory,
                               append="lvm.sparse_mib=%d" % mib, env=dict(os.environ, LVM_STATS="1"))
    assert status == 0, (status, out[-3000:], err[-2000:])
    assert transcript(out) == qemu_sparse, out[-3000:]
    counter = "kernel_resets" if "-lvm-userproc" in extra else "user_resets"
    resets = re.search(r"%s (\d+)" % counter, err)
    assert resets and int(resets.group(1)) > 0, err[-2000:]


@pytest.mark.parametrize("mode", MODES)
def test_panic_ends_lvm_with_status_3(built, initramfs, mode):
    status, out, err = run_lvm(mode, initramfs, "panic.sh")
    assert status == 3, (status, out[-3000:], err[-2000:])
    assert "T panicking" in out and "T still alive" not in out
    assert "Kernel panic - not syncing" in out, out[-3000:]


def test_panic_ends_qemu_the_same_way(initramfs):
    status, out, err = run_qemu(initramfs, "panic.sh")
    assert status == 3 and "Kernel panic - not syncing" in out, (status, out[-3000:], err)


def test_tools():
    for tool in ("mke2fs", "debugfs", "qemu-system-i386"):
        assert shutil.which(tool), "%s missing: scripts/setup.sh installs it" % tool


def test_a_bzimage_not_built_with_lvm_cc_is_refused(built):
    r = subprocess.run([str(LVM), "run", str(kernel("native")), "-m", "256M"], capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL, text=True)
    assert r.returncode == 3 and "a Linux bzImage not built with lvm-cc" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("mode", MODES)
def test_lvm_bzimages_pass_the_preflight(mode):
    from lvm.runner import preflight
    assert preflight(str(kernel(mode))) is None


def test_demo_runs_piped_commands(built):
    """`make demo`'s last step from a pipe: the commands run in the guest, then lvm ends."""
    if not (OUT / "initramfs.cpio.gz").is_file():
        pytest.fail("out/linux/initramfs.cpio.gz missing: run `make initramfs` (make test does)")
    kernel("call")
    r = subprocess.run([str(ROOT / "scripts" / "linux-demo.sh")], input="echo T demo $((6 * 7))\nuname -m",
                       capture_output=True, text=True, timeout=BOOT_TIMEOUT)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    assert "T demo 42" in r.stdout and "i686" in r.stdout, r.stdout[-2000:]


def test_make_demo_from_a_pipe(built):
    """The README's `make demo`, commands on stdin: they reach the Linux guest (the
    sample kernel it runs before took them off stdin once: its console reads it)."""
    kernel("call")
    r = subprocess.run(["make", "--no-print-directory", "demo"], cwd=ROOT, input="echo T demo $((6 * 7))\n",
                       capture_output=True, text=True, timeout=BOOT_TIMEOUT + 300)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    assert "T demo 42" in r.stdout, r.stdout[-3000:]


# -- stress-ng: Debian's dynamically linked i386 binary with its libraries --------------
@pytest.fixture(scope="module")
def stress_initramfs(tmp_path_factory):
    out = tmp_path_factory.mktemp("stress") / "initramfs.cpio.gz"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "linux-initramfs.py"), "-o", str(out),
                    "--stress-ng", "--add", "%s=lvmtest" % (ROOT / "tests" / "linux")], check=True)
    return out


@pytest.fixture(scope="module")
def qemu_stress(stress_initramfs):
    status, out, err = run_qemu(stress_initramfs, "stress.sh")
    lines = transcript(out)
    assert status == 0 and lines and lines[-1].startswith("T stress-ng ran"), (status, out[-3000:], err)
    return lines


@pytest.mark.parametrize("mode", MODES)
def test_stress_ng_matches_qemu(built, stress_initramfs, qemu_stress, mode):
    status, out, err = run_lvm(mode, stress_initramfs, "stress.sh")
    assert status == 0, (status, out[-3000:], err[-2000:])
    lines = transcript(out)
    passed = [l for l in lines if l.endswith(": pass")]
    print("stress-ng %s: %d of %d stressors pass (QEMU: %d)" % (
        mode, len(passed), len(lines) - 1, sum(l.endswith(": pass") for l in qemu_stress)))
    assert lines == qemu_stress, out[-4000:]
    assert len(passed) >= 25 and len(passed) == len(lines) - 1, lines


# -- Linux's own x86 selftests (tools/testing/selftests/x86), the 32-bit builds -----------
# What passes under QEMU and not under lvm, and why (README, "Linux under lvm").  Each
# entry must still fail under lvm: one that passes is to be taken off the list.
SELFTEST_DIFFERENCES = {
    "ldt_gdt_32": "user code's lar/lsl read the host's descriptor tables, not the guest's "
                  "(5 checks of a TLS entry in the GDT: 'invalid but should be valid')",
    "sigreturn_32": "user code reads the host selectors its CS and SS run on and hands them "
                    "to sigreturn; Linux's exit path sees an LDT stack segment, takes its "
                    "espfix path, and its iret fails (SIGILL)",
}


def selftest_results(out):
    import re
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^X (\S+) rc=(\d+)", out, re.M)}


@pytest.fixture(scope="module")
def selftest_initramfs(tmp_path_factory):
    d = tmp_path_factory.mktemp("selftests")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "linux-selftests.py"), "-o", str(d / "x86")],
                   check=True)
    out = d / "initramfs.cpio.gz"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "linux-initramfs.py"), "-o", str(out),
                    "--add", "%s=lvmtest" % (ROOT / "tests" / "linux"),
                    "--add", "%s=lvmtest/x86" % (d / "x86")], check=True)
    return out


@pytest.fixture(scope="module")
def qemu_selftests(selftest_initramfs):
    status, out, err = run_qemu(selftest_initramfs, "selftests.sh")
    results = selftest_results(out)
    assert status == 0 and len(results) >= 20, (status, out[-3000:], err)
    return results


@pytest.mark.parametrize("mode", MODES)
def test_x86_selftests_match_qemu(built, selftest_initramfs, qemu_selftests, mode, capsys):
    status, out, err = run_lvm(mode, selftest_initramfs, "selftests.sh")
    assert status == 0, (status, out[-3000:], err[-2000:])
    results = selftest_results(out)
    assert set(results) == set(qemu_selftests), out[-3000:]
    qemu_pass = sorted(n for n, rc in qemu_selftests.items() if rc == 0)
    lvm_pass = sorted(n for n, rc in results.items() if rc == 0)
    with capsys.disabled():
        print("\nx86 selftests %s: %d of %d pass under lvm, %d under QEMU; different: %s" % (
            mode, len(lvm_pass), len(results), len(qemu_pass),
            ", ".join(sorted(set(qemu_pass) - set(lvm_pass))) or "none"))
    unexpected = [n for n in qemu_pass if n not in lvm_pass and n not in SELFTEST_DIFFERENCES]
    assert not unexpected, (unexpected, out[-6000:])
    now_passing = [n for n in SELFTEST_DIFFERENCES if n in lvm_pass]
    assert not now_passing, "now pass under lvm: take them off SELFTEST_DIFFERENCES and the README"
