"""Guest code trying to leave the guest (tests/kernels/escape): from user code and
from kernel code, a far jump, far call, iret and far return to the host's 64-bit
selector 0x33 followed by host system calls (mkdir, write, execve of /bin/sh,
exit); the host's i386 system call numbers through int $0x80 and sysenter; each
host selector in DS; and, from 64-bit code, a read, a write and a jump at every
range of the address space guest code runs in, but guest RAM.

Isolated (-lvm-isolate), none of them reaches the host: every system call guest
code makes stops its process before it runs (a seccomp filter that traces them
all, with the monitor as the only tracer), is reported, and ends the run, and the
effects the test looks for (a directory made, a line printed, a shell run) never
happen; each read or write of lvm's ranges is a fault reported as the guest's
error, and the ranges it may read (its own vCPU page, the signal stack, the stub,
the queue) hold nothing of the monitor's.  In-process, the suite shows what
succeeds: the far jump and the host system calls the monitor's allowlist allows
(write; without the allowlist, a shell: the README's Security model), and reads
and writes of the monitor's own memory."""
import os
import re
import signal
import subprocess
import time

import pytest

from test_kernels import OUT, built, lvm_argv  # noqa: F401  (fixture)
from test_userproc import children

MODES = ["call", "trap"]
WHO = ["user", "kernel"]
FAR = ["ljmp", "lcall", "iret", "lret"]
GUEST_RAM = "lvm-guest-ram"


def argv(mode, case, isolated):
    # One layout from run to run (the ranges of a spinning run are probed by the
    # next runs): setarch -R turns address-space randomization off.
    extra = ["-lvm-isolate"] if isolated else ["-lvm-userproc", "off"]
    return ["setarch", "-R"] + lvm_argv(OUT / mode / "escape.elf", *extra, "-append", case)


def run(mode, case, isolated, cwd, env=None):
    r = subprocess.run(argv(mode, case, isolated), cwd=cwd, capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
    lines = r.stdout.decode(errors="replace").splitlines()
    assert lines[:1] == ["case " + case], (r.stdout, r.stderr)
    return r.returncode, lines[1:], r.stderr.decode(errors="replace")


def made(cwd):
    return sorted(n for n in os.listdir(cwd) if n.startswith("lvm-"))


def host_call_report(err, number):
    return ("lvm: guest error: guest code made a host system call (number %d, 64-bit `syscall`"
            % number) in err


@pytest.mark.parametrize("how", FAR)
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("mode", MODES)
def test_far_transfer_to_64bit_code_makes_no_host_call_isolated(built, mode, who, how, tmp_path):
    status, lines, err = run(mode, who + "." + how, True, tmp_path)
    assert status == 4, (lines, err)
    assert host_call_report(err, 1), err          # the first one, write: refused, reported
    assert "ESCAPED" not in lines and "SHELL" not in lines, lines
    assert made(tmp_path) == []


@pytest.mark.parametrize("how", FAR)
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("mode", MODES)
def test_far_transfer_to_64bit_code_in_process_meets_only_the_allowlist(built, mode, who, how,
                                                                        tmp_path):
    # The documented limit of the in-process modes: guest code makes host system
    # calls.  The monitor's allowlist lets the write to its stdout through and
    # refuses mkdir (SIGSYS: the guest's error); without it, guest code runs a shell.
    status, lines, err = run(mode, who + "." + how, False, tmp_path)
    assert (status, lines[-1:]) == (4, ["ESCAPED"]), (lines, err)
    assert re.search(r"made host system call 83 at 0x[0-9a-f]+, which the monitor's seccomp "
                     r"allowlist refused", err), err
    assert made(tmp_path) == []
    status, lines, err = run(mode, who + "." + how, False, tmp_path, env={"LVM_ALLOWLIST": "off"})
    assert (status, lines[-2:]) == (0, ["ESCAPED", "SHELL"]), (lines, err)
    assert made(tmp_path) == ["lvm-escaped", "lvm-shell"]


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("mode", MODES)
def test_host_i386_numbers_are_the_guests_system_calls(built, mode, who, isolated, tmp_path):
    # int $0x80 reaches the guest kernel's IDT from either privilege level;
    # sysenter is the guest's, which set no SYSENTER_CS: #GP.  Nothing of the host's.
    cpl = 3 if who == "user" else 0
    back = "back in 32-bit code: 0" if who == "user" else "back in the kernel: 0"
    status, lines, err = run(mode, who + ".int80", isolated, tmp_path)
    assert status == 1, (lines, err)
    assert [l for l in lines if l != "entering user mode"] == [
        "guest system call %d at cpl %d" % (n, cpl) for n in (39, 4, 11, 1)] + [back, "done"], err
    status, lines, err = run(mode, who + ".sysenter", isolated, tmp_path)
    assert status == 1, (lines, err)
    assert [l for l in lines if l != "entering user mode"] == [
        "#GP err 0 at cpl %d" % cpl] * 2 + [back, "done"], err
    assert made(tmp_path) == []


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])
@pytest.mark.parametrize("mode", MODES)
def test_host_selectors_do_not_reach_the_kernel(built, mode, isolated, tmp_path):
    status, lines, err = run(mode, "user.sels", isolated, tmp_path)
    assert status == 1, (lines, err)
    assert lines == ["entering user mode"] + ["#PF cr2 c0000000 err 5 at cpl 3",
                                              "#PF cr2 c0000004 err 7 at cpl 3"] * 4 + [
        "back in 32-bit code: 0", "done"], err


# --- every range of the address space guest code runs in ---------------------------

def maps(pid):
    """(start, end, perms, path) of each range but guest RAM's."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            path = fields[5] if len(fields) > 5 else ""
            if GUEST_RAM not in path:
                out.append((lo, hi, fields[1], path))
    return out


def layout(mode, isolated, tmp_path):
    """The ranges of the processes running guest code, while it spins: in-process
    the monitor's, both for kernel and user code; isolated the kernel process's
    (the one with the vCPU page) and the user process's."""
    p = subprocess.Popen(argv(mode, "user.spin", isolated), cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        line = b""
        while b"back in 32-bit code: 5" not in line:
            line = p.stdout.readline()
            assert line, p.stderr.read()
        pid = p.pid                                   # (setarch and lvm exec the monitor)
        with open("/proc/%d/status" % pid) as f:        # the monitor: its two filters
            assert re.search(r"^Seccomp_filters:\s+2$", f.read(), re.M)
        if not isolated:
            return {"user": maps(pid), "kernel": maps(pid)}
        kids = children(pid)
        assert len(kids) == 2, kids
        views = [maps(k) for k in kids]
        kernel = [v for v in views if any(lo == 0xfffff000 for lo, _, _, _ in v)]
        user = [v for v in views if not any(lo == 0xfffff000 for lo, _, _, _ in v)]
        assert len(kernel) == len(user) == 1, views
        for k in kids:                             # the audit: no system call, no file
            with open("/proc/%d/status" % k) as f:
                assert re.search(r"^Seccomp:\s+2$", f.read(), re.M)
            assert os.listdir("/proc/%d/fd" % k) == []
        return {"user": user[0], "kernel": kernel[0]}
    finally:
        p.kill()
        p.wait()


@pytest.fixture(scope="module")
def layouts(built, tmp_path_factory):
    return {(m, i): layout(m, i, tmp_path_factory.mktemp("layout")) for m in MODES for i in (False, True)}


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("mode", MODES)
def test_isolated_process_holds_only_lvms_small_parts(layouts, mode, who):
    # Beside guest RAM: the stub (r-x, private), the queue (read-only), the signal
    # stack, the vCPU page (the kernel's process), [vsyscall]; no [vdso], no heap,
    # no stack, no file of the monitor's.
    ranges = layouts[(mode, True)][who]
    perms = sorted(p for _, _, p, _ in ranges)
    want = ["--xp", "r--s", "r-xp", "rw-s"] + (["rw-s"] if who == "kernel" else [])
    assert perms == sorted(want), ranges
    assert [path for _, _, _, path in ranges if path.startswith("[")] == ["[vsyscall]"], ranges


def probe_cases(layouts, isolated):
    for mode in MODES:
        for who in WHO:
            for lo, hi, perms, path in layouts[(mode, isolated)][who]:
                yield mode, who, lo, perms, path


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("who", WHO)
def test_isolated_reads_writes_and_jumps_at_lvms_ranges(layouts, mode, who, tmp_path):
    # Each attempt either faults (the guest's error, reported: status 4) or, for
    # the guest's own ranges (vCPU page, signal stack: writable; the stub and the
    # queue: readable), reads or writes what is the guest's anyway.  A jump never
    # runs anything: into the stub, with a forged request, its system call is refused.
    for lo, hi, perms, path in layouts[(mode, True)][who]:
        for how in ("read", "write", "jump"):
            case = "%s.%s.%x" % (who, how, lo)
            status, lines, err = run(mode, case, True, tmp_path)
            allowed = {"read": "r", "write": "w", "jump": None}[how]
            if allowed and allowed in perms:
                assert status == 1 and re.match(r"back in (32-bit code|the kernel): 1[0-9a-f]{2}$",
                                                lines[-2]), (case, perms, lines, err)
                continue
            assert status == 4, (case, perms, lines, err)
            assert "lvm: guest error: guest code" in err and "internal error" not in err, (case, err)
            if how == "jump" and perms == "r-xp":      # the stub's system call
                assert host_call_report(err, 83), (case, err)
            elif how == "jump" and path == "[vsyscall]":   # the host's emulated gettimeofday
                assert host_call_report(err, 96), (case, err)
            assert made(tmp_path) == [], case


@pytest.mark.parametrize("mode", MODES)
def test_in_process_guest_reads_and_writes_the_monitors_memory(layouts, mode, tmp_path):
    # In-process, 64-bit guest code reads every readable range of the monitor's
    # (its code, data, heap, stack, libraries) and writes every writable one.
    # Writes put back the byte read; [vvar] and [vsyscall] are left out (reading
    # vvar's pages can fault on some hosts, vsyscall is execute-only).
    tried = 0
    for lo, hi, perms, path in layouts[(mode, False)]["user"]:
        if path in ("[vvar]", "[vsyscall]", "[vvar_vclock]") or "r" not in perms:
            continue
        how = "write" if "w" in perms else "read"
        case = "user.%s.%x" % (how, lo)
        status, lines, err = run(mode, case, False, tmp_path)
        assert status == 1 and re.match(r"back in 32-bit code: 1[0-9a-f]{2}$", lines[-2]), (
            case, perms, path, lines, err)
        tried += 1
    assert tried >= 10
