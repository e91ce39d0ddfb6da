"""The GDB remote stub of `lvm run` (-gdb unix:PATH -S), driven by the real gdb and
by a small protocol client, against tests/kernels/gdbtarget in both modes.

* test_gdb_session: gdb -batch breaks on a function whose first instruction is a
  rewritten cli, reads registers (EIP at the symbol, the guest's selectors, the
  virtual IF), steps with stepi and next over the rewritten cli, pushf and sti,
  reads memory with x/4wx, breaks again, runs `finish` (a temporary breakpoint),
  and continues to the guest's exit (W: "exited with code 043").
* test_same_stops_as_qemu: the same command file against QEMU's gdbstub booting
  the gcc build: the same stops (function, file:line) and the same values, once
  the addresses (the builds differ) and gdb's guesses at optimized-out arguments
  are taken out.  QEMU stops first in its BIOS (lvm at the kernel's entry) and
  closes the connection at the exit instead of sending W: both are cut.
* test_hardware_breakpoint_and_watchpoint: hbreak and watch (the host's debug
  registers through perf_event_open), also against QEMU.
* test_control_registers: the target description's cr0 cr2 cr3 cr4 (`info
  registers cr0 cr2 cr3 cr4`) at the paging kernel's page faults, the values it
  set, and the same lines as against QEMU's gdbstub booting the gcc build;
  test_target_description: the XML itself read in parts as gdb does, its numbering
  against the `g` and `p` packets, a control register's write refused.
* the protocol tests: Ctrl-C (0x03) while the guest spins natively and while it
  sleeps in HLT between timer ticks, memory writes that release it, a breakpoint
  on a rewritten instruction hit once and stepped over, E14 for unmapped memory,
  unsupported packets (Z3) answered empty, a second connection refused, detach
  (the guest runs on to its exit) and kill.
* the guest's own int3 and TF keep working under a debugger that does not claim
  them: the exceptions and singlestep kernels print what they print without one.
"""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import ROOT
from test_kernels import OUT, built, qemu_argv  # noqa: F401  (fixture)

LVM = ROOT / ".venv" / "bin" / "lvm"
GDB = shutil.which("gdb")


def needs_gdb(test):
    """The test drives Debian's gdb, which `make test` installs (scripts/setup.sh):
    without it the stub is not verified, a failure rather than a skip."""
    def run(*args, **kwargs):
        if GDB is None:
            pytest.fail("gdb is not installed: run scripts/setup.sh (make test does)")
        return test(*args, **kwargs)
    import functools
    return functools.wraps(test)(run)


SESSION = """set pagination off
set confirm off
target remote {sock}
break flip
continue
p $pc == flip
p/x $cs
p/x $ss
p/x $ds
p/x $eflags & 0x200
stepi
p/x $eflags & 0x200
stepi
stepi
next
p/x $eflags & 0x200
next
next
x/4wx &table
break poke
continue
p $pc == poke
p/x v
finish
x/4wx &table
continue
"""

# Hardware breakpoints and watchpoints (the host's debug registers, gdbhw.c).
HW_SESSION = """set pagination off
set confirm off
target remote {sock}
hbreak spin
watch table[2]
continue
p $pc == spin
continue
bt 1
continue
"""


_spawned = []


def spawn(argv, **kw):
    """Popen, and killed after the test whatever happens (a monitor left at -S waits
    for a debugger for ever)."""
    proc = subprocess.Popen(argv, **kw)
    _spawned.append(proc)
    return proc


@pytest.fixture(autouse=True)
def _kill_spawned():
    yield
    while _spawned:
        proc = _spawned.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_for(path, proc):
    for _ in range(200):
        if os.path.exists(path) or proc.poll() is not None:
            return
        time.sleep(0.05)


def run_gdb(tmp_path, elf, server_argv, sock, session=SESSION):
    """Start the server (lvm or QEMU) listening on sock, run the session, return
    gdb's output and the server's (status, stdout, stderr)."""
    cmds = tmp_path / "session.gdb"
    cmds.write_text(session.format(sock=sock))
    server = spawn(server_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(sock, server)
        g = subprocess.run([GDB, "-batch", "-nx", "-x", str(cmds), str(elf)], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        out, err = server.communicate(timeout=30)
    finally:
        server.kill()
        server.wait()
    return g.stdout + g.stderr, (server.returncode, out, err)


def lvm_session(tmp_path, mode, session=SESSION):
    sock = str(tmp_path / "gdb.sock")
    elf = OUT / mode / "gdbtarget.elf"
    return run_gdb(tmp_path, elf, [str(LVM), "run", str(elf), "-gdb", "unix:" + sock, "-S"], sock, session)


def stops(transcript):
    """What does not depend on the build: from the first breakpoint stop to the last
    continue, with addresses and gdb's guesses at clobbered arguments taken out."""
    lines = transcript.splitlines()
    first = next(i for i, l in enumerate(lines) if l.startswith("Breakpoint 1,"))
    out = []
    for line in lines[first:]:
        if line.startswith("[Inferior 1") or "Remote connection closed" in line or "Error in sourced" in line:
            break
        line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
        line = re.sub(r"^(ADDR in )?(\w+) \([^)]*\) at", r"\2 () at", line)
        line = re.sub(r"^Run till exit from .*", "Run till exit", line)
        line = re.sub(r"^(Breakpoint \d+), (\w+) \([^)]*\)", r"\1, \2 ()", line)
        out.append(line)
    return out


@needs_gdb
@pytest.mark.parametrize("mode", ["call", "trap"])
def test_gdb_session(built, tmp_path, mode):
    text, (status, out, err) = lvm_session(tmp_path, mode)
    s = stops(text)
    assert s[0] == "Breakpoint 1, flip () at gdbtarget/gdbtarget.c:16", text
    assert s[1] == '16\t\tasm volatile("cli");', text
    values = [l for l in text.splitlines() if l.startswith("$")]
    # EIP at flip, CS SS DS the guest's, IF clear; still clear after the cli; set
    # after the sti; then EIP at poke with its argument.
    assert values == ["$1 = 1", "$2 = 0x10", "$3 = 0x18", "$4 = 0x18", "$5 = 0x0", "$6 = 0x0",
                      "$7 = 0x200", "$8 = 1", "$9 = 0x55aa55aa"], text
    # stepi over the cli: line 17 (pushf); two more stepi (pushf, pop) stay there;
    # next over the sti: line 19, then out to kmain.
    lines = [l for l in s if re.match(r"^\d+\t", l) or " at gdbtarget" in l]
    assert [re.match(r"^(\d+)", l).group(1) if l[0].isdigit() else l for l in lines] == [
        "Breakpoint 1, flip () at gdbtarget/gdbtarget.c:16", "16", "17", "flip () at gdbtarget/gdbtarget.c:17", "17",
        "flip () at gdbtarget/gdbtarget.c:18", "18", "19",
        "kmain () at gdbtarget/gdbtarget.c:71", "71", "72",
        "Breakpoint 2, poke () at gdbtarget/gdbtarget.c:31", "31",
        "kmain () at gdbtarget/gdbtarget.c:74", "74"], text
    assert re.search(r"<table>:\t0x11223344\t0xdeadbeef\t0xcafef00d\t0x01020304", text), text
    assert re.search(r"<table>:\t0x11223344\t0xdeadbeef\t0x55aa55aa\t0x01020304", text), text
    assert "[Inferior 1 (Remote target) exited with code 043]" in text, text
    assert status == 0x23 and "table 11223344 deadbeef 55aa55aa 1020304" in out, (status, out, err)


@needs_gdb
@pytest.mark.parametrize("mode", ["call", "trap"])
def test_hardware_breakpoint_and_watchpoint(built, tmp_path, mode):
    text, (status, out, err) = lvm_session(tmp_path, mode, HW_SESSION)
    s = stops(text)
    assert s[:2] == ["Breakpoint 1, spin () at gdbtarget/gdbtarget.c:24",
                     "24\t\tfor (counter = 0; counter < n; counter++)"], text
    assert "$1 = 1" in s
    # The watchpoint stops after the store, in poke, with the old and new values.
    i = s.index("Hardware watchpoint 2: table[2]", 3)
    assert s[i:i + 5] == ["Hardware watchpoint 2: table[2]", "", "Old value = 3405705229",
                          "New value = 1437226410", "poke () at gdbtarget/gdbtarget.c:32"], text
    assert "[Inferior 1 (Remote target) exited with code 043]" in text, text
    assert status == 0x23, (status, out, err)


@needs_gdb
@pytest.mark.parametrize("mode", ["call", "trap"])
@pytest.mark.parametrize("session", [SESSION, HW_SESSION], ids=["software", "hardware"])
def test_same_stops_as_qemu(built, tmp_path, mode, session):
    sock = str(tmp_path / "qemu.sock")
    elf = OUT / "native" / "gdbtarget.elf"
    qemu, _ = run_gdb(tmp_path, elf, qemu_argv(elf, "-S", "-gdb", "unix:%s,server=on,wait=off" % sock), sock,
                      session)
    text, _ = lvm_session(tmp_path, mode, session)
    # QEMU's loader puts the Multiboot information at 0x9500, lvm's at 0x9000:
    # kmain's mbi argument is an address, ADDR in both.
    assert stops(text) == stops(qemu), "lvm:\n%s\nQEMU:\n%s" % (text, qemu)


# The paging kernel's #PF handler (hook) at its first three page faults: a demand
# read with paging on (CR4.PSE for its 4 MiB page), the write to a read-only page
# once it set CR0.WP, a not-present PDE.
CR_SESSION = """set pagination off
set confirm off
target remote {sock}
break hook
continue
info registers cr0 cr2 cr3 cr4
p $cr3 == (unsigned)&pd
continue
info registers cr0 cr2
continue
info registers cr0 cr2 cr3
p $cr3 == (unsigned)&pd
p/x $cr0 & 0x80010001
kill
"""


def control_registers(text):
    """The `info registers` lines of the control registers and the `p` values, with
    CR3's value (the address of the kernel's page directory: the builds differ)
    taken out; the `p` lines compare it with &pd."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(cr[0-4])\s+(0x[0-9a-f]+)\s+(.*)$", line)
        if m:
            value, shown = m.group(2), m.group(3)
            if m.group(1) == "cr3":
                value, shown = "PD", re.sub(r"PDBR=\d+", "PDBR=PD", shown)
            out.append("%s %s %s" % (m.group(1), value, shown))
        elif line.startswith("$"):
            out.append(line)
    return out


CR_EXPECTED = [
    "cr0 0x80000011 [ PG ET PE ]", "cr2 0x50000000 1342177280", "cr3 PD [ PDBR=PD PCID=0 ]",
    "cr4 0x10 [ PSE ]", "$1 = 1",
    "cr0 0x80010011 [ PG WP ET PE ]", "cr2 0x50001000 1342181376",
    "cr0 0x80010011 [ PG WP ET PE ]", "cr2 0x50005004 1342197764", "cr3 PD [ PDBR=PD PCID=0 ]",
    "$2 = 1", "$3 = 0x80010001"]


@needs_gdb
@pytest.mark.parametrize("mode", ["call", "trap"])
def test_control_registers(built, tmp_path, mode):
    """CR0-CR4 through the target description, at the paging kernel's page faults:
    the bits it set (PE, PG, then WP; ET is the CPU's), CR2 the faulting address,
    CR3 its page directory, CR4.PSE; and the same lines against QEMU."""
    sock = str(tmp_path / "cr.sock")
    elf = OUT / mode / "paging.elf"
    text, (status, out, err) = run_gdb(tmp_path, elf, [str(LVM), "run", str(elf), "-gdb", "unix:" + sock, "-S"],
                                       sock, CR_SESSION)
    assert control_registers(text) == CR_EXPECTED, text
    assert "paging on: cr0 80000011" in out, (status, out, err)
    qsock = str(tmp_path / "qemu.sock")
    native = OUT / "native" / "paging.elf"
    qemu, _ = run_gdb(tmp_path, native, qemu_argv(native, "-S", "-gdb", "unix:%s,server=on,wait=off" % qsock),
                      qsock, CR_SESSION)
    assert control_registers(qemu) == control_registers(text), "lvm:\n%s\nQEMU:\n%s" % (text, qemu)


class Client:
    """A minimal GDB remote protocol client (acknowledging mode)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(20)
        self.s.connect(path)
        self.buf = b""

    def send(self, payload):
        p = payload.encode()
        self.s.sendall(b"$%s#%02x" % (p, sum(p) & 0xff))

    def packet(self):
        while True:
            i = self.buf.find(b"$")
            j = self.buf.find(b"#", i) if i >= 0 else -1
            if j >= 0 and len(self.buf) >= j + 3:
                p, self.buf = self.buf[i + 1:j], self.buf[j + 3:]
                try:
                    self.s.sendall(b"+")
                except OSError:
                    pass                            # W: the monitor is gone
                return p.decode()
            d = self.s.recv(4096)
            if not d:
                return None
            self.buf += d

    def cmd(self, payload):
        self.send(payload)
        return self.packet()

    def regs(self):
        g = self.cmd("g")
        return [int.from_bytes(bytes.fromhex(g[8 * i:8 * i + 8]), "little") for i in range(16)]


def symbols(elf):
    nm = subprocess.run(["nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return {f[2]: int(f[0], 16) for f in (l.split() for l in nm.splitlines()) if len(f) == 3}


def start(tmp_path, mode, case=None):
    sock = str(tmp_path / "p.sock")
    elf = OUT / mode / "gdbtarget.elf"
    argv = [str(LVM), "run", str(elf)] + (["-append", case] if case else []) + ["-gdb", "unix:" + sock, "-S"]
    proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for(sock, proc)
    return proc, Client(sock), symbols(elf), sock


def finish(proc):
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return proc.returncode, out, err


@pytest.mark.parametrize("mode", ["call", "trap"])
@pytest.mark.parametrize("case,inside", [("forever", "spin_forever"), ("idle", "idle_forever")])
def test_ctrl_c_stops_the_guest(built, tmp_path, mode, case, inside):
    proc, c, sym, _ = start(tmp_path, mode, case)
    assert "QStartNoAckMode+" in c.cmd("qSupported:swbreak+")
    assert c.cmd("?").startswith("T05")
    assert c.cmd("vCont?") == "vCont;c;C;s;S"
    fns = sorted(sym.values())
    fn_end = fns[fns.index(sym[inside]) + 1]
    for _ in range(5):                  # idle: it may stop in the timer's handler
        c.send("vCont;c")
        time.sleep(0.3)
        c.s.sendall(b"\x03")
        assert c.packet().startswith("T02")
        eip = c.regs()[8]
        if sym[inside] <= eip < fn_end:
            break
    assert sym[inside] <= eip < fn_end, "eip %#x outside %s" % (eip, inside)
    # The guest ran: it counted, or slept through timer ticks.
    watched = "counter" if case == "forever" else "ticks"
    assert int.from_bytes(bytes.fromhex(c.cmd("m%x,4" % sym[watched])), "little") > 0
    assert c.cmd("M%x,4:01000000" % sym["released"]) == "OK"
    assert c.cmd("vCont;c") == "W45"       # the status lvm exits with: (0x22 << 1) | 1
    status, out, err = finish(proc)
    assert status == 0x45 and "released" in out, (status, out, err)


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_breakpoint_on_a_rewritten_instruction(built, tmp_path, mode):
    proc, c, sym, sock = start(tmp_path, mode)
    c.cmd("qSupported")
    flip = sym["flip"]
    original = c.cmd("m%x,4" % flip)
    assert c.cmd("Z0,%x,1" % flip) == "OK"
    assert c.cmd("m%x,4" % flip) == original          # the int3 is not shown
    assert c.cmd("Z3,%x,4" % sym["table"]) == ""        # read watchpoints: unsupported
    assert c.cmd("Z2,%x,3" % sym["table"]) == "E22"     # not a debug register's length
    assert c.cmd("c").startswith("T05")
    r = c.regs()
    assert r[8] == flip and r[10] == 0x10 and r[11] == 0x18
    assert c.cmd("z0,%x,1" % flip) == "OK"
    assert c.cmd("s").startswith("T05")                 # one guest instruction: the cli
    after = c.regs()[8]
    assert flip < after < flip + 16
    assert c.cmd("s").startswith("T05")
    assert c.regs()[8] > after
    # Memory: a fault is E14; the x87/SSE registers are unavailable.
    assert c.cmd("mf0000000,4") == "E14"
    assert c.cmd("p20") == "xxxxxxxx"
    # A second debugger is refused while this one is connected.
    other = socket.socket(socket.AF_UNIX)
    other.connect(sock)
    other.settimeout(10)
    assert b"connected already" in other.recv(200)
    # Detach: the guest runs to its exit without stopping again.
    assert c.cmd("D") == "OK"
    status, out, err = finish(proc)
    assert status == 0x23 and "flip 41" in out, (status, out, err)
    assert "refused a second connection" in err


# gdb's features/i386/32bit-core.xml and 32bit-sse.xml, in order.
CORE_REGS = ("eax ecx edx ebx esp ebp esi edi eip eflags cs ss ds es fs gs st0 st1 st2 st3 st4 st5 st6 st7 "
             "fctrl fstat ftag fiseg fioff foseg fooff fop").split()
SSE_REGS = "xmm0 xmm1 xmm2 xmm3 xmm4 xmm5 xmm6 xmm7 mxcsr".split()


def le32(v):
    return v.to_bytes(4, "little").hex()


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_target_description(built, tmp_path, mode):
    """target.xml in parts (qXfer:features:read, `m` then `l`), gdb's i386 features
    with the control registers after them, numbered as `g` and `p` answer."""
    import xml.etree.ElementTree as ET
    proc, c, sym, _ = start(tmp_path, mode)
    assert "qXfer:features:read+" in c.cmd("qSupported:xmlRegisters=i386")
    xml, off, parts = "", 0, 0
    while True:
        part = c.cmd("qXfer:features:read:target.xml:%x,%x" % (off, 1000))
        assert part[0] in "ml", part
        xml += part[1:]
        off += len(part) - 1
        parts += 1
        if part[0] == "l":
            break
    assert parts > 2                                           # read in parts
    assert c.cmd("qXfer:features:read:target.xml:%x,10" % (off + 5)) == "l"
    assert c.cmd("qXfer:features:read:other.xml:0,10") == "E00"
    root = ET.fromstring(xml)
    assert root.findtext("architecture") == "i386"
    regs, n = {}, 0
    features = []
    for feature in root.findall("feature"):
        features.append(feature.get("name"))
        names = []
        for reg in feature.findall("reg"):
            n = int(reg.get("regnum", n))
            regs[reg.get("name")] = (n, int(reg.get("bitsize")), reg.get("type"))
            names.append(reg.get("name"))
            n += 1
        if feature.get("name") == "org.gnu.gdb.i386.core":
            assert names == CORE_REGS
        elif feature.get("name") == "org.gnu.gdb.i386.sse":
            assert names == SSE_REGS
        else:
            assert names == ["cr0", "cr2", "cr3", "cr4"]
    assert features == ["org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse", "org.gnu.gdb.i386.sys"]
    assert [regs[r][0] for r in CORE_REGS + SSE_REGS] == list(range(41))
    assert regs["eflags"][2] == "i386_eflags" and regs["st0"][1:] == (80, "i387_ext")
    # `g`: the sixteen 32-bit registers first in the description; `p` the same ones.
    g = c.cmd("g")
    assert len(g) == 16 * 8 and all(regs[r][1] == 32 for r in CORE_REGS[:16])
    assert c.cmd("p%x" % regs["eip"][0]) == g[8 * 8:9 * 8]
    assert c.cmd("p%x" % regs["cs"][0]) == g[10 * 8:11 * 8] == "08000000"   # CS as a Multiboot loader leaves it
    assert c.cmd("p%x" % regs["st0"][0]) == "xxxxxxxx"
    assert c.cmd("p%x" % regs["mxcsr"][0]) == "xxxxxxxx"
    # At the entry point (-S): CR0 PE and ET as a Multiboot loader leaves them.
    assert c.cmd("p%x" % regs["cr0"][0]) == le32(0x11)
    assert [c.cmd("p%x" % regs[r][0]) for r in ("cr2", "cr3", "cr4")] == [le32(0)] * 3
    assert c.cmd("P%x=%s" % (regs["cr0"][0], le32(0x80000011))) == "E01"      # not written
    assert c.cmd("p%x" % regs["cr0"][0]) == le32(0x11)
    assert c.cmd("c") == "W23"
    status, out, err = finish(proc)
    assert status == 0x23, (status, out, err)


def test_kill(built, tmp_path):
    proc, c, _, _ = start(tmp_path, "call", "forever")
    c.cmd("qSupported")
    c.send("k")
    status, out, err = finish(proc)
    assert status == 0, (status, out, err)


FPU_STOPS = "break hook\ncontinue\ncontinue\nstepi\nstepi\nstepi\ndelete\n"


@needs_gdb
@pytest.mark.parametrize("mode", ["call", "trap"])
@pytest.mark.parametrize("name,stops", [("exceptions", ""), ("singlestep", ""), ("fpu", FPU_STOPS)])
def test_guest_int3_and_tf_under_a_debugger(built, tmp_path, mode, name, stops):
    """The guest's own #BP and #DB go to the guest while a debugger is attached; the
    guest's x87/SSE registers survive the debugger's stops and steps (fpu)."""
    elf = OUT / mode / (name + ".elf")
    plain = subprocess.run([str(LVM), "run", str(elf)], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
    sock = str(tmp_path / "g.sock")
    cmds = tmp_path / "c.gdb"
    cmds.write_text("target remote %s\n%scontinue\n" % (sock, stops))
    server = spawn([str(LVM), "run", str(elf), "-gdb", "unix:" + sock, "-S"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(sock, server)
    g = subprocess.run([GDB, "-batch", "-nx", "-x", str(cmds), str(elf)], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    status, out, _ = finish(server)
    assert "exited with code" in g.stdout, g.stdout + g.stderr
    if stops:
        assert g.stdout.count(", hook (") == 2, g.stdout
    assert (status, out) == (plain.returncode, plain.stdout)


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_step_into_an_exception_handler(built, tmp_path, mode):
    """A step over ud2 stops at #UD's handler; the frame it pushed does not hold the
    debugger's TF (the handler's iret would single-step the guest for ever)."""
    elf = OUT / mode / "exceptions.elf"
    plain = subprocess.run([str(LVM), "run", str(elf)], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
    dis = subprocess.run(["objdump", "-d", str(elf)], capture_output=True, text=True, check=True).stdout
    ud2 = int(re.search(r"^\s*([0-9a-f]+):\s+0f 0b\s+ud2", dis, re.M).group(1), 16)
    sock = str(tmp_path / "e.sock")
    proc = spawn([str(LVM), "run", str(elf), "-gdb", "unix:" + sock, "-S"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(sock, proc)
    c = Client(sock)
    c.cmd("qSupported")
    assert c.cmd("Z0,%x,1" % ud2) == "OK"
    assert c.cmd("c").startswith("T05") and c.regs()[8] == ud2
    assert c.cmd("z0,%x,1" % ud2) == "OK"
    assert c.cmd("vCont;s:1").startswith("T05")
    assert c.regs()[8] == symbols(elf)["vec6"]
    assert c.regs()[9] & 0x100 == 0                 # TF is not the guest's
    assert c.cmd("c") == "W%02x" % plain.returncode
    status, out, _ = finish(proc)
    assert (status, out) == (plain.returncode, plain.stdout)


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_attach_to_a_running_guest_and_again(built, tmp_path, mode):
    """Without -S the guest runs; a connection stops it (gdb expects a stopped
    target); after a detach a second debugger can attach."""
    sock = str(tmp_path / "r.sock")
    elf = OUT / mode / "gdbtarget.elf"
    sym = symbols(elf)
    proc = spawn([str(LVM), "run", str(elf), "-append", "forever", "-gdb", "unix:" + sock],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(sock, proc)
    time.sleep(0.3)
    fns = sorted(sym.values())
    end = fns[fns.index(sym["spin_forever"]) + 1]
    inside = 0
    for attach in range(10):           # under load the guest may still be booting
        c = Client(sock)
        assert c.cmd("?").startswith("T05")
        if sym["spin_forever"] <= c.regs()[8] < end:
            inside += 1
            assert int.from_bytes(bytes.fromhex(c.cmd("m%x,4" % sym["counter"])), "little") > 0
        if inside == 2:
            break
        assert c.cmd("D") == "OK"
        c.s.close()
        time.sleep(0.2)
    assert inside == 2
    assert c.cmd("M%x,4:01000000" % sym["released"]) == "OK"
    assert c.cmd("c") == "W45"
    status, out, err = finish(proc)
    assert status == 0x45 and "released" in out, (status, out, err)


@pytest.mark.parametrize("args,message", [
    (["-S"], "-S waits for a debugger"),
    (["-gdb", "tcp:example.com:1234"], "localhost only"),
    (["-gdb", "tcp:local:1234"], "localhost only"),
    (["-gdb", "tcp::0"], "expected tcp::PORT"),
    (["-gdb", "serial:/dev/ttyS0"], "expected tcp::PORT or unix:PATH"),
])
def test_bad_gdb_options(built, args, message):
    r = subprocess.run([str(LVM), "run", str(OUT / "call" / "hello.elf"), *args], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_tcp_port_on_localhost(built):
    """-gdb tcp::PORT listens on 127.0.0.1 (and -s is tcp::1234)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    elf = OUT / "call" / "gdbtarget.elf"
    proc = spawn([str(LVM), "run", str(elf), "-gdb", "tcp::%d" % port, "-S"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            time.sleep(0.05)
    c = Client.__new__(Client)
    c.s, c.buf = s, b""
    s.settimeout(20)
    assert c.cmd("?").startswith("T05")
    assert c.cmd("c") == "W23"
    status, out, err = finish(proc)
    assert status == 0x23 and "waiting for gdb on tcp::%d" % port in err


# -- Linux under the debugger ------------------------------------------------------
LINUX_SESSION = """set pagination off
set confirm off
target remote {sock}
hbreak start_kernel
continue
p $pc == start_kernel
bt 2
delete
break __ia32_sys_newuname
continue
p $pc == __ia32_sys_newuname
p $cs
bt
kill
"""


@needs_gdb
@pytest.mark.parametrize("mode", ["call", "trap"])
def test_linux_start_kernel_and_a_system_call(tmp_path, mode):
    """Linux's rewritten vmlinux under gdb: a hardware breakpoint at start_kernel
    (set before the decompressor has put the kernel there), then a software one on
    the uname system call's handler (busybox /init asks for it), with backtraces."""
    linux = ROOT / "out" / "linux"
    bz, vmlinux, initrd = linux / mode / "bzImage", linux / mode / "vmlinux", linux / "initramfs.cpio.gz"
    for f in (bz, vmlinux, initrd):
        if not f.is_file():
            pytest.fail("%s missing: run `make linux initramfs` (make test does)" % f)
    sock = str(tmp_path / "gdb.sock")
    text, (status, out, err) = run_gdb(
        tmp_path, vmlinux, [str(LVM), "run", str(bz), "-m", "256M", "-initrd", str(initrd),
                            "-append", "console=ttyS0 panic=-1", "-gdb", "unix:" + sock, "-S"], sock,
        LINUX_SESSION)
    assert re.search(r"^Breakpoint 1, (0x[0-9a-f]+ in )?start_kernel \(\)", text, re.M), text
    values = [l for l in text.splitlines() if l.startswith("$")]
    assert values == ["$1 = 1", "$2 = 1", "$3 = 96"], text        # CS: __KERNEL_CS 0x60
    frames = re.findall(r"^#(\d+) .*? (\w+) \(", text, re.M)
    assert ("0", "start_kernel") in [(n, f) for n, f in frames] or re.search(r"^#0 .*start_kernel", text, re.M), text
    assert re.search(r"^#0 .*__ia32_sys_newuname", text, re.M), text
    assert re.search(r"^#1 .*(do_fast_syscall_32|do_int80_syscall_32|__do_fast_syscall_32|do_syscall_32)", text,
                     re.M), text
