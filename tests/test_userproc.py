"""User code in a process of its own (-lvm-userproc on, runtime/host/userproc.c):
the process never outlives the monitor, whichever way the monitor ends, and its
death is reported.  (What it runs is checked by every differential kernel with
user code; the attacks from user code both ways by test_hardening.)"""
import os
import signal
import subprocess
import time

import pytest

from test_kernels import OUT, built, lvm_argv  # noqa: F401  (fixture)

MODES = ["call", "trap"]


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


def alive(pid):
    """Running or stopped: not gone, not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


ASPACES = 3


def spinning(mode):
    """lvm running the hostile kernel's user program that loops for ever, with a user
    process for each of ASPACES address spaces (-lvm-aspaces); its pid and the user
    process that runs the program (the first: paging is off), once it runs."""
    p = subprocess.Popen(lvm_argv(OUT / mode / "hostile.elf", "-lvm-userproc", "on", "-lvm-aspaces",
                                  str(ASPACES), "-append", "user-spin"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = b""
    try:
        while b"user read 5" not in line:
            line = p.stdout.readline()
            assert line, p.stderr.read()
        kids = children(p.pid)
        assert len(kids) == ASPACES, kids
    except BaseException:
        p.kill()                        # a failed test leaves no guest spinning
        raise
    p.kids = kids
    return p, kids[0]


def gone_soon(pid, seconds=5.0):
    end = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    return not alive(pid)


@pytest.mark.parametrize("mode", MODES)
def test_monitor_killed_leaves_no_process(built, mode):
    p, kid = spinning(mode)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    for k in p.kids:
        assert gone_soon(k), "lvm's user process %d outlived the monitor" % k


@pytest.mark.parametrize("mode", MODES)
def test_monitor_terminated_leaves_no_process(built, mode):
    p, kid = spinning(mode)
    os.kill(p.pid, signal.SIGTERM)
    p.wait(timeout=10)
    assert all(gone_soon(k) for k in p.kids)


@pytest.mark.parametrize("mode", MODES)
def test_user_process_killed_is_reported(built, mode):
    p, kid = spinning(mode)
    os.kill(kid, signal.SIGKILL)
    status = p.wait(timeout=10)
    err = p.stderr.read()
    assert status == 70, err
    assert b"lvm's user process (pid %d) was killed by signal 9" % kid in err, err
    assert b"internal error" not in err


@pytest.mark.parametrize("mode", MODES)
def test_guest_exit_leaves_no_process(built, mode):
    p = subprocess.Popen(lvm_argv(OUT / mode / "hostile.elf", "-lvm-userproc", "on", "-append",
                                  "user-kernel"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    out, kids = b"", []
    for line in iter(p.stdout.readline, b""):   # (communicate() would skip what is buffered)
        out += line
        kids = children(p.pid) or kids
    p.wait(timeout=30)
    assert p.returncode == 1 and b"done" in out, p.stderr.read()
    assert kids and all(gone_soon(k) for k in kids)


def test_option_is_checked(built):
    r = subprocess.run(lvm_argv(OUT / "call" / "hello.elf", "-lvm-userproc", "maybe"),
                       capture_output=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and b"-lvm-userproc maybe: expected on or off" in r.stderr
    for bad in ("0", "17", "x"):
        r = subprocess.run(lvm_argv(OUT / "call" / "hello.elf", "-lvm-aspaces", bad),
                           capture_output=True, stdin=subprocess.DEVNULL)
        assert r.returncode == 2, r.stderr
        assert b"-lvm-aspaces %s: expected a number of address spaces from 1 to 16" % bad.encode() in r.stderr
    r = subprocess.run(lvm_argv(OUT / "call" / "hello.elf"), capture_output=True,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, LVM_ASPACES="99"))
    assert r.returncode == 2 and b"LVM_ASPACES=99: expected" in r.stderr, r.stderr


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["cow", "usermem", "userlimit"])
def test_a_full_operation_queue_loses_nothing(built, name, mode, monkeypatch):
    # A queue of one operation (LVM_USERPROC_OPS): a handoff with more overflows
    # (counted: user_resets), the user process drops its view and refills it; LDT
    # writes stay queued.  The transcript must still be QEMU's.
    import re
    from test_kernels import lvm, reference
    monkeypatch.setenv("LVM_USERPROC_OPS", "1")
    monkeypatch.setenv("LVM_STATS", "1")
    want_status, want = reference(name)
    status, got, err = lvm(OUT / mode / (name + ".elf"))
    assert (status, got) == (want_status, want), err
    resets = re.search(rb"user_resets (\d+)", err)
    assert resets and int(resets.group(1)) > 0, err


def cpus_allowed(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                return line.split()[1]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="placement needs two CPUs")
@pytest.mark.parametrize("pin", ["", "0"])
def test_user_processes_share_a_cpu_apart_from_the_monitor(built, pin, monkeypatch):
    """The monitor on one CPU, every user process on one other (they run one at a
    time; the one that parks wakes the next on its own CPU); LVM_PIN=0 leaves all
    of them where the host puts them."""
    if pin:
        monkeypatch.setenv("LVM_PIN", pin)
    else:
        monkeypatch.delenv("LVM_PIN", raising=False)
    everywhere = cpus_allowed(os.getpid())
    p, kid = spinning("call")
    try:
        monitor, kids = cpus_allowed(p.pid), {cpus_allowed(k) for k in p.kids}
    finally:
        p.kill()
        p.wait(timeout=10)
    if pin == "0":
        assert monitor == everywhere and kids == {everywhere}
    else:
        assert len(kids) == 1 and kids != {monitor}, (monitor, kids)
        assert monitor.isdigit() and kids.pop().isdigit()
