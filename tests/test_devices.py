"""The PC devices against QEMU, with what the generic loop of test_kernels.py cannot
give: input on the serial line, a wall-clock time, a reset; and the console's
terminal handling under a pseudo-terminal.

Device kernels are DEVICE_KERNELS in tests/kernels/Makefile.  Each case runs QEMU
twice (the reference: both runs must agree) and lvm in call and trap mode, the
four at once (the kernels mostly wait; the RTC kernel polls the clock for a few
seconds, and retries what a busy host can make it miss).  Input is written only
once the kernel has printed its prompt: a byte that arrives before the guest
enables the UART's FIFO is lost to the FIFO reset (on QEMU as on hardware), so
input written at start-up would race.
"""
import calendar
import fcntl
import os
import pty
import re
import select
import signal
import subprocess
import termios
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from test_kernels import OUT, TIMEOUT, built, lvm_argv, qemu_argv  # noqa: F401 (fixture)

LONG_LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCD\n"   # more than a FIFO
RTC_TIME = re.compile(rb"host time: (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\r\n")

# id: (kernel, extra options for both, [(prompt, input)...], expected status)
CASES = {
    "uart": ("uart", (), [(b"ready\r\n", b"hello\n"), (b"more\r\n", LONG_LINE)], 1),
    "rtc": ("rtc", (), [], 1),
    "rtc-cmos-20M": ("rtc", ("-m", "20", "--append", "cmos"), [], 1),
    "rtc-cmos-3G": ("rtc", ("-m", "3072", "--append", "cmos"), [], 1),
    "kbd": ("kbd", (), [], 0),
    "kbd-pulse": ("kbd", ("--append", "reset=f0"), [], 0),
    "kbd-outport": ("kbd", ("--append", "reset=d1"), [], 0),
    "kbd-port92": ("kbd", ("--append", "reset=92"), [], 0),
}


def converse(argv, script=(), timeout=TIMEOUT):
    """Run argv with a pipe on stdin; for each (prompt, data), wait until stdout has
    shown the prompt, then write data; then close stdin.  Returns status, stdout,
    stderr and the wall-clock times the run started and ended."""
    start = time.time()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = bytearray(), bytearray()
    changed = threading.Condition()

    def pump(stream, buf):
        for chunk in iter(lambda: os.read(stream.fileno(), 4096), b""):
            with changed:
                buf += chunk
                changed.notify_all()
        with changed:
            changed.notify_all()

    readers = [threading.Thread(target=pump, args=(p.stdout, out)),
               threading.Thread(target=pump, args=(p.stderr, err))]
    for t in readers:
        t.start()
    deadline = start + timeout
    try:
        seen = 0
        for prompt, data in script:
            with changed:
                while prompt not in out[seen:] and p.poll() is None and time.time() < deadline:
                    changed.wait(0.1)
                if prompt not in out[seen:]:
                    break
                seen = out.index(prompt, seen) + len(prompt)
            p.stdin.write(data)
            p.stdin.flush()
        p.stdin.close()
        p.wait(max(1, deadline - time.time()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for t in readers:
            t.join()
    return p.returncode, bytes(out), bytes(err), start, time.time()


def reference_converse(argv, script):
    """converse() for a QEMU reference run.  QEMU itself hung once here (the uart
    case, no lvm involved, at once fine on a rerun): a run that outlives the
    timeout is run once more; the two reference runs must still agree."""
    try:
        return converse(argv, script)
    except subprocess.TimeoutExpired:
        return converse(argv, script)


def masked(out):
    return RTC_TIME.sub(b"host time: (masked)\r\n", out)


_results = {}


def results(case):
    """Two QEMU runs and lvm in both modes, in-process and isolated, for a case, all at
    once (they mostly wait)."""
    if case not in _results:
        kernel, args, script, _ = CASES[case]
        jobs = {"qemu1": qemu_argv(OUT / "native" / (kernel + ".elf"), *args),
                "qemu2": qemu_argv(OUT / "native" / (kernel + ".elf"), *args),
                "call": lvm_argv(OUT / "call" / (kernel + ".elf"), *args),
                "trap": lvm_argv(OUT / "trap" / (kernel + ".elf"), *args),
                "call-isolated": lvm_argv(OUT / "call" / (kernel + ".elf"), "--isolate", *args),
                "trap-isolated": lvm_argv(OUT / "trap" / (kernel + ".elf"), "--isolate", *args)}
        with ThreadPoolExecutor(6) as pool:
            futures = {k: pool.submit(reference_converse if k.startswith("qemu") else converse, argv, script)
                       for k, argv in jobs.items()}
        _results[case] = {k: f.result() for k, f in futures.items()}
    return _results[case]


@pytest.mark.parametrize("mode", ["call", "trap", "call-isolated", "trap-isolated"])
@pytest.mark.parametrize("case", list(CASES))
def test_device_kernel_matches_qemu(built, case, mode):
    r = results(case)
    want_status = CASES[case][3]
    (q1, qout1, qerr1, *_), (q2, qout2, *_) = r["qemu1"], r["qemu2"]
    assert qout1, "QEMU printed nothing for %s: %s" % (case, qerr1.decode(errors="replace"))
    assert (q1, masked(qout1)) == (q2, masked(qout2)), "QEMU's two runs of %s differ" % case
    assert q1 == want_status, qerr1.decode(errors="replace")
    status, out, err, *_ = r[mode]
    assert masked(out).decode(errors="replace") == masked(qout1).decode(errors="replace"), \
        err.decode(errors="replace")
    assert status == want_status, err.decode(errors="replace")
    if case.startswith("kbd"):
        assert err == b"lvm: guest reset\n"


@pytest.mark.parametrize("mode", ["call", "trap", "call-isolated", "trap-isolated"])
def test_rtc_is_host_utc(built, mode):
    status, out, err, start, end = results("rtc")[mode]
    m = RTC_TIME.search(out)
    assert m, out.decode(errors="replace") + err.decode(errors="replace")
    guest = calendar.timegm(tuple(int(x) for x in m.groups()) + (0, 0, 0))
    # Printed within the run: between its start and end, to the second.
    assert int(start) - 1 <= guest <= end + 1, (start, guest, end)


# The console on a terminal: raw mode while lvm runs, the same settings afterwards
# however it ends, Ctrl-A sequences.  (The terminal's output processing is kept, as
# QEMU keeps it: the guest's "\r\n" shows as "\r\r\n".)

def spawn_on_pty(kernel="uart", mode="call", *args):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    flags = fcntl.fcntl(slave, fcntl.F_GETFL)
    p = subprocess.Popen(lvm_argv(OUT / mode / (kernel + ".elf"), *args), stdin=slave, stdout=slave,
                         stderr=subprocess.PIPE)
    return p, master, slave, before, flags


def read_until(master, what, timeout=TIMEOUT):
    buf = b""
    deadline = time.time() + timeout
    while what not in buf and time.time() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            try:
                buf += os.read(master, 4096)
            except OSError:
                break
    return buf


def finish(p, master, slave):
    try:
        p.wait(TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    rest = read_until(master, b"\0never\0", timeout=0.2)
    after = termios.tcgetattr(slave), fcntl.fcntl(slave, fcntl.F_GETFL)
    os.close(master)
    os.close(slave)
    return p.returncode, rest, after


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_terminal_raw_then_restored_after_ctrl_a_x(built, mode):
    p, master, slave, before, flags = spawn_on_pty(mode=mode)
    shown = read_until(master, b"ready\r")
    assert b"ready\r" in shown, shown
    raw = termios.tcgetattr(slave)
    lflag = raw[3]
    assert not lflag & (termios.ECHO | termios.ICANON | termios.ISIG), "not in raw mode"
    assert fcntl.fcntl(slave, fcntl.F_GETFL) & os.O_ASYNC
    os.write(master, b"\x01x")
    status, rest, (tty, fl) = finish(p, master, slave)
    assert status == 0, p.stderr.read()
    assert b"lvm: terminated (C-a x)" in rest
    assert tty == before
    assert fl == flags


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_terminal_restored_when_killed(built, sig):
    p, master, slave, before, flags = spawn_on_pty()
    assert b"ready\r" in read_until(master, b"ready\r")
    assert termios.tcgetattr(slave) != before
    p.send_signal(sig)
    status, rest, (tty, fl) = finish(p, master, slave)
    assert status == -sig
    assert tty == before
    assert fl == flags


def test_terminal_restored_while_stopped(built):
    p, master, slave, before, flags = spawn_on_pty()
    assert b"ready\r" in read_until(master, b"ready\r")
    raw = termios.tcgetattr(slave)
    p.send_signal(signal.SIGTSTP)                       # job control from outside
    _, st = os.waitpid(p.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(st)
    assert termios.tcgetattr(slave) == before
    p.send_signal(signal.SIGCONT)
    deadline = time.time() + 5
    while termios.tcgetattr(slave) != raw and time.time() < deadline:
        time.sleep(0.01)
    assert termios.tcgetattr(slave) == raw
    os.write(master, b"\x01x")
    status, rest, (tty, fl) = finish(p, master, slave)
    assert status == 0
    assert (tty, fl) == (before, flags)


def test_ctrl_a_sequences_on_a_terminal(built):
    p, master, slave, before, flags = spawn_on_pty()
    assert b"ready\r" in read_until(master, b"ready\r")
    os.write(master, b"\x01h")                             # help, nothing for the guest
    assert b"C-a x    exit lvm" in read_until(master, b"exit lvm")
    os.write(master, b"\x01\x01a\x01zb\n")                 # C-a C-a: one C-a; C-a z: dropped
    out = read_until(master, b"more\r")
    assert b"received 4 bytes: \x01ab\r" in out, out
    os.write(master, b"\x01b")                              # a break: a 0 byte with BI
    time.sleep(0.2)
    os.write(master, b"c\n")
    out = read_until(master, b"c\r")
    assert b"received 3 bytes: \x00c\r" in out, out
    status, rest, (tty, fl) = finish(p, master, slave)
    assert status == 1, p.stderr.read()
    assert tty == before


# Guests that never stop (tests/kernels/devfuzz): random local APIC and I/O APIC
# accesses, random port accesses, `cli; jmp .`.
FLOODS = {"apic": "only=apic ops=0", "ports": "only=ports ops=0", "spin": "spin"}


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])
@pytest.mark.parametrize("mode", ["call", "trap"])
@pytest.mark.parametrize("flood", list(FLOODS))
def test_ctrl_a_x_whatever_the_guest_does(built, flood, mode, isolated):
    # The guest never reads its UART: a line of typing fills the receiver first, and
    # the terminal must still be read for its escapes.  Ctrl-A and x come apart.
    # Isolated, guest code floods the monitor with ptrace stops (or, spinning with
    # interrupts off, gives it none): the monitor still reads the terminal.
    extra = ["-lvm-isolate"] if isolated else []
    p, master, slave, before, flags = spawn_on_pty("devfuzz", mode, *extra, "-append", FLOODS[flood])
    assert b"ready\r" in read_until(master, b"ready\r")
    time.sleep(0.3)
    os.write(master, LONG_LINE)
    time.sleep(0.3)
    os.write(master, b"\x01")
    time.sleep(0.2)
    start = time.monotonic()
    os.write(master, b"x")
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        pass
    took = time.monotonic() - start
    status, rest, (tty, fl) = finish(p, master, slave)
    assert status == 0 and took < 5, (status, took, p.stderr.read()[-500:])
    assert b"lvm: terminated (C-a x)" in rest
    assert (tty, fl) == (before, flags)


def test_pipe_input_is_passed_through(built):
    # No escapes on a pipe (QEMU's plain -serial stdio): C-a x is data.
    status, out, err, *_ = converse(lvm_argv(OUT / "call" / "uart.elf"),
                                    [(b"ready\r\n", b"\x01x\n"), (b"more\r\n", b"end\n")])
    assert status == 1, err
    assert b"received 3 bytes: \x01x\r\n" in out


def test_input_from_a_regular_file(built, tmp_path):
    # A file never signals readiness: read as always readable, and EOF ends input.
    f = tmp_path / "input"
    f.write_bytes(b"hello\n" + LONG_LINE)
    with open(f, "rb") as stdin:
        r = subprocess.run(lvm_argv(OUT / "trap" / "uart.elf", "--append", "file"), stdin=stdin,
                           capture_output=True, timeout=TIMEOUT)
    # The first byte reached RBR before the guest enabled the FIFO, which reset it away
    # (QEMU does the same when input is there at boot).
    assert r.returncode == 1, r.stderr
    assert r.stdout.endswith(b"received 5 bytes: ello\r\nfile\r\nreceived 41 bytes: " +
                             LONG_LINE.replace(b"\n", b"\r\n")), r.stdout
