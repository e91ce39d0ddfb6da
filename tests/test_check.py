"""`lvm check` (toolchain/lvm/check.py and the `check` command of cli.py) on real objects.

Every rule of isa.RULES is found when its instruction reaches an object raw (plain
`as --32`, `.byte`, prefixes, 16-bit code) and not once lvm-as has rewritten it (call
and trap mode); uninteresting code is never reported; findings carry section, symbol,
address and source line, in objects, executables and archives; the runtime's COMDAT
groups are exempt, a guest function that merely has a `__lvm_` name is not; bad input
is one `lvm: error:` line and exit status 2.  The instruction boundaries and the set of
interesting sites are compared with objdump, an independent decoder.
"""
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, assemble, growth, text_bytes
from lvm import isa
from lvm.check import check_file, format_finding, is_runtime_symbol
from lvm.errors import LvmError
from lvm.rewrite import rewrite_text

ENV = dict(os.environ, PYTHONPATH=str(ROOT / "toolchain"))
LVM = [sys.executable, "-c", "from lvm.cli import main; main(prog_name='lvm')"]
LVM_AS = [sys.executable, "-m", "lvm.asdriver"]


def lvm(args, cwd):
    return subprocess.run(LVM + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=ENV)


def lvm_as(args, cwd, env=None):
    r = subprocess.run(LVM_AS + args, cwd=cwd, capture_output=True, text=True, env=dict(ENV, **(env or {})))
    assert r.returncode == 0, r.stderr
    return r


def run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, "%s:\n%s" % (" ".join(map(str, cmd)), r.stderr)
    return r.stdout


def cc(tmp_path, name, text, *flags):
    """Compile C with the real gcc -m32 in tmp_path (relative names: DWARF says `name`)."""
    (tmp_path / name).write_text(text)
    obj = Path(name).with_suffix(".o").name
    run(["gcc", "-m32", "-c", *flags, "-o", obj, name], tmp_path)
    return tmp_path / obj


# -- every rule, raw ------------------------------------------------------------------------
# (rule exercised, statement, rule reported if not the same).  `.byte` cases are what
# lvm-as cannot see in the text and the check exists for.
CASES_32 = [
    ("cli", "cli"), ("cli", "cs cli"), ("cli", ".byte 0xfa"), ("cli", ".byte 0x2e, 0xfa"),
    ("cli", ".byte 0x66, 0xfa"),
    ("sti", "sti"),
    ("pushf", "pushf"), ("pushf", "pushfl"), ("pushfw", "pushfw"), ("pushfw", "data16 pushf"),
    ("pushfw", ".byte 0x66, 0x9c"),
    ("popf", "popfl"), ("popfw", "popfw"),
    ("iret", "iret"), ("iret", "iretw"),
    ("hlt", "hlt"),
    ("in", "inb $0x60, %al"), ("in", "inl (%dx), %eax"), ("in", "inw %dx, %ax"), ("in", ".byte 0xf3, 0xec"),
    ("out", "outb %al, $0x80"), ("out", "outl %eax, %dx"),
    ("ins", "insb"), ("ins", "rep insb"), ("ins", "rep insl (%dx), %es:(%edi)"), ("ins", "addr16 insw"),
    ("outs", "rep outsw"), ("outs", "outsb %fs:(%esi), (%dx)"), ("outs", ".byte 0xf3, 0x6e"),
    ("lgdt", "lgdt (%eax)"), ("lgdt", "lgdt %fs:8(%esp,%ecx,4)"), ("lgdt", "data16 lgdt (%eax)"),
    ("lidt", "lidtl -6(%ebp)"), ("lldt", "lldt %ax"), ("ltr", "ltr 2(%esp)"),
    ("sgdt", "sgdt (%esp)"), ("sidt", "sidt 2(%eax)"),
    ("sldt", "sldt %eax"), ("sldt", "sldt (%eax)"), ("str", "str %cx"), ("smsw", "smsw %eax"),
    ("lmsw", "lmsw %ax"), ("clts", "clts"),
    ("invlpg", "invlpg %gs:(%ebx,%esi,2)"), ("invd", "invd"), ("wbinvd", "wbinvd"),
    ("wbnoinvd", "wbnoinvd"), ("invpcid", "invpcid (%eax), %edx"),
    ("mov_cr", "mov %cr0, %eax"), ("mov_cr", "mov %eax, %cr3"), ("mov_cr", "mov %dr7, %ecx"),
    ("mov_cr", "movl %edi, %db0"), ("mov_cr", ".byte 0x0f, 0x22, 0xd8"),
    ("rdmsr", "rdmsr"), ("wrmsr", "wrmsr"), ("rdpmc", "rdpmc"), ("cpuid", "cpuid"),
    ("rdtscp", "rdtscp"), ("rdpid", "rdpid %eax"), ("wrpkru", "wrpkru"), ("rdpkru", "rdpkru"),
    ("mov_seg", "mov %ds, %eax"), ("mov_seg", "movw %es, 4(%esp)"), ("mov_seg", "mov %eax, %ss"),
    ("mov_seg", "movw 4(%esp), %fs"), ("mov_seg", ".byte 0x8e, 0xe8"),
    ("push_seg", "push %ds"), ("push_seg", "pushw %gs"), ("push_seg", "pushl %cs"),
    ("pop_seg", "pop %es"), ("pop_seg", "popl %fs"), ("pop_seg", "pop %ss"),
    ("lseg", "lds (%eax), %ebx"), ("lseg", "lss (%eax), %esp"), ("lseg", "lgs 8(%esp), %edx"),
    ("ljmp", "ljmp $0x10, $0x1000"), ("ljmp", "ljmp *(%eax)"), ("ljmp", "ljmpw *4(%esp)"),
    ("lcall", "lcall $0x10, $0x1000"), ("lcall", "lcall *(%eax)"),
    ("far_jmp", "jmp $0x10, $0x1000", "ljmp"), ("far_call", "call $0x8, $0x1000", "lcall"),
    ("lret", "lret"), ("lret", "lret $4"), ("lret", "retf"), ("lret", "lretw"),
    ("int", "int $0x80"), ("into", "into"),
    ("int1", "int1"), ("int1", ".byte 0xf1"),
    ("sysenter", "sysenter"), ("sysexit", "sysexit"), ("syscall", "syscall"), ("sysret", "sysret"),
    ("lar", "lar %eax, %ebx"), ("lsl", "lsl 4(%esp), %edx"), ("verr", "verr %ax"),
    ("verw", "verw (%eax)"), ("arpl", "arpl %ax, (%ebx)"),
    ("clac", "clac"), ("stac", "stac"), ("monitor", "monitor"), ("mwait", "mwait"), ("xsetbv", "xsetbv"),
]

# 16-bit code as lvm-as leaves it (not rewritten, between region markers).
CASES_16 = [
    ("cli", "cli"), ("sti", "sti"), ("pushfw", "pushf"), ("popfw", "popf"), ("pushf", "pushfl"),
    ("iret", "iret"), ("hlt", "hlt"),
    ("in", "inb $0x64, %al"), ("out", "outw %ax, %dx"), ("ins", "rep insw"), ("outs", "outsb"),
    ("lgdt", "lgdt (%si)"), ("lidt", "lidt 6(%bx)"), ("lmsw", "lmsw %ax"), ("smsw", "smsw %ax"),
    ("mov_cr", "mov %cr0, %eax"), ("mov_cr", "mov %eax, %cr0"),
    ("mov_seg", "mov %ax, %ds"), ("mov_seg", "movw %cs, %ax"), ("push_seg", "push %cs"),
    ("pop_seg", "pop %es"), ("lseg", "lss (%bx), %sp"),
    ("ljmp", "ljmp $0x08, $0x7c00"), ("ljmp", "ljmpl $0x08, $0x100000"), ("lcall", "lcall *(%bx)"),
    ("lret", "lret"), ("int", "int $0x10"), ("rdmsr", "rdmsr"), ("cpuid", "cpuid"),
    ("lar", "lar %ax, %bx"), ("ltr", "ltr %ax"),
]


def _source(cases, code16=False):
    lines = ["\t.text"] + (["\t.code16"] if code16 else [])
    for i, case in enumerate(cases):
        lines += ["case_%d:" % i, "\t" + case[1], "\tnop"]     # nop: a hlt never pairs with the next case
    return "\n".join(lines + (["\t.code32", "\tret"] if code16 else ["\tret"])) + "\n"


def _by_case(findings):
    out = {}
    for f in findings:
        out.setdefault(f.symbol, []).append(f)
    return out


@pytest.fixture(scope="module")
def raw32(tmp_path_factory):
    d = tmp_path_factory.mktemp("raw32")
    return check_file(assemble(_source(CASES_32), d / "raw"))


@pytest.fixture(scope="module")
def raw16(tmp_path_factory):
    # through lvm-as's rewriter, as 16-bit code really arrives: markers, nothing rewritten
    d = tmp_path_factory.mktemp("raw16")
    res = rewrite_text(_source(CASES_16, code16=True), "call")
    assert res.rewritten == 0
    return assemble(res.text, d / "raw16")


def test_every_rule_has_a_case():
    assert {c[0] for c in CASES_32} == {r.name for r in isa.RULES}


@pytest.mark.parametrize("i", range(len(CASES_32)), ids=[c[1] for c in CASES_32])
def test_raw_instruction_is_found(raw32, i):
    case = CASES_32[i]
    found = _by_case(raw32).get("case_%d" % i)
    assert found and len(found) == 1, found
    f = found[0]
    assert (f.rule, f.section, f.symbol_offset, f.code16) == (case[-1] if len(case) == 3 else case[0],
                                                              ".text", 0, False)


def test_nothing_found_outside_the_cases(raw32):
    assert set(_by_case(raw32)) == {"case_%d" % i for i in range(len(CASES_32))}


@pytest.mark.parametrize("i", range(len(CASES_16)), ids=[c[1] for c in CASES_16])
def test_raw_16bit_instruction_is_found(raw16, i):
    case = CASES_16[i]
    found = _by_case(check_file(raw16)).get("case_%d" % i)
    assert found and len(found) == 1, found
    assert (found[0].rule, found[0].symbol_offset, found[0].code16) == (case[0], 0, True)


def test_16bit_regions_are_accepted_with_allow_code16(raw16):
    assert len(check_file(raw16)) == len(CASES_16)
    assert check_file(raw16, allow_code16=True) == []


def test_16bit_code_is_decoded_as_16bit(tmp_path):
    # `movl $0x90fa0000, %eax` in 16-bit code is 66 b8 00 00 fa 90; read as 32-bit code
    # it would be `mov $0, %ax; cli; nop`.  And `lgdt (%si); pushf` (0f 01 14 9c) read as
    # 32-bit is one lgdt with a SIB byte that swallows the pushf.
    src = "\t.text\n\tnop\n\t.code16\n\tmovl $0x90fa0000, %eax\n\tlgdt (%si)\n\tpushf\n\t.code32\n\tret\n"
    obj = assemble(rewrite_text(src, "call").text, tmp_path / "c16")
    found = check_file(obj)
    assert [(f.offset, f.rule, f.code16) for f in found] == [(7, "lgdt", True), (10, "pushfw", True)]


def test_empty_16bit_region_does_not_swallow_the_32bit_code_after_it(tmp_path):
    # `.code16` right before `.code32` puts both markers at one offset; a hidden cli
    # after it is 32-bit code, reported even with --allow-code16
    src = "\t.text\nf:\tnop\n\t.code16\n\t.code32\n\t.byte 0xfa\n\tret\n"
    obj = assemble(rewrite_text(src, "call").text, tmp_path / "e")
    for allow in (False, True):
        assert [(f.offset, f.rule, f.code16) for f in check_file(obj, allow_code16=allow)] == [(1, "cli", False)]


def test_adjacent_and_repeated_16bit_regions(tmp_path):
    src = ("\t.text\n\t.code16\n\tcli\n\t.code32\n\t.code16\n\tsti\n\t.code32\n\t.byte 0xfa\n"
           "\t.code16\n\thlt\n")                                # the last region has no end
    obj = assemble(rewrite_text(src, "call").text, tmp_path / "a")
    assert [(f.offset, f.rule, f.code16) for f in check_file(obj)] == [
        (0, "cli", True), (1, "sti", True), (2, "cli", False), (3, "hlt", True)]
    assert [f.offset for f in check_file(obj, allow_code16=True)] == [2]


def test_16bit_region_entered_from_another_section(tmp_path):
    # `.code16` in .text, code in .boot16, `.code32` there: .boot16 starts in 16-bit mode
    src = "\t.text\nf:\tnop\n\t.code16\n\t.section .boot16, \"ax\"\n\tlgdt (%si)\n\tpushf\n\t.code32\n\tcli\n"
    obj = assemble(rewrite_text(src, "trap").text, tmp_path / "b")
    found = [(f.section, f.offset, f.rule, f.code16) for f in check_file(obj)]
    assert found == [(".boot16", 0, "lgdt", True), (".boot16", 3, "pushfw", True)]


def test_16bit_code_accepted_at_assembly_stays_accepted_when_linked(tmp_path):
    """LVM_CHECK=code16 is a decision about one object (NetBSD's mptramp.S, a
    trampoline that never runs under lvm): lvm-as records it in the object, so the
    kernel linked from it checks clean, while another object's 16-bit code does not."""
    (tmp_path / "tramp.s").write_text("\t.text\ntramp:\t.code16\n\tcli\n\tlgdt (%si)\n\t.code32\n\tiret\n")
    (tmp_path / "other.s").write_text("\t.text\nother:\t.code16\n\tsti\n\t.code32\n\tret\n")
    lvm_as(["--32", "-o", "tramp.o", "tramp.s"], tmp_path, {"LVM_CHECK": "code16"})
    r = subprocess.run(LVM_AS + ["--32", "-o", "other.o", "other.s"], cwd=tmp_path, capture_output=True,
                       text=True, env=ENV)
    assert r.returncode == 1 and "sti" in r.stderr
    lvm_as(["--32", "-o", "other.o", "other.s"], tmp_path, {"LVM_CHECK": "0"})
    assert check_file(tmp_path / "tramp.o") == []
    run(["ld", "-m", "elf_i386", "-e", "tramp", "-o", "k.elf", "tramp.o", "other.o"], tmp_path)
    assert [(f.rule, f.code16) for f in check_file(tmp_path / "k.elf")] == [("sti", True)]


def test_user_mode_assembles_as_written_and_is_not_checked(tmp_path):
    """LVM_MODE=user: code the kernel copies to its processes (a signal trampoline),
    which runs in ring 3: nothing rewritten but sysenter (below), and not checked, in
    the object or linked."""
    src = ("\t.text\n\t.globl sigcode\nsigcode:\tmovl $1, %eax\n\tint $0x80\n\tint $0x80\n"
           "\tcli\n\tmovl %eax, %ds\n\t.byte 0x0f, 0x34\n\tlcall $0x33, $0xffffe000\nesigcode:\n")
    (tmp_path / "sig.s").write_text(src)
    lvm_as(["--32", "-o", "sig.o", "sig.s"], tmp_path, {"LVM_MODE": "user"})
    plain = assemble(src, tmp_path / "plain")
    assert text_bytes(tmp_path / "sig.o") == text_bytes(plain)
    assert check_file(tmp_path / "sig.o") == []
    assemble("\t.text\n\t.globl start\nstart:\tcli\n\tret\n", tmp_path / "k")   # not rewritten
    run(["ld", "-m", "elf_i386", "-e", "start", "-o", "k.elf", "k.o", "sig.o"], tmp_path)
    assert [f.rule for f in check_file(tmp_path / "k.elf")] == ["cli"]     # the kernel's is


def _gate_call():
    from lvm import vcpu
    c = vcpu.layout().consts
    return "lcall  $%#x,$%#x" % (c["LVM_MONITOR_SEL"], c["LVM_USER_GATE"])


def test_user_mode_sysenter_becomes_the_user_gate_call(tmp_path):
    """User mode's one rewrite: `sysenter` (Linux's vDSO enters its kernel so), which
    is #UD on AMD hosts, a host signal per system call, becomes the far call of lvm's
    user system-call gate (lvm/vcpu.h LVM_USER_GATE), also inside an ALTERNATIVE-style
    macro whose instruction is a parameter (the vDSO's `ALTERNATIVE "", "movl %esp,
    %ebp; sysenter", X86_FEATURE_SEP`); a `.byte`-encoded one stays as it is."""
    src = ("\t.macro alt old, new\n140: \\old\n141:\n\t.pushsection .altinstr_replacement,\"ax\"\n"
           "142: \\new\n143:\n\t.popsection\n\t.skip -(((143b-142b)-(141b-140b)) > 0) * "
           "((143b-142b)-(141b-140b)),0x90\n\t.endm\n"
           "\t.text\n\t.globl vsyscall\nvsyscall:\tpushl %ebp\n\tsysenter\n\t.byte 0x0f, 0x34\n"
           "\talt \"\", \"movl %esp, %ebp; sysenter\"\n\tint $0x80\n\tret\n")
    (tmp_path / "v.s").write_text(src)
    lvm_as(["--32", "-o", "v.o", "v.s"], tmp_path, {"LVM_MODE": "user"})
    text = run(["objdump", "-d", "-j", ".text", "v.o"], tmp_path)
    alt = run(["objdump", "-d", "-j", ".altinstr_replacement", "v.o"], tmp_path)
    gate = _gate_call()
    assert text.count(gate) == 1 and text.count("sysenter") == 1, text   # the .byte one
    assert gate in alt and "sysenter" not in alt, alt
    assert text.count("nop") == 9, text                 # the alternative's room: mov + the call
    assert check_file(tmp_path / "v.o") == []


# -- rewritten: clean ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["call", "trap"])
def test_rewritten_by_lvm_as_is_clean(tmp_path, mode):
    cases = [c for c in CASES_32 if not c[1].startswith(".byte")]
    (tmp_path / "k.s").write_text(_source(cases))
    lvm_as(["--32", "-o", "k.o", "k.s"], tmp_path, env={"LVM_MODE": mode, "LVM_CHECK": "0"})
    assert check_file(tmp_path / "k.o") == []
    # and linked: the runtime is then known by its symbols, not its COMDAT groups
    run(["ld", "-m", "elf_i386", "-e", "0", "-o", "k.elf", "k.o"], tmp_path)
    assert check_file(tmp_path / "k.elf") == []


def test_rewritten_object_holds_interesting_runtime_code(tmp_path):
    # the exemption is real: the runtime does use lcall/pushf/popf, in its own groups
    (tmp_path / "k.s").write_text("\t.text\n\tsti\n\tpushf\n\tpopf\n\tcli\n\tinb $0x60, %al\n")
    lvm_as(["--32", "-o", "k.o", "k.s"], tmp_path)
    dis = run(["objdump", "-d", "k.o"], tmp_path)
    assert "lcall" in dis and "pushf" in dis and "popf" in dis
    groups = run(["readelf", "-gW", "k.o"], tmp_path)
    assert all("[%s]" % s in groups for s in ("__lvm_emulate", "__lvm_sti", "__lvm_pushf", "__lvm_popf"))
    assert check_file(tmp_path / "k.o") == []


# -- uninteresting ------------------------------------------------------------------------------
UNINTERESTING = [
    "rdtsc", "movl %eax, %ebx", "mov 4(%esp), %eax", "movw $0x10, %ax", "movzwl %ax, %eax",
    "pushl $0x10", "pushl %eax", "pushw $0x10", "popl 4(%esp)", "ret", "ret $4", "leave",
    # far-looking but near: overrides, indirect near transfers, gcc's padding
    "jmp *%eax", "jmp *(%eax)", "call *%edx", "call *%gs:0x10", "jmp *%cs:4(%eax)",
    "movl %gs:0x14, %eax", "movl %eax, %fs:(%ebx)", "pushl %cs:(%eax)", "popl %es:4(%ebx)",
    "nopw %cs:0x0(%eax,%eax,1)", "data16 nop", "leal 0x0(%esi,%esi,1), %esi", "jmp 1f\n1:",
    "call 1f\n1:", "movl $0xfa, %eax", "movb $0xf4, %al",
    # native on purpose (isa.NATIVE) and plain string/lock instructions
    "ud2", "pause", "lfence", "xgetbv", "fxsave (%eax)", "fninit", "bound %eax, (%ebx)",
    "rep movsl", "rep stosb", "lock incl (%eax)", "lock cmpxchg %ecx, (%ebx)", "xchg %ax, %ax",
    "bswap %eax", "cmovne %eax, %ebx", "insertps $0, %xmm1, %xmm2", "rdrand %eax",
]


def test_uninteresting_instructions_yield_nothing(tmp_path):
    src = "\t.text\n" + "".join("\t%s\n" % s for s in UNINTERESTING)
    obj = assemble(src, tmp_path / "u")
    assert check_file(obj) == []
    # the same instructions in 16-bit code (where data16 would be redundant)
    src16 = "\t.text\n\t.code16\n" + "".join("\t%s\n" % s for s in UNINTERESTING if s != "data16 nop")
    obj = assemble(rewrite_text(src16, "call").text, tmp_path / "u16")
    assert check_file(obj) == []


def test_interesting_bytes_outside_code_are_not_checked(tmp_path):
    src = ("\t.data\n\t.byte 0xfa, 0xfb, 0xf4\n\t.section .rodata\n\t.byte 0x0f, 0x22, 0xd8\n"
           "\t.section .note.x, \"a\"\n\t.byte 0xcd, 0x80\n\t.text\n\tret\n")
    assert check_file(assemble(src, tmp_path / "d")) == []


def test_other_executable_sections_are_checked(tmp_path):
    src = "\t.section .init.text, \"ax\"\nearly:\tcli\n\t.section .fixup, \"ax\"\n\tnop\n\tsti\n"
    found = [(f.section, f.offset, f.symbol, f.symbol_offset) for f in check_file(assemble(src, tmp_path / "s"))]
    assert found == [(".init.text", 0, "early", 0), (".fixup", 1, ".fixup", 1)]


# -- what follows an unconditional transfer ---------------------------------------------------
# Code is decoded where it can be entered: from a symbol, by falling through, and at the
# targets of branches and of the code addresses data holds; what follows a jmp or ret
# and is none of those (a message, a table, fill) is not code.  NetBSD's cpu_in_cksum.S
# keeps its panic message after its last jmp; its libraries' objects are stripped of
# local symbols (`objcopy -x`), leaving zero fill and unnamed static functions.
@pytest.mark.parametrize("src,found", [
    # a message after the last jmp: data (`cksum: out of data` decodes as arpl, outsl)
    ("f:\tjmp f\n\t.asciz \"cksum: out of data\\n\"", []),
    ("f:\tret\n\t.byte 0xfa, 0xfb", []),
    # ...but reached by a branch: code, forward or backward
    ("f:\tje 1f\n\tret\n1:\tcli\n\tret", [("cli", 3)]),
    ("f:\tjmp 2f\n1:\tcli\n2:\tdec %eax\n\tjnz 1b\n\tret", [("cli", 2)]),
    # a call to an unnamed function after zero fill (a stripped library object)
    ("f:\tcall 1f\n\tret\n\t.byte 0,0,0\n1:\tpush %ebp\n\tin $0x53, %eax\n\tret", [("in", 10)]),
    # a symbol enters code whatever came before
    ("f:\tret\ng:\tsti", [("sti", 1)]),
    # interrupts come back after hlt, int3, ud2 (Linux's WARN resumes after it): not transfers
    ("f:\tud2\n\tsti", [("sti", 2)]),
    # a branch whose displacement is relocated goes elsewhere: its bytes (0x0c here,
    # "target" 0x11, inside the mov after the ret) are no target in this section
    ("f:\tjmp other+0x10\n\tret\n\t.fill 10, 1, 0x90\n\tmovb $0x0e, %al\n"
     "\t.section .text.other, \"ax\"\nother:\tret", []),
    # ...and one from another code section (Linux's .altinstr_aux jumps back) enters here
    ("f:\tret\n.Lback:\tcli\n\tret\n\t.section .altinstr_aux, \"ax\"\naux:\tjmp .Lback", [("cli", 1)]),
    # a jump table in .rodata: each case is code entered through it
    ("f:\tjmp *tab(,%eax,4)\n1:\tcli\n\tret\n2:\tsti\n\tret\n\t.section .rodata\ntab:\t.long 1b, 2b",
     [("cli", 7), ("sti", 9)]),
])
def test_after_an_unconditional_transfer(tmp_path, src, found):
    obj = assemble("\t.text\n" + src + "\n", tmp_path / "t")
    assert [(f.rule, f.offset) for f in check_file(obj)] == found
    exe = tmp_path / "t.elf"
    run(["ld", "-m", "elf_i386", "-e", "f", "-o", str(exe), str(obj)], tmp_path)
    # linked (no relocations: the jump table is found as words pointing into .text).
    # Not yet across sections there: a branch from another code section is known in
    # the object only (lvm-as checks every object so; README, `lvm check`).
    linked = [] if ".altinstr_aux" in src else [r for r, _ in found]
    assert [f.rule for f in check_file(exe)] == linked


# -- markers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("src,found", [
    ("call __lvm_emulate\n\tcli", []),                         # the call-mode marker
    ("call __lvm_emulate\n\tnop\n\tcli", [("cli", 6)]),        # not right behind it
    ("call other\n\tcli", [("cli", 5)]),                       # another call is no marker
    ("hlt\n\tcli", []),                                        # the trap marker
    ("hlt\n\thlt", []),                                        # trap mode's form of hlt
    ("hlt\n\tnop", [("hlt", 0)]),                              # a hlt on its own
    ("nop\n\thlt", [("hlt", 1)]),                              # at the end of the section
    ("hlt\n\thlt\n\thlt", [("hlt", 2)]),                       # markers pair from the left
    ("call __lvm_emulate\n\thlt\n\tcli", [("cli", 6)]),        # call-mode form of hlt, then cli
])
def test_markers(tmp_path, src, found):
    """A raw `hlt` right before an interesting instruction reads as the trap marker: the
    object says nothing that tells them apart (and at run time they behave the same)."""
    obj = assemble("\t.text\n\t%s\n" % src, tmp_path / "m")
    assert [(f.rule, f.offset) for f in check_file(obj)] == found


# -- where: sections, symbols, sources, addresses ------------------------------------------------
IO_C = """int counter;
void io(void)
{
    asm volatile("cli");
    counter++;
    asm volatile("outb %%al, $0x80" :: "a"(counter));
    asm volatile("mov %%cr3, %%eax" ::: "eax");
}
static void helper(void) { asm volatile("rdmsr; wrmsr" ::: "eax", "ecx", "edx"); }
void entry(void) { helper(); io(); for (;;) asm volatile("sti; hlt"); }
"""


@pytest.mark.parametrize("flags", [("-O0",), ("-O2",), ("-O2", "-ffunction-sections")])
def test_c_with_debug_info_gives_source_lines(tmp_path, flags):
    obj = cc(tmp_path, "io.c", IO_C, "-g", *flags)
    found = [(f.symbol, f.text.split()[0], f.source) for f in check_file(obj)]
    io = [("io", "cli", "io.c:4"), ("io", "outb", "io.c:6"), ("io", "movl", "io.c:7")]
    assert found[:3] == io
    assert ("entry", "sti", "io.c:10") in found and ("entry", "hlt", "io.c:10") in found
    if "-ffunction-sections" in flags:                  # one line sequence per section
        sections = {f.section for f in check_file(obj)}
        assert {".text.io", ".text.entry"} <= sections <= {".text.io", ".text.entry", ".text.helper"}


def test_c_without_debug_info_names_the_source_file(tmp_path):
    obj = cc(tmp_path, "io.c", IO_C, "-O2")
    assert {f.source for f in check_file(obj)} == {"io.c"}


def test_assembly_with_debug_info_gives_source_lines(tmp_path):
    (tmp_path / "a.s").write_text("\t.text\n\t.globl start\nstart:\n\tnop\n\tcli\n\n\tmov %eax, %cr0\n"
                                  "\t.byte 0xfb\n\tret\n")
    run(["as", "--32", "-g", "-o", "a.o", "a.s"], tmp_path)
    found = [(f.offset, f.symbol, f.symbol_offset, f.source, f.text) for f in check_file(tmp_path / "a.o")]
    # as -g gives line rows to instructions only: the `.byte` on line 8 shares the row
    # of the instruction before it (the row's range runs up to the next instruction)
    assert found == [(1, "start", 1, "a.s:5", "cli"), (2, "start", 2, "a.s:7", "movl %eax, %cr0"),
                     (5, "start", 5, "a.s:7", "sti")]


def test_symbol_is_the_nearest_preceding_one(tmp_path):
    src = ("\t.text\n\t.globl f\n\t.type f, @function\nf:\tnop\nlocal_label:\tnop\n\tcli\n"
           "\t.size f, .-f\n\t.globl g\ng:\n\tsti\n")
    found = [(f.symbol, f.symbol_offset) for f in check_file(assemble(src, tmp_path / "s"))]
    assert found == [("local_label", 1), ("g", 0)]         # like objdump's <label+off>


def test_linked_executable_reports_virtual_addresses(tmp_path):
    cc(tmp_path, "io.c", IO_C, "-O2", "-g", "-fno-pie")
    run(["ld", "-m", "elf_i386", "-e", "entry", "-Ttext=0x100000", "-o", "io.elf", "io.o"], tmp_path)
    obj_found = check_file(tmp_path / "io.o")
    exe_found = check_file(tmp_path / "io.elf")
    syms = {l.split()[2]: int(l.split()[0], 16)
            for l in run(["nm", "io.elf"], tmp_path).splitlines() if len(l.split()) == 3}
    assert len(exe_found) == len(obj_found) > 0
    for o, e in zip(obj_found, exe_found):
        assert e.address == syms[e.symbol] + e.symbol_offset == 0x100000 + e.offset
        assert (e.symbol, e.symbol_offset, e.text, e.rule, e.source) == (
            o.symbol, o.symbol_offset, o.text, o.rule, o.source)
        assert o.address is None
    assert "@%#x" % exe_found[0].address in format_finding(exe_found[0])


def test_stripped_executable_is_an_error(tmp_path):
    cc(tmp_path, "io.c", IO_C, "-O2")
    run(["ld", "-m", "elf_i386", "-s", "-e", "entry", "-o", "io.elf", "io.o"], tmp_path)
    with pytest.raises(LvmError, match="has no symbol table"):
        check_file(tmp_path / "io.elf")


def test_archives_report_their_members(tmp_path):
    cc(tmp_path, "io.c", IO_C, "-O2")
    long_name = "a_member_name_longer_than_sixteen.o"
    assemble("\t.text\nx:\tnop\n\tinb $0x60, %al\n", tmp_path / "x")
    os.rename(tmp_path / "x.o", tmp_path / long_name)
    assemble("\t.text\n\tret\n", tmp_path / "clean")
    run(["ar", "rcs", "lib.a", "io.o", "clean.o", long_name], tmp_path)
    run(["ar", "rcsT", "thin.a", "io.o", long_name], tmp_path)
    for lib in ("lib.a", "thin.a"):
        found = check_file(tmp_path / lib)
        paths = [f.path for f in found]
        assert paths == sorted(paths, key=lambda p: p.endswith(long_name + ")"))
        assert set(paths) == {"%s/%s(io.o)" % (tmp_path, lib), "%s/%s(%s)" % (tmp_path, lib, long_name)}
        assert [f.rule for f in found] == [f.rule for f in check_file(tmp_path / "io.o")] + ["in"]


# -- the runtime exemption ------------------------------------------------------------------------
def test_only_the_real_guest_subroutines_are_runtime():
    assert all(is_runtime_symbol("__lvm_" + n) for n in ("emulate", "sti", "pushf", "popf"))
    assert not is_runtime_symbol("__lvm_foo") and not is_runtime_symbol("lvm_sti")


def test_guest_function_named_like_the_runtime_is_checked(tmp_path):
    """Documented behaviour: the exemption covers the runtime lvm-as appends (its COMDAT
    groups in an object, the extent of its function symbols once linked); a guest
    function that is merely called `__lvm_something` is guest code and is checked."""
    src = ("\t.text\n\t.globl _start\n_start:\tcall __lvm_foo\n"
           "\t.globl __lvm_foo\n\t.type __lvm_foo, @function\n__lvm_foo:\n\tcli\n\tret\n"
           "\t.size __lvm_foo, .-__lvm_foo\n"
           "\t.section .text.__lvm_bar,\"axG\",@progbits,__lvm_bar,comdat\n"
           "\t.globl __lvm_bar\n\t.type __lvm_bar, @function\n__lvm_bar:\n\tsti\n\tret\n"
           "\t.size __lvm_bar, .-__lvm_bar\n")
    obj = assemble(src, tmp_path / "g")
    assert [(f.symbol, f.rule) for f in check_file(obj)] == [("__lvm_foo", "cli"), ("__lvm_bar", "sti")]
    run(["ld", "-m", "elf_i386", "-o", "g.elf", "g.o"], tmp_path)
    assert [(f.symbol, f.rule) for f in check_file(tmp_path / "g.elf")] == [
        ("__lvm_foo", "cli"), ("__lvm_bar", "sti")]


def test_runtime_groups_survive_ld_r(tmp_path):
    for name in ("a", "b"):
        (tmp_path / (name + ".s")).write_text("\t.text\n%s:\tcli\n\tsti\n\tinb $0x60, %%al\n" % name)
        lvm_as(["--32", "-o", name + ".o", name + ".s"], tmp_path)
    run(["ld", "-m", "elf_i386", "-r", "-o", "ab.o", "a.o", "b.o"], tmp_path)
    assert run(["readelf", "-gW", "ab.o"], tmp_path).count("[__lvm_sti]") == 1
    assert check_file(tmp_path / "ab.o") == []


# -- against objdump --------------------------------------------------------------------------------
_OD_SIMPLE = set("""cli sti hlt pushf popf pushfw popfw pushfl popfl iret iretw iretl iretd in out
insb insw insl insd outsb outsw outsl outsd lgdt lgdtl lgdtw lidt lidtl lidtw lldt ltr sgdt sgdtl
sgdtw sidt sidtl sidtw sldt str smsw lmsw clts invlpg invd wbinvd wbnoinvd invpcid rdmsr wrmsr rdpmc
cpuid rdtscp rdpid wrpkru rdpkru lds les lfs lgs lss ldsw lesw lfsw lgsw lssw ljmp ljmpw lcall lcallw
lret lretw int into int1 icebp sysenter sysexit syscall sysret lar lsl verr verw arpl clac stac
monitor mwait xsetbv""".split())
_OD_PREFIXES = set("rep repz repe repnz repne lock cs ds es fs gs ss data16 addr16 notrack bnd".split())


def _objdump_interesting(text):
    """Is this objdump -d instruction interesting?  Written from the Intel manual's list,
    on objdump's spelling, independently of isa.RULES' capstone spellings."""
    words = text.split("#")[0].split()
    while words and words[0] in _OD_PREFIXES:
        words = words[1:]
    if not words:
        return False
    m, ops = words[0], " ".join(words[1:])
    return (m in _OD_SIMPLE
            or m.startswith("mov") and re.search(r"%(cr|db|dr)\d", ops) is not None
            or m in ("mov", "movw", "movl") and re.search(r"%[c-gs]s\b(?!:)", ops) is not None
            or m in ("push", "pushw", "pushl", "pop", "popw", "popl") and re.fullmatch(r"%[c-gs]s", ops) is not None)


def _objdump_sites(path, linked=False):
    """{(archive member or None, section, offset or address)} of interesting instructions."""
    out = run(["objdump", "-d", "-w", "--no-show-raw-insn", str(path)], path.parent)
    member = sec = None
    sites = set()
    for line in out.splitlines():
        m = re.match(r"^(\S+):\s+file format", line)
        if m:
            member = m.group(1) if str(path).endswith(".a") else None
        m = re.match(r"^Disassembly of section (\S+):", line)
        if m:
            sec = m.group(1)
        m = re.match(r"^\s+([0-9a-f]+):\t(.*)$", line)
        if m and _objdump_interesting(m.group(2)):
            addr = int(m.group(1), 16)
            sites.add(addr if linked else (member, sec, addr))
    return sites


def _check_sites(path, linked=False):
    out = set()
    for f in check_file(path):
        if linked:
            out.add(f.address)
        else:
            m = re.search(r"\((.*)\)$", f.path)
            out.add((m.group(1) if m else None, f.section, f.offset))
    return out


MIXED_C = r"""
#include <stdint.h>
struct desc { uint16_t limit; uint32_t base; } __attribute__((packed));
static struct desc gdt;
static inline uint8_t inb(uint16_t p) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void outb(uint16_t p, uint8_t v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline uint32_t read_cr0(void) { uint32_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint32_t v) { asm volatile("mov %0, %%cr3" :: "r"(v) : "memory"); }
static inline uint32_t flags(void) { uint32_t f; asm volatile("pushfl; popl %0" : "=r"(f)); return f; }
static inline uint16_t ds(void) { uint16_t s; asm volatile("mov %%ds, %0" : "=r"(s)); return s; }
int table[64];
int work(int n, const char *s)
{
    int t = 0;
    for (int i = 0; i < n; i++) {
        switch (s[i]) {
        case 'a': t += inb(0x60); break;
        case 'b': outb(0x80, t); break;
        case 'c': t ^= read_cr0(); break;
        case 'd': write_cr3(t); break;
        case 'e': t += flags() & 0x200; break;
        case 'f': t += ds(); break;
        case 'g': asm volatile("lgdt %0" :: "m"(gdt)); break;
        case 'h': asm volatile("cli; sti; hlt"); break;   /* hlt last: see test_markers */
        default: t = t * 33 + table[(unsigned char)s[i] % 64];
        }
    }
    return t;
}
uint64_t mul(uint64_t a, uint64_t b) { return a * b + (a >> 3); }
double fp(double x) { return x * 2.5 + (double)work(3, "abc"); }
void _start(void) { work(8, "abcdefgh"); asm volatile("int $0x80; lret"); }
"""


@pytest.mark.parametrize("opt", ["-O0", "-O2", "-Os"])
def test_same_sites_as_objdump_in_compiled_c(tmp_path, opt):
    obj = cc(tmp_path, "mixed.c", MIXED_C, opt, "-fno-pie")
    sites = _objdump_sites(obj)
    assert len(sites) >= 10
    assert _check_sites(obj) == sites
    run(["ld", "-m", "elf_i386", "-o", "mixed.elf", "mixed.o"], tmp_path)
    exe = tmp_path / "mixed.elf"
    assert _check_sites(exe, linked=True) == _objdump_sites(exe, linked=True)


def test_same_sites_as_objdump_in_libgcc(tmp_path):
    """A real archive of 32-bit objects (its cpuinfo.o uses cpuid, pushf and popf)."""
    lib = Path(run(["gcc", "-m32", "-print-file-name=libgcc.a"], tmp_path).strip())
    if not lib.is_absolute() or not lib.is_file():
        pytest.skip("no 32-bit libgcc.a")
    shutil.copy(lib, tmp_path / "libgcc.a")
    sites = _objdump_sites(tmp_path / "libgcc.a")
    assert sites and _check_sites(tmp_path / "libgcc.a") == sites


# -- linked kernels: padding, data in .text, source files (issues 10 and 11) ---------------------
# An assembly file as kernels write them: a jump followed by int3 fill, a function whose
# st_size leaves one zero byte before the next (00 55 89 e5 53 decodes as `add
# %dl,-0x77(%ebp)` then `in $0x53,%eax` once out of step), a table of addresses typed
# @object in .text (NetBSD's i8259_stubs), untyped labels, and one hidden cli.
VECTORS_S = """\t.file "vec.S"
\t.text
\t.globl vec_entry
\t.type vec_entry, @function
vec_entry:
\tpushl %eax
\tmovl $1, %eax
\tpopl %eax
\tjmp vec_common
\t.fill 5, 1, 0xcc
vec_local:
\tnop
\tret
\t.size vec_entry, . - vec_entry
\t.byte 0
\t.globl vec_common
\t.type vec_common, @function
vec_common:
\tpushl %ebp
\tmovl %esp, %ebp
\tpushl %ebx
\tpopl %ebx
\tpopl %ebp
\tret
\t.size vec_common, . - vec_common
\t.globl stub_table
\t.type stub_table, @object
stub_table:
\t.long 0x00cf9a00, 0xfa9dcfee, 0xe4ec6c6d
\t.size stub_table, . - stub_table
\t.globl after_table
after_table:
\tnop
\t.byte 0xfa
\tret
\t.p2align 4, 0xcc
"""
# C objects with globals only (nothing in the symbol table says whose they are once
# linked) after the assembly file's locals; with and without line info.
AGP_C = """int agp_count;
int agpbusprint(int x) { return x * 3 + agp_count; }
int agp_attach(int x) { __asm__ volatile(".byte 0xfb"); return x + 1; }
"""
PLAIN_C = """static int plain_helper(int x) { __asm__ volatile("" : "+r"(x)); return x * 5; }
int plain_value(int x) { __asm__ volatile(".byte 0xf4, 0x90"); return plain_helper(x) + 7; }
static int plain_after(int x) { return x - 1; }
int (*plain_keep)(int) = plain_after;
"""
LINK_SCRIPT = """ENTRY(vec_entry)
SECTIONS {
  . = 0x100000;
  .text : { vec.o(.text) . = ALIGN(16); agp.o(.text) . = ALIGN(32); plain.o(.text) } =0x%s
  .data : { *(.data) *(.bss) }
}
"""


@pytest.mark.parametrize("fill", ["cccccccc", "00000000", "90909090"])
@pytest.mark.parametrize("debug", [True, False])
def test_linked_kernel_with_padding_and_data_in_text(tmp_path, fill, debug):
    (tmp_path / "vec.S").write_text(VECTORS_S)
    run(["as", "--32", "-o", "vec.o", "vec.S"], tmp_path)
    flags = ["-O2", "-fno-pie", "-fno-asynchronous-unwind-tables", "-fno-inline", "-fno-toplevel-reorder"] + (["-g"] if debug else [])
    cc(tmp_path, "agp.c", AGP_C, *flags)
    cc(tmp_path, "plain.c", PLAIN_C, *flags)
    (tmp_path / "k.ld").write_text(LINK_SCRIPT % fill)
    run(["ld", "-m", "elf_i386", "-T", "k.ld", "-o", "k.elf", "vec.o", "agp.o", "plain.o"], tmp_path)
    exe = tmp_path / "k.elf"
    found = check_file(exe)
    assert [(f.symbol, f.symbol_offset, f.rule) for f in found] == [
        ("after_table", 1, "cli"), ("agp_attach", 0, "sti"), ("plain_value", 0, "hlt")]
    assert _check_sites(exe, linked=True) == _objdump_sites(exe, linked=True)
    # the file is the right one or none: agp_attach is not vec.S's (the locals before it)
    after_table, agp_attach, plain_value = (f.source for f in found)
    assert after_table is None                      # vec.S's locals are all before it
    if debug:
        assert agp_attach == "agp.c:3" and plain_value == "plain.c:2"
    else:
        assert agp_attach is None and plain_value == "plain.c"     # between plain.c's statics


def test_straddling_instruction_is_checked_and_the_sweep_resumes_at_the_symbol(tmp_path):
    # `mov %eax, %cr3` (0f 22 d8) with a symbol on its second byte: the instruction is
    # still found (a symbol cannot hide it), and decoding restarts at the symbol
    src = "\t.text\nf:\tnop\n\t.byte 0x0f\ng:\t.byte 0x22, 0xd8\n\tcli\n\tret\n"
    found = [(f.offset, f.rule) for f in check_file(assemble(src, tmp_path / "s"))]
    assert found == [(1, "mov_cr"), (4, "cli")]


# -- bad input ------------------------------------------------------------------------------------
def _bad_files(tmp_path):
    (tmp_path / "empty.o").write_bytes(b"")
    (tmp_path / "text.o").write_text("\tcli\n")
    (tmp_path / "dir.o").mkdir()
    (tmp_path / "x64.c").write_text("void f(void) { asm volatile(\"cli\"); }\n")
    run(["gcc", "-c", "-o", "x64.o", "x64.c"], tmp_path)
    good = cc(tmp_path, "io.c", IO_C, "-O2", "-g").read_bytes()
    (tmp_path / "short.o").write_bytes(good[:40])
    (tmp_path / "trunc.o").write_bytes(good[:len(good) // 2])
    (tmp_path / "bad.a").write_bytes(b"!<arch>\nthis is not a member header at all\n")
    return {
        "missing.o": "missing.o: no such file",
        "empty.o": "empty.o: empty file",
        "text.o": "text.o: not an ELF file or ar archive",
        "dir.o": "dir.o: is a directory",
        "x64.o": "x64.o: is a 64-bit x86-64 ELF; lvm guests are 32-bit IA-32 (EM_386)",
        "short.o": "short.o: truncated ELF header",
        "trunc.o": "trunc.o: truncated ELF (",
        "bad.a": "bad.a: malformed ar archive",
    }


def test_bad_input_is_an_error(tmp_path):
    for name, message in _bad_files(tmp_path).items():
        with pytest.raises(LvmError) as e:
            check_file(tmp_path / name)
        assert str(e.value).startswith("%s/%s" % (tmp_path, message))


def test_bad_input_on_the_command_line(tmp_path):
    bad = _bad_files(tmp_path)
    for name, message in bad.items():
        r = lvm(["check", name], tmp_path)
        assert r.returncode == 2, (name, r.stderr)
        assert r.stdout == ""
        assert r.stderr.startswith("lvm: error: " + message) and r.stderr.count("\n") == 1, r.stderr


def test_corrupt_objects_never_crash(tmp_path):
    """Truncated or bit-flipped objects: findings or an LvmError, never another exception."""
    cc(tmp_path, "io.c", IO_C, "-O2", "-g")
    run(["ld", "-m", "elf_i386", "-e", "entry", "-o", "io.elf", "io.o"], tmp_path)
    assemble("\t.text\nx:\tinb $0x60, %al\n", tmp_path / "a_member_name_longer_than_sixteen")
    run(["ar", "rcs", "lib.a", "io.o", "a_member_name_longer_than_sixteen.o"], tmp_path)
    rng = random.Random(1234)
    for name in ("io.o", "io.elf", "lib.a"):
        good = (tmp_path / name).read_bytes()
        variants = [good[:n] for n in range(0, len(good), max(1, len(good) // 60))]
        for _ in range(80):
            b = bytearray(good)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            variants.append(bytes(b))
        for i, data in enumerate(variants):
            p = tmp_path / ("v%d" % i)
            p.write_bytes(data)
            try:
                check_file(p)
            except LvmError:
                pass


# -- the command line ------------------------------------------------------------------------------
LINE = re.compile(r"^(?P<path>\S+): (?P<sec>\.[\w.]+)\+(?P<off>0x[0-9a-f]+)(?: @(?P<addr>0x[0-9a-f]+))? "
                  r"<(?P<sym>[\w.]+)(?:\+(?P<symoff>0x[0-9a-f]+))?>(?: \((?P<src>[^)]+)\))?: "
                  r"(?P<text>.+?)  \[(?P<rule>\w+): (?P<why>.+)\]$")


def test_output_format(tmp_path):
    obj = cc(tmp_path, "io.c", IO_C, "-O2", "-g")
    r = lvm(["check", "io.o"], tmp_path)
    assert r.returncode == 1 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines == [format_finding(f).replace(str(obj), "io.o") for f in check_file(obj)]
    m = LINE.match(lines[0])
    assert m, lines[0]
    assert m.group("path", "sec", "sym", "src", "text", "rule") == ("io.o", ".text", "io", "io.c:4", "cli", "cli")
    assert m.group("why") == "clears the virtual IF"
    assert all(LINE.match(l) for l in lines)


def test_output_format_linked_and_16bit(tmp_path):
    src = "\t.text\n\t.globl _start\n_start:\n\tnop\n\t.byte 0xfa\n\t.code16\n\tlgdt (%si)\n\t.code32\n"
    assemble(rewrite_text(src, "call").text, tmp_path / "k")
    run(["ld", "-m", "elf_i386", "-Ttext=0x100000", "-o", "k.elf", "k.o"], tmp_path)
    r = lvm(["check", "k.elf"], tmp_path)
    assert r.returncode == 1
    # ld names k.o (an STT_FILE) before its local symbols, the 16-bit region's markers: the
    # lgdt between them is k.o's; the cli before them could be another object's
    assert r.stdout.splitlines() == [
        "k.elf: .text+0x1 @0x100001 <_start+0x1>: cli  [cli: clears the virtual IF]",
        "k.elf: .text+0x2 @0x100002 <_start+0x2> (k.o): lgdtw (%si)  [lgdt: privileged; 16-bit code]"]
    r = lvm(["check", "--allow-code16", "k.elf"], tmp_path)
    assert r.returncode == 1 and len(r.stdout.splitlines()) == 1


def test_summary_and_exit_statuses(tmp_path):
    assemble("\t.text\n\tcli\n\tsti\n", tmp_path / "dirty")
    assemble("\t.text\n\tret\n", tmp_path / "clean")
    r = lvm(["check", "--summary", "clean.o"], tmp_path)
    assert (r.returncode, r.stdout) == (0, "clean.o: clean: no interesting instruction outside the runtime\n")
    r = lvm(["check", "clean.o"], tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = lvm(["check", "--summary", "dirty.o", "clean.o"], tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines()[2:] == ["dirty.o: 2 finding(s)",
                                        "clean.o: clean: no interesting instruction outside the runtime"]
    # trouble wins over findings, and the other files are still checked
    r = lvm(["check", "--summary", "dirty.o", "missing.o", "clean.o"], tmp_path)
    assert r.returncode == 2
    assert r.stderr == "lvm: error: missing.o: no such file\n"
    assert len(r.stdout.splitlines()) == 4 and "Traceback" not in r.stdout + r.stderr
    r = lvm(["check"], tmp_path)                                 # usage error: click's status 2
    assert r.returncode == 2 and "Missing argument" in r.stderr


def test_multiboot_header_in_text_is_data(tmp_path):
    # xv6 and others put the Multiboot header in .text; its checksum for flags 3
    # disassembles as `sti`.  It is data; an instruction hidden right after it is not.
    header = "\t.text\n\t.p2align 2\nmb:\t.long 0x1badb002, 3, -(0x1badb002 + 3)\n"
    clean = assemble(header + "start:\tnop\n\tret\n", tmp_path / "mb")
    assert check_file(str(clean)) == []
    hidden = assemble(header + "start:\t.byte 0xfa\n\tret\n", tmp_path / "mbh")
    assert [(f.rule, f.offset) for f in check_file(str(hidden))] == [("cli", 12)]
    # A wrong checksum is not a header: its bytes are checked (fb = sti at offset 8).
    bad = assemble("\t.text\n\t.long 0x1badb002, 3, 0x909090fb\n", tmp_path / "nomb")
    assert [(f.rule, f.offset) for f in check_file(str(bad))] == [("sti", 8)]


# -- cost -------------------------------------------------------------------------------------------
_PEAK = ("import resource, sys\nfrom lvm.check import check_file\nassert check_file(sys.argv[1]) == []\n"
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def test_memory_does_not_grow_with_the_number_of_instructions(tmp_path):
    """capstone answers 248 bytes per instruction: decoding a section in one call made
    `.rept 10000000; nop; .endr` cost 2.5 GB (gas: 375 MB).  The check decodes a bounded
    number at a time, so its peak grows only with the section's bytes."""
    peaks = []
    for n in (20000, 200000):
        obj = assemble("\t.text\n\t.rept %d\n\tnop\n\t.endr\n" % n, tmp_path / ("n%d" % n))
        r = subprocess.run([sys.executable, "-c", _PEAK, str(obj)], capture_output=True, text=True, env=ENV)
        assert r.returncode == 0, r.stderr
        peaks.append(int(r.stdout))                     # KiB
    assert peaks[1] - peaks[0] < 16 * 1024, peaks        # in one call: +43 MB


def test_cost_is_linear_in_undecodable_bytes(tmp_path):
    # every byte of a run of es prefixes stops capstone; the sweep resumes one byte on, and
    # used to copy the rest of the section each time
    def junk(n):
        return assemble("\t.text\n\tnop\n\t.fill %d, 1, 0x26\n\tret\n" % n, tmp_path / ("j%d" % n))
    assert growth(check_file, junk, 10000) < 8
