"""Isolated mode's processes (runtime/host/isolate.c) never outlive the monitor
and never leave it hanging: killed from outside, either is reported and the
monitor exits non-zero with the terminal restored; stopped from outside, the
guest goes on; the monitor killed with SIGKILL or SIGTERM, both go with it,
whether the guest spins in user mode or in its kernel with interrupts off.
(Guest code flooding the monitor with events, or spinning with interrupts off,
cannot keep Ctrl-A x from working: test_devices' floods run isolated too.)"""
import fcntl
import os
import pty
import signal
import subprocess
import termios
import time

import pytest

from test_kernels import OUT, built, lvm_argv  # noqa: F401  (fixture)
from test_userproc import alive, children, gone_soon

MODES = ["call", "trap"]
SPIN = ["user", "kernel"]


def has_vcpu_page(pid):
    with open("/proc/%d/maps" % pid) as f:
        return any(line.startswith("fffff000-") for line in f)


def spinning(mode, who, tty=None):
    """lvm isolated, its guest spinning (the escape kernel's user or kernel loop);
    the monitor's process and its two processes by role."""
    out = tty if tty is not None else subprocess.PIPE
    p = subprocess.Popen(lvm_argv(OUT / mode / "escape.elf", "-lvm-isolate", "-append", who + ".spin"),
                         stdout=out, stderr=subprocess.PIPE, stdin=tty if tty is not None else subprocess.DEVNULL)
    return p


def wait_spinning(p, read):
    buf = b""
    deadline = time.monotonic() + 20
    while b"back in 32-bit code: 5" not in buf and time.monotonic() < deadline:
        buf += read()
    assert b"back in 32-bit code: 5" in buf, (buf, p.poll())
    kids = children(p.pid)
    assert len(kids) == 2, kids
    kernel = [k for k in kids if has_vcpu_page(k)]
    assert len(kernel) == 1, kids
    return {"kernel": kernel[0], "user": [k for k in kids if k != kernel[0]][0]}


def pipe_reader(p):
    return lambda: p.stdout.readline() or b"\0"


def pty_reader(master):
    def read():
        import select
        if select.select([master], [], [], 0.1)[0]:
            try:
                return os.read(master, 4096)
            except OSError:
                return b""
        return b""
    return read


@pytest.mark.parametrize("victim", ["kernel", "user"])
@pytest.mark.parametrize("mode", MODES)
def test_process_killed_from_outside_is_reported(built, mode, victim):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave), fcntl.fcntl(slave, fcntl.F_GETFL)
    p = spinning(mode, "user", tty=slave)
    try:
        procs = wait_spinning(p, pty_reader(master))
        assert termios.tcgetattr(slave) != before[0]         # raw while it runs
        os.kill(procs[victim], signal.SIGKILL)
        status = p.wait(timeout=10)
        err = p.stderr.read()
        assert status == 70, err
        assert b"lvm's isolated %s process (pid %d) was killed by signal 9" % (
            victim.encode(), procs[victim]) in err, err
        assert (termios.tcgetattr(slave), fcntl.fcntl(slave, fcntl.F_GETFL)) == before
        assert all(gone_soon(k) for k in procs.values())
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("mode", MODES)
def test_process_stopped_from_outside_goes_on(built, mode):
    # SIGSTOP, then SIGCONT, to the process running the guest: a ptrace stop the
    # monitor lets go; the guest is still running when SIGKILL ends the monitor.
    p = spinning(mode, "user")
    try:
        procs = wait_spinning(p, pipe_reader(p))
        os.kill(procs["user"], signal.SIGSTOP)
        time.sleep(0.3)
        os.kill(procs["user"], signal.SIGCONT)
        time.sleep(0.3)
        assert p.poll() is None, p.stderr.read()
        with open("/proc/%d/stat" % procs["user"]) as f:
            assert f.read().rsplit(")", 1)[1].split()[0] in ("R", "S", "t"), "not running"
    finally:
        p.kill()
        p.wait()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("who", SPIN)
@pytest.mark.parametrize("mode", MODES)
def test_monitor_killed_leaves_no_process(built, mode, who, sig):
    p = spinning(mode, who)
    procs = wait_spinning(p, pipe_reader(p))
    os.kill(p.pid, sig)
    p.wait(timeout=10)
    assert p.returncode == -sig
    for role, pid in procs.items():
        assert gone_soon(pid), "lvm's isolated %s process %d outlived the monitor" % (role, pid)
