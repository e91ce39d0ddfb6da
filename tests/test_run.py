"""`lvm run` on bad input: each case is one line naming the problem and exit status 3."""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

LVM = ROOT / ".venv" / "bin" / "lvm"
# Its own data section, placed first (see build()): in .text its checksum bytes
# would disassemble as `in`/`sti` for `lvm check`.
HEADER = "\t.section .multiboot, \"a\"\n\t.long 0x1badb002, 0, -0x1badb002\n"
START = "\t.text\n\t.globl _start\n_start:\n\tmovl $0x3f8, %edx\n\tmovb $0x41, %al\n\toutb %al, %dx\n" \
        "\tmovl $0xf4, %edx\n\toutb %al, %dx\n"


def build(tmp_path, name, source, extra_ld=()):
    src = tmp_path / (name + ".S")
    src.write_text(source)
    out = tmp_path / (name + ".elf")
    r = subprocess.run(["lvm-cc", "-m32", "-nostdlib", "-static", "-no-pie", "-Wl,--section-start=.multiboot=0x100000",
                        "-Wl,-Ttext=0x100100", "-Wl,--build-id=none", *extra_ld, "-o", str(out), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module", autouse=True)
def monitor():
    r = subprocess.run(["make", "-s", "monitor"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def run(*args):
    r = subprocess.run([str(LVM), "run", *map(str, args)], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def one_line(err, *words):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], err


def test_minimal_kernel_boots(tmp_path):
    status, out, err = run(build(tmp_path, "ok", HEADER + START))
    assert (status, out) == ((0x41 << 1 | 1) & 0xff, "A"), err


def test_not_elf(tmp_path):
    f = tmp_path / "k.bin"
    f.write_bytes(b"\x00" * 4096)
    status, _, err = run(f)
    assert status == 3
    one_line(err, "k.bin", "not an ELF file")


def test_64_bit_elf():
    status, _, err = run("/bin/true")
    assert status == 3
    one_line(err, "64-bit ELF")


def test_no_multiboot_header(tmp_path):
    status, _, err = run(build(tmp_path, "nohdr", START))
    assert status == 3
    one_line(err, "no Multiboot header")


def test_kernel_larger_than_memory(tmp_path):
    k = build(tmp_path, "big", HEADER + START + "\t.bss\n\t.skip 200 * 1024 * 1024\n")
    status, _, err = run(k)
    assert status == 3
    one_line(err, "does not fit in guest memory", "-m")
    status, out, err = run(k, "-m", "256")
    assert (status, out) == ((0x41 << 1 | 1) & 0xff, "A"), err


def test_kernel_built_without_lvm_cc(tmp_path):
    src = tmp_path / "plain.S"
    src.write_text(HEADER + START + "\tcli\n\thlt\n")
    out = tmp_path / "plain.elf"
    subprocess.run(["gcc", "-m32", "-nostdlib", "-static", "-no-pie", "-Wl,-Ttext=0x100000",
                    "-o", str(out), str(src)], check=True)
    status, _, err = run(out)
    assert status == 3
    one_line(err, "not built with lvm-cc", "first:", "CC=lvm-cc")


def test_missing_file(tmp_path):
    status, _, err = run(tmp_path / "nope.elf")
    assert status == 3
    one_line(err, "nope.elf", "no such file")


def test_guest_error_report(tmp_path):
    # A kernel that loads an IDT-less #GP: triple fault, a report and status 4.
    k = build(tmp_path, "tf", HEADER + "\t.text\n\t.globl _start\n_start:\n\tmovl $0x1234, %eax\n"
              "\tmovl %eax, %ds\n")
    status, _, err = run(k)
    assert status == 4
    assert "triple fault" in err and "eip=" in err and "last events" in err


def test_warns_about_selectors_user_code_would_get_from_the_host(tmp_path):
    # Linux's i386 layout: user data at GDT entry 15 (0x7b), which host user code
    # reaches natively as the host's per-CPU segment.
    src = HEADER + """\t.data
gdt:\t.quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
\t.fill 12, 8, 0
\t.quad 0x00cff2000000ffff
gdtr:\t.word . - gdt - 1
\t.long gdt
\t.text
\t.globl _start
_start:
\tlgdt gdtr
\tmovl $0xf4, %edx
\tmovb $0, %al
\toutb %al, %dx
"""
    status, _, err = run(build(tmp_path, "linuxgdt", src))
    assert status == 1, err
    assert "GDT entry 15 (selector 0x7b)" in err and "per-CPU" in err


def test_empty_memory_size(tmp_path):
    # Not the default 128 MiB in silence: the monitor names the problem.
    status, out, err = run(build(tmp_path, "ok", HEADER + START), "-m", "")
    assert (status, out) == (2, ""), err
    one_line(err, "-m ''", "empty")


@pytest.mark.parametrize("where, words", [
    (0x0, ["segment 0", "page 0"]),
    (0x9000, ["Multiboot information"]),
    (0xb8000, ["640 KiB-1 MiB hole", "VGA memory"]),
    (0xf0000, ["640 KiB-1 MiB hole", "BIOS ROM"]),
])
def test_segment_where_the_pc_has_no_ram_for_it(tmp_path, where, words):
    # A kernel must not overwrite, nor be overwritten by, what lies below 1 MiB.
    k = build(tmp_path, "low", HEADER + START,
              ["-Wl,--section-start=.multiboot=%#x" % where, "-Wl,-Ttext=%#x" % (where + 0x100)])
    status, out, err = run(k)
    assert (status, out) == (3, ""), err
    one_line(err, "low.elf", "overlaps", "link the kernel at 1 MiB", *words)
    assert "does not fit" not in err


@pytest.mark.parametrize("option", ["-hda", "-hdb", "-drive"])
def test_option_value_missing(tmp_path, option):
    # `lvm run K -hda`: KERNEL comes last for the monitor, so it is not taken as the disk.
    k = build(tmp_path, "ok", HEADER + START)
    before = k.read_bytes(), k.stat().st_mtime_ns
    status, out, err = run(k, option)
    assert (status, out) == (2, ""), err
    one_line(err, option, "value is missing")
    assert (k.read_bytes(), k.stat().st_mtime_ns) == before


def test_entry_linked_high_is_translated_through_its_segment(tmp_path):
    """A kernel linked at 0xc0100000 and loaded at 1 MiB (NetBSD's layout) has a virtual
    e_entry; Multiboot enters with paging off, so the loader translates it through the
    PT_LOAD segment that holds it, as QEMU's does (before: a jump to 0xc0100000, #PF)."""
    script = tmp_path / "high.ld"
    script.write_text("ENTRY(_start)\nSECTIONS {\n  . = 0xc0100000;\n"
                      "  .text : AT(0x100000) { *(.multiboot) *(.text) }\n}\n")
    (tmp_path / "high.S").write_text(HEADER + START)
    k, native = tmp_path / "high.elf", tmp_path / "high-native.elf"
    for cc, out in (("lvm-cc", k), ("gcc", native)):                 # QEMU runs the unrewritten one
        r = subprocess.run([cc, "-m32", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
                            "-Wl,-T," + str(script), "-o", str(out), str(tmp_path / "high.S")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert "Entry point address:               0xc01000" in subprocess.run(
        ["readelf", "-h", str(k)], capture_output=True, text=True).stdout
    status, out, err = run(k)
    assert (status, out) == (131, "A"), err   # debug exit: (0x41 << 1) | 1
    q = subprocess.run(["qemu-system-i386", "-display", "none", "-monitor", "none", "-serial", "stdio",
                        "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", str(native)],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (q.returncode, q.stdout[-1:]) == (131, b"A")


def test_port_io_trace(tmp_path):
    # LVM_TRACE_IO=1: every port access on stderr, in order, with the device's name;
    # the guest's output is unchanged
    kernel = build(tmp_path, "ok", HEADER + START)
    r = subprocess.run([str(LVM), "run", str(kernel)], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, env=dict(__import__("os").environ, LVM_TRACE_IO="1"))
    assert (r.returncode, r.stdout) == ((0x41 << 1 | 1) & 0xff, "A"), r.stderr
    trace = [l.split()[2:] for l in r.stderr.splitlines() if l.startswith("lvm-io ")]
    assert trace[-2:] == [["outb", "0x03f8", "0x41", "uart16550", "COM1"],
                          ["outb", "0x00f4", "0x41", "isa-debug-exit"]], r.stderr


def test_stats_count_monitor_entries_by_reason(tmp_path):
    # LVM_STATS=1: the entries by how they came and the emulated instructions by opcode
    kernel = build(tmp_path, "ok", HEADER + START)
    r = subprocess.run([str(LVM), "run", str(kernel)], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, env=dict(__import__("os").environ, LVM_STATS="1"))
    assert r.returncode == (0x41 << 1 | 1) & 0xff, r.stderr
    err = r.stderr
    assert "lvm stats: monitor entries" in err and "guest subroutine's call" in err, err
    # the two `outb %al, %dx` (the UART's, then port 0xf4's), emulated
    assert re.search(r"^\s+2  ee  out$", err, re.M), err
