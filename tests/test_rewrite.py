"""Table-driven tests of the rewriting rules: every family, every operand form.

Each case is one source statement and what call mode must make of it; trap mode is
always `.byte 0xf4; <original>`.  Every rewritten case must assemble with `as --32`
and leave `lvm check` nothing to report; every non-interesting statement must come
out byte-identical.
"""
import re
import subprocess

import pytest

from conftest import assemble, growth, text_bytes
from lvm.check import check_file
from lvm.errors import AsmError
from lvm.rewrite import rewrite_text
from lvm import vcpu

LAY = vcpu.layout()
EMU = "call __lvm_emulate; "


def load(op, member, index, dst=""):
    return "%s %s%s" % (op, LAY.read_ref(member, index), ", " + dst if dst else "")


SEL = dict(es=0, cs=1, ss=2, ds=3, fs=4, gs=5)

# (statement, expected call-mode text; EMU + statement when None)
CASES = [
    ("cli", "movl $0, %s" % LAY.write_ref("vif")),
    ("sti", "call __lvm_sti"),
    ("pushf", "call __lvm_pushf"), ("pushfl", "call __lvm_pushf"), ("pushfw", None),
    ("popf", "call __lvm_popf"), ("popfl", "call __lvm_popf"), ("popfw", None),
    ("iret", None), ("iretl", None), ("iretw", None), ("hlt", None),
    # port I/O, every size and port form
    ("inb $0x60, %al", None), ("inw $0x60, %ax", None), ("inl $0x60, %eax", None),
    ("inb %dx, %al", None), ("inb (%dx), %al", None), ("in %dx, %eax", None), ("in $0x21, %al", None),
    ("outb %al, $0x80", None), ("outw %ax, %dx", None), ("outl %eax, (%dx)", None), ("out %al, %dx", None),
    ("insb", None), ("insw", None), ("insl", None), ("rep insb", None), ("rep insl (%dx), %es:(%edi)", None),
    ("outsb", None), ("outsw %ds:(%esi), (%dx)", None), ("rep outsl", None), ("rep outsb %fs:(%esi), (%dx)", None),
    ("addr16 insb", None), ("data16 outsl", None),
    # descriptor tables and task register
    ("lgdt (%eax)", None), ("lgdt 4(%esp)", None), ("lgdtl gdt_desc", None), ("lgdtw (%eax)", None),
    ("lgdt %fs:8(%esp,%ecx,4)", None), ("data16 lgdt (%eax)", None),
    ("lidt idt_desc", None), ("lidtl -6(%ebp)", None), ("sgdt (%esp)", None), ("sidt 2(%eax)", None),
    ("lldt %ax", None), ("lldt 2(%esp)", None), ("ltr %ax", None), ("ltrw (%eax)", None),
    ("sldt %eax", load("movl", "sel", 6, "%eax")), ("sldt %ax", load("movw", "sel", 6, "%ax")),
    ("sldt (%eax)", None),
    ("str %eax", load("movl", "sel", 7, "%eax")), ("str %cx", load("movw", "sel", 7, "%cx")), ("str (%esp)", None),
    ("smsw %eax", load("movl", "cr", 0, "%eax")), ("smsw %ax", load("movw", "cr", 0, "%ax")), ("smsw (%eax)", None),
    ("lmsw %ax", None), ("lmsw (%eax)", None), ("clts", None),
    ("invlpg (%eax)", None), ("invlpg 4(%esp)", None), ("invlpg %gs:(%ebx,%esi,2)", None),
    ("invd", None), ("wbinvd", None),
    # control and debug registers
    ("mov %cr0, %eax", load("movl", "cr", 0, "%eax")), ("mov %cr2, %edx", load("movl", "cr", 2, "%edx")),
    ("movl %cr3, %ebx", load("movl", "cr", 3, "%ebx")), ("mov %cr4, %esp", load("movl", "cr", 4, "%esp")),
    ("mov %eax, %cr0", None), ("movl %esp, %cr3", None), ("mov %ecx, %cr4", None), ("mov %ebx, %cr2", None),
    ("mov %dr7, %eax", load("movl", "dr", 7, "%eax")), ("mov %db0, %ecx", load("movl", "dr", 0, "%ecx")),
    ("mov %dr6, %esi", load("movl", "dr", 6, "%esi")),
    ("mov %dr4, %eax", None), ("mov %eax, %dr7", None), ("movl %edi, %dr0", None),
    # MSRs and identification
    ("rdmsr", None), ("wrmsr", None), ("rdpmc", None), ("cpuid", None), ("rdtscp", None),
    ("rdpid %eax", None), ("wrpkru", None), ("rdpkru", None),
    # segment registers
    ("mov %ds, %eax", load("movl", "sel", SEL["ds"], "%eax")), ("movl %ss, %ebx", load("movl", "sel", SEL["ss"], "%ebx")),
    ("mov %cs, %ax", load("movw", "sel", SEL["cs"], "%ax")), ("movw %gs, %dx", load("movw", "sel", SEL["gs"], "%dx")),
    ("mov %ds, (%eax)", None), ("movw %es, 4(%esp)", None),
    # a data segment register loaded from a register: movseg's subroutine, the
    # original in its 32-bit spelling behind it (its 8e /r is what the subroutine skips)
    ("mov %eax, %ds", "call __lvm_movseg_ds_eax; movl %eax, %ds"),
    ("movl %ecx, %gs", "call __lvm_movseg_gs_ecx; movl %ecx, %gs"),
    ("movw %dx, %fs", "call __lvm_movseg_fs_edx; movl %edx, %fs"),
    ("mov %di, %es", "call __lvm_movseg_es_edi; movl %edi, %es"),
    ("mov %esp, %ds", None), ("movw %ax, %ss", None), ("mov (%esp), %es", None),
    ("fs mov %eax, %ds", None),
    ("push %ds", load("pushl", "sel", SEL["ds"])), ("pushl %cs", load("pushl", "sel", SEL["cs"])),
    ("pushw %gs", load("pushw", "sel", SEL["gs"])), ("push %ss", load("pushl", "sel", SEL["ss"])),
    ("pop %ds", "call __lvm_popseg_ds; popl %ds"), ("popl %fs", "call __lvm_popseg_fs; popl %fs"),
    ("pop %gs", "call __lvm_popseg_gs; popl %gs"), ("popl %es", "call __lvm_popseg_es; popl %es"),
    # ... and from the stack frame, `mov DISP(%esp), %sreg` with DISP a number >= 0
    # (Linux's exit path: `mov PT_FS(%esp), %fs`, PT_FS from asm-offsets.h)
    ("mov 36(%esp), %fs", "call __lvm_memseg_fs_d8; movw 36(%esp), %fs"),
    ("movw 0x12c(%esp), %ds", "call __lvm_memseg_ds_d32; movw 300(%esp), %ds"),
    ("mov 127(%esp), %es", "call __lvm_memseg_es_d8; movw 127(%esp), %es"),
    ("mov 128(%esp), %es", "call __lvm_memseg_es_d32; movw 128(%esp), %es"), ("mov 0(%esp), %es", None),
    ("movw 4(%esp), %fs", "call __lvm_memseg_fs_d8; movw 4(%esp), %fs"),
    ("mov -4(%esp), %gs", None), ("mov PT_FS(%esp), %fs", None), ("mov 4(%eax), %fs", None),
    ("popw %es", None), ("pop %ss", None), ("gs pop %ds", None),
    ("lds (%eax), %ebx", None), ("les 4(%esp), %edi", None), ("lfs (%eax), %ecx", None),
    ("lgs 8(%esp), %edx", None), ("lss (%eax), %esp", None), ("lssw (%eax), %sp", None),
    # far transfers
    ("ljmp $0x10, $0x1000", None), ("ljmpw $0x10, $0x1000", None), ("ljmp *(%eax)", None),
    ("ljmpl *4(%esp)", None), ("lcall $0x10, $0x1000", None), ("lcall *(%eax)", None),
    ("lcallw *(%ebx)", None), ("jmp $0x10, $0x1000", None), ("call $0x8, $0x1000", None),
    ("lret", None), ("lret $4", None), ("lretw", None), ("retf", None), ("lretl $8", None),
    # software interrupts, fast system calls
    ("int $0x80", None), ("into", None), ("int1", None),
    ("sysenter", None), ("sysexit", None), ("syscall", None), ("sysret", None),
    # descriptor queries
    ("lar %eax, %ebx", None), ("larw %ax, %bx", None), ("lar (%eax), %ecx", None),
    ("lsl %eax, %ebx", None), ("lsl 4(%esp), %edx", None), ("verr %ax", None), ("verw (%eax)", None),
    ("arpl %ax, %bx", None), ("arpl %ax, (%ebx)", None),
    # newer system instructions
    ("clac", None), ("stac", None), ("monitor", None), ("mwait", None), ("xsetbv", None),
    # prefixes force the generic path
    ("data16 pushf", None), ("cs cli", None),
]

PRELUDE = ".text\ngdt_desc: .long 0, 0\nidt_desc: .long 0, 0\n"


def _ids(c):
    return c[0].replace(" ", "_")


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("mode", ["call", "trap"])
def test_rule(case, mode, tmp_path):
    stmt, call_text = case
    expected = ".byte 0xf4; " + stmt if mode == "trap" else (call_text or EMU + stmt)
    res = rewrite_text("\t%s\n" % stmt, mode)
    first = res.text.split("\n")[0]
    assert first == "\t" + expected
    assert res.rewritten == 1
    obj = assemble(PRELUDE + res.text, tmp_path / "t")
    assert check_file(str(obj)) == []
    # and the original, unrewritten, is a finding: the table and the check agree
    raw = assemble(PRELUDE + "\t%s\n" % stmt, tmp_path / "raw")
    assert len(check_file(str(raw))) == 1


@pytest.mark.parametrize("case", [c for c in CASES if c[1] is None], ids=_ids)
def test_emulated_original_is_byte_identical(case, tmp_path):
    """Behind the marker the original instruction is assembled exactly as written."""
    stmt = case[0]
    plain = text_bytes(assemble(PRELUDE + "\t%s\n" % stmt, tmp_path / "p"))
    trap = text_bytes(assemble(PRELUDE + rewrite_text("\t%s\n" % stmt, "trap").text, tmp_path / "t"))
    start = len(text_bytes(assemble(PRELUDE, tmp_path / "e")))
    assert trap[start] == 0xF4
    assert trap[start + 1:] == plain[start:]


UNINTERESTING = [
    "movl %eax, %ebx", "mov 4(%esp), %eax", "push %eax", "pushl $cli", "pop %ebx", "popl 4(%esp)",
    "jmp *%eax", "jmp *(%eax)", "call *(%eax)", "call *%edx", "jmp 1f\n1:", "ret", "ret $4",
    "rdtsc", "ud2", "pause", "lfence", "xgetbv", "movl $cli, %eax", "call sti_wrapper\nsti_wrapper: ret",
    "int_handler: nop", ".globl cli_entry\ncli_entry: nop", "inc %eax", "insertps $0, %xmm1, %xmm2",
    "movl %eax, %cr_table", "leal in(%eax), %ebx\nin: .long 0", ".ascii \"cli; sti # int $3\"",
    "movl $'#, %eax", "/* cli */ nop", "# cli", "nop # hlt", "rep movsl", "rep; stosb", "lock incl (%eax)",
    "movw $0x10, %ax", "movzwl %ax, %eax", "push %es_save\nes_save: .long 0", "xchg %eax, %ebx",
    "out_label: ret", "str_table: .long 0", "bswap %eax", "fxsave (%eax)",
]


@pytest.mark.parametrize("stmt", UNINTERESTING)
@pytest.mark.parametrize("mode", ["call", "trap"])
def test_uninteresting_left_alone(stmt, mode):
    src = "\t.text\n%s\n" % stmt
    res = rewrite_text(src, mode)
    assert res.text == src
    assert res.rewritten == 0


def test_compiler_output_without_interesting_is_identical(tmp_path):
    c = tmp_path / "x.c"
    c.write_text("""
        struct s { int a; char b[10]; };
        static int helper(struct s *p, int n) { int t = 0; for (int i = 0; i < n; i++) t += p[i].a * i; return t; }
        int f(struct s *p, int n) { if (n > 3) return helper(p, n) ^ 0x5a; return p->b[1]; }
        const char *msg = "cli; sti # in out";
        double g(double x) { return x * 3.5 + f(0, 0); }
    """)
    for opt in ("-O0", "-O2"):
        s = subprocess.run(["gcc", "-m32", opt, "-g", "-S", "-o", "-", str(c)], check=True,
                           capture_output=True, text=True).stdout
        res = rewrite_text(s, "call")
        assert res.text == s and res.rewritten == 0


def test_lines_and_labels_kept():
    src = "a: b: cli ; 1: sti # c\n\tnop\n2:\tmov %cr3, %eax\n"
    out = rewrite_text(src, "call").text.split("\n")
    assert out[0] == "a: b: movl $0, %s ; 1: call __lvm_sti # c" % LAY.write_ref("vif")
    assert out[1] == "\tnop"
    assert out[2] == "2:\tmovl %s, %%eax" % LAY.read_ref("cr", 3)


def test_prefix_on_its_own_line_gets_the_marker_in_front(tmp_path):
    src = "\t.text\n\trep\n\tinsb\n\tlock\n\tincl (%eax)\n"
    for mode, marker in (("call", "call __lvm_emulate; "), ("trap", ".byte 0xf4; ")):
        res = rewrite_text(src, mode)
        lines = res.text.split("\n")
        assert lines[1] == "\t" + marker + "rep"
        assert lines[2] == "\tinsb"
        assert lines[3] == "\tlock" and lines[4] == "\tincl (%eax)"
        assert check_file(str(assemble(res.text, tmp_path / mode))) == []


@pytest.mark.parametrize("src", [
    "\t.text\n1:\trep\n\tinsb\n",                   # after a label
    "\t.text\n\n \n\trep\n\tinsb\n",                # after blank lines (the pattern's `^\\s*` spans them)
    "\t.text\n\tREP # é\n\tinsb\n",                  # non-ASCII text: every line with a non-ASCII character
])
def test_prefix_on_its_own_found_anywhere(src, tmp_path):
    res = rewrite_text(src, "call")
    line = [l for l in res.text.split("\n") if "rep" in l.lower()][0]
    assert "call __lvm_emulate; " in line
    assert check_file(str(assemble(res.text, tmp_path / "p"))) == []


@pytest.mark.parametrize("line", ['\t.string "x"', '# 1 "x.h" 1', '\t.section .rodata,"a"'])
def test_strings_between_prefix_and_instruction(line):
    # lines with a string that the filter leaves out (rewrite.quiet_string_line) act as if
    # scanned: after a directive the prefix no longer waits for an instruction, after a
    # comment it still does
    src = "\trep\n%s\n\tinsb\n" % line
    assert rewrite_text(src, "call").text.startswith("\tcall __lvm_emulate; rep\n" if line[0] == "#"
                                                    else "\trep\n")


def test_label_between_prefix_and_instruction_is_an_error():
    with pytest.raises(AsmError, match=r"x.s:2: error: a label separates"):
        rewrite_text("\trep\n1:\tinsb\n", "call", "x.s")
    # ... only when the instruction is rewritten: gas assembles the prefix alone, and
    # nothing of lvm's comes between (the filter skips such a line: a scan must agree;
    # found by test_rewrite_property)
    for mode in ("call", "trap", "user"):
        for src in ("\trep\n1:\tnop\n", "\trep; 1: movl %eax, %ebx\n", "\trep\n1:\tsysenter\n"):
            if mode == "user" or "sysenter" not in src:
                assert rewrite_text(src, mode).text.startswith(src), (mode, src)


def test_macro_bodies_are_rewritten(tmp_path):
    src = """\t.text
\t.macro load_cr3 reg
\tmov %\\reg, %cr3
\tmov %cr3, %\\reg
\tcli
\t.endm
\t.macro many
\t.rept 3
\tinb $0x60, %al
\t.endr
\t.irp r, eax, ebx
\tmov %cr0, %\\r
\t.endr
\t.endm
\tload_cr3 eax
\tmany
"""
    for mode in ("call", "trap"):
        res = rewrite_text(src, mode)
        assert res.rewritten == 5
        assert check_file(str(assemble(res.text, tmp_path / mode))) == []


def test_undecided_macro_parameters_are_caught_by_the_check(tmp_path):
    # A body with a block of its own (.rept, .irp, a nested .macro) is not expanded:
    # the check judges the object.
    src = ("\t.text\n\t.macro op insn a b\n\t.rept 1\n\t\\insn \\a, \\b\n\t.endr\n\t.endm\n"
           "\top mov %cr0, %eax\n\top mov %eax, %ebx\n")
    res = rewrite_text(src, "call")
    assert res.undecided == [4]
    findings = check_file(str(assemble(res.text, tmp_path / "u")))
    assert [f.rule for f in findings] == ["mov_cr"]


MSR_REG = """\t.text
.macro op_safe_regs op
\t.globl \\op\\()_safe_regs
\\op\\()_safe_regs:
\tpushl %ebx
1:\t\\op
2:\tpopl %ebx
\t.pushsection __ex_table,"a"
\t.long 1b - ., 2b - .
\t.popsection
\tret
.endm
op_safe_regs rdmsr
op_safe_regs wrmsr
.macro ALTERNATIVE oldinstr, newinstr, feature:req
140:
\t\\oldinstr
141:
\t.pushsection .altinstr_replacement,"ax"
\t\\newinstr
\t.popsection
.endm
\tALTERNATIVE "", ".byte 0x0f,0x01,0xca", ( 9*32+20)
\tALTERNATIVE "", "stac", 3
\tALTERNATIVE "pushl %ds", "nop", feature=4
\tALTERNATIVE "mov %cr0, %eax"
"""


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_macros_whose_instructions_are_parameters_are_expanded(tmp_path, mode):
    # Linux's msr-reg.S (`1: \op`, invoked with rdmsr and wrmsr) and its assembler
    # ALTERNATIVE macros (`\newinstr` in .altinstr_replacement): each invocation is the
    # body with its arguments, rewritten; an invocation missing a :req argument is not
    # gas's to accept and stays as written.
    res = rewrite_text(MSR_REG, mode)
    lines = res.text.split("\n")
    assert "rdmsr_safe_regs:" in lines[12] and "rdmsr" in lines[12].split("1:")[1]
    marker = ".byte 0xf4" if mode == "trap" else "call __lvm_emulate"
    assert marker + "; rdmsr" in lines[12] and marker + "; wrmsr" in lines[13]
    assert ".byte 0xf4; .byte 0x0f,0x01,0xca" in lines[22] and ".byte 0xf4; stac" in lines[23]
    assert "%cs:" in lines[24] or (mode == "trap" and ".byte 0xf4; pushl %ds" in lines[24])
    assert lines[25] == '\tALTERNATIVE "mov %cr0, %eax"'
    obj = assemble(res.text.replace(lines[25] + "\n", ""), tmp_path / mode)
    assert check_file(str(obj)) == []
    assert rewrite_text(res.text, mode).text == res.text               # idempotent



# Linux's entry_32.S: SAVE_ALL (a macro gas expands at every entry stub) invokes
# SWITCH_TO_KERNEL_STACK, whose labels are `.Lend_\@`; an expansion lvm-as writes into
# a body gas assembles more than once must keep those labels apart in every copy.
NESTED_SERIAL = """\t.text
.macro switch op
\t\\op
\tjz .Lend_\\@
\tnop
.Lend_\\@:
.endm
.macro save_all
\tswitch cli
\tpushl %eax
.endm
\tsave_all
\tsave_all
\tswitch sti
\tswitch sti
\t.rept 2
\tswitch cli
\t.endr
"""


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_labels_of_expansions_in_repeated_bodies_stay_apart(tmp_path, mode):
    res = rewrite_text(NESTED_SERIAL, mode)
    lines = res.text.split("\n")
    assert ".Lend_100001_\\@:" in lines[8]                 # in save_all: its own \@ too
    assert ".Lend_100002:" in lines[13] and ".Lend_100003:" in lines[14]
    assert lines[16] == "\tswitch cli"                       # in a .rept: left to gas
    obj = assemble(res.text, tmp_path / mode)               # no label defined twice
    assert [f.text for f in check_file(str(obj))] == ["cli", "cli"]   # the .rept's, for the check
    assert rewrite_text(res.text, mode).text == res.text

def test_code16_is_left_alone_and_marked(tmp_path):
    src = "\t.text\n\t.code16\n\tcli\n\tlgdt (%si)\n\t.code32\n\tcli\n"
    res = rewrite_text(src, "call")
    lines = res.text.split("\n")
    assert lines[2] == "\tcli" and lines[3] == "\tlgdt (%si)"
    assert lines[5].startswith("\tmovl $0,")
    obj = assemble(res.text, tmp_path / "c16")
    assert len(check_file(str(obj))) == 2
    assert check_file(str(obj), allow_code16=True) == []


def test_pushsection_popsection(tmp_path):
    src = "\t.text\n1:\tcli\n\t.pushsection .fixup, \"ax\"\n2:\tsti\n\tjmp 1b\n\t.popsection\n\thlt\n"
    res = rewrite_text(src, "call")
    assert res.rewritten == 3
    assert check_file(str(assemble(res.text, tmp_path / "p"))) == []


def test_rewriting_twice_changes_nothing():
    src = "\t.text\n" + "\n".join("\t" + c[0] for c in CASES) + "\n"
    for mode in ("call", "trap"):
        once = rewrite_text(src, mode).text
        assert rewrite_text(once, mode).text == once


@pytest.mark.parametrize("src,message", [
    ("\t.intel_syntax noprefix\n\tcli\n", "x.s:2: error: cannot rewrite `cli` in Intel syntax"),
    ("\t.intel_syntax noprefix\n\tmov eax, cr0\n", "x.s:2: error: cannot rewrite `mov eax, cr0`"),
    ("\t.intel_syntax noprefix\n\tjmp far ptr [eax]\n", "x.s:2: error: cannot rewrite"),
    ("\t.macro m\n\tcli\n", "x.s:3: error: end of file inside .macro m"),
    ("\t.rept 2\n\tcli\n", "x.s:3: error: end of file inside .rept"),
    ("\t.endr\n", "x.s:1: error: .endr without a matching"),
    ("\t.ascii \"cli\n", "x.s:1: error: unterminated string"),
])
def test_bad_input_is_a_located_error(src, message):
    with pytest.raises(AsmError) as e:
        rewrite_text(src, "call", "x.s")
    assert str(e.value).startswith(message)


def test_intel_syntax_without_interesting_instructions_passes(tmp_path):
    src = "\t.text\n\t.intel_syntax noprefix\n\tmov eax, ebx\n\tadd eax, 4\n\t.att_syntax prefix\n\tcli\n"
    res = rewrite_text(src, "call")
    assert res.rewritten == 1
    assert check_file(str(assemble(res.text, tmp_path / "i"))) == []


def test_hidden_byte_is_a_check_finding(tmp_path):
    src = "\t.text\n\tnop\n\t.byte 0xfa\n\tnop\n"
    res = rewrite_text(src, "call")
    assert res.rewritten == 0
    findings = check_file(str(assemble(res.text, tmp_path / "b")))
    assert [(f.rule, f.offset) for f in findings] == [("cli", 1)]



@pytest.mark.parametrize("mode", ["call", "trap"])
def test_byte_encoded_instructions_in_code_are_rewritten(tmp_path, mode):
    # Linux writes clac/stac (asm/smap.h, in .altinstr_replacement), monitor/mwait
    # (asm/mwait.h) as bytes; data sections and partial encodings are left alone.
    src = ("\t.text\n\t.byte 0x0f,0x01,0xc8\n\t.byte 15, 1, 0311\n"
           "\t.pushsection .altinstr_replacement,\"ax\"\n\t.byte 0x0f,0x01,0xca\n\t.popsection\n"
           "\t.section .rodata\n\t.byte 0x0f,0x01,0xca\n\t.text\n\t.byte 0x0f,0x01\n\tret\n")
    res = rewrite_text(src, mode)
    assert res.rewritten == 3
    lines = res.text.split("\n")
    assert lines[4] == "\t.byte 0xf4; .byte 0x0f,0x01,0xca"              # copied: trap form
    assert lines[7] == "\t.byte 0x0f,0x01,0xca" and lines[9] == "\t.byte 0x0f,0x01"
    assert check_file(str(assemble(res.text, tmp_path / mode))) == []
    assert rewrite_text(res.text, mode).text == res.text               # idempotent


TRAMPOLINE = """\t.text
\t.code16
\t.globl tramp
tramp:
\tcli
\tlgdtl gdtdesc - tramp
\tmovl %cr0, %eax
\torl $1, %eax
\tmovl %eax, %cr0
\tljmpl $8, $start32
\t.code32
start32:
\tmovl $0x10, %eax
\tmovl %eax, %ds
\tjmp go
\t.p2align 2
gdt:
\t.word 0, 0, 0, 0
\t.word 0xffff, 0, 0x9a00, 0xcf
\t.word 0xffff, 0, 0x9200, 0xcf
gdtdesc:
\t.word 0x17
\t.long gdt
go:\tcli
\tret
"""


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_data_after_a_jump_in_a_file_with_16_bit_code_is_data(tmp_path, mode):
    # A secondary-CPU trampoline (a teaching kernel's, NetBSD's mptramp.S) keeps its GDT
    # in .text after a jmp: its descriptors decode as `lcall $0x0,$0xffff00cf`.  lvm-as
    # puts data after an unconditional transfer, in files with 16-bit code, between
    # __lvm_data_begin/_end labels, which the check does not decode.
    res = rewrite_text(TRAMPOLINE, mode)
    assert "__lvm_data_begin_1: .word 0, 0, 0, 0" in res.text
    assert "__lvm_data_end_1: go:" in res.text
    obj = assemble(res.text, tmp_path / mode)
    assert check_file(str(obj), allow_code16=True) == []
    bare = assemble(TRAMPOLINE.replace("\t.code16\n", "\t.code16\n__lvm_code16_begin_9:\n")
                    .replace("\t.code32\n", "\t.code32\n__lvm_code16_end_9:\n"), tmp_path / "bare")
    assert "lcall" in {f.rule for f in check_file(str(bare), allow_code16=True)}   # before: refused
    assert rewrite_text(res.text, mode).text == res.text               # idempotent

# NetBSD's i386_trap.S: the table of trap entry points follows the last entry's jmp, in
# .text under an @function symbol.  Its address bytes decode as whatever the link makes
# them: once lvm's subroutines moved .text, as push/pop %es.  Data after an unconditional
# transfer is marked in every hand-written file, not only in those with 16-bit code.
TRAP_TABLE = """\t.text
\t.globl Xtrap1f
Xtrap1f:
\tpushl $0
\tpushl $31
\tjmp alltraps
\t.size Xtrap1f, . - Xtrap1f
\t.align 16
\t.globl Xexceptions
\t.type Xexceptions,@function
Xexceptions:
\t.long 0x07060706, 0x07060706
\t.size Xexceptions, . - Xexceptions
alltraps:
\tpushl %es
\tcli
\tret
"""


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_data_after_a_jump_in_a_hand_written_file_is_data(tmp_path, mode):
    res = rewrite_text(TRAP_TABLE, mode)
    assert "__lvm_data_begin_1: .long 0x07060706" in res.text
    assert "alltraps:\n__lvm_data_end_1: " in res.text                  # at the next instruction
    assert check_file(str(assemble(res.text, tmp_path / mode)), allow_code16=False) == []
    assert rewrite_text(res.text, mode).text == res.text               # idempotent
    # A compiler's output keeps the line filter, and is not looked at for data in .text
    # (it puts none there): the same bytes are decoded, and refused.
    gcc = TRAP_TABLE + '\t.ident\t"GCC: (Debian 12.2.0-14) 12.2.0"\n'
    res = rewrite_text(gcc, mode)
    assert "__lvm_data_" not in res.text
    found = check_file(str(assemble(res.text, tmp_path / (mode + "gcc"))), allow_code16=False)
    assert found and all("es" in f.text for f in found)



# Linux's idtentry.h: a .rept body (and a .macro one) that gas assembles many times, with
# padding after the jmp; a label there would be defined once per copy, so none goes there
# (a macro holding a cli is rewritten in its body, once, not at each invocation).
REPEATED_BODIES = """\t.text
\t.macro ent name
\\name:
\tpushl $1
\tjmp alltraps
\t.long 7
\t.endm
\t.macro ent_cli name
\\name:
\tcli
\tjmp alltraps
\t.long 8
\t.endm
spurious_entries_start:
\t.rept 3
0:\tpushl $1
\tjmp alltraps
\t.fill 0b + 8 - ., 1, 0xcc
\t.endr
\tent a
\tent b
\tent_cli c
\tent_cli d
alltraps:
\tret
"""


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_data_in_a_body_gas_repeats_is_not_marked(tmp_path, mode):
    res = rewrite_text(REPEATED_BODIES, mode)
    assert "__lvm_data_" not in res.text and "\tjmp alltraps\n\t.long 8" in res.text
    assemble(res.text, tmp_path / mode)                 # no label defined twice
    assert rewrite_text(res.text, mode).text == res.text

# -- cost: linear in the input, whatever its shape ------------------------------------------
# One line of 40,000 `;`-separated statements took 41 s (gas: 0.02 s): each statement
# summed the lengths of all those before it.  Each of these statements went through a path
# that rescanned its line (columns, markers in front of prefixes, region symbols).
SHAPES = ["cli", "rep", "insb", "1: sti", ".code16", "cli", ".code32", "/* c */ mov %cr0, %eax",
          '.ascii "a;b"', "lock", "incl (%eax)", "movl %eax, %ebx"]


def test_cost_is_linear_in_statements_per_line():
    def one_line(n):
        return "\t.text\n\t" + "; ".join(SHAPES * n) + "\n"
    assert growth(rewrite_text, one_line, 120) < 8             # linear: ~4; quadratic: ~16


def test_cost_is_linear_in_non_ascii_text():
    # non-ASCII text went through filter_pattern(), whose `\$[^,#;\n]*,\s*\$` retries
    # the rest of a line at every `$`
    def dollars(n):
        return "# \u00e9\n\t.text\n\t" + "$" * (40 * n) + "\n\tcli\n"
    assert growth(rewrite_text, dollars, 250) < 8


def test_cost_is_linear_in_lines():
    def lines(n):
        return "\t.text\n" + "".join("\t%s\n" % s for s in SHAPES * n) + "\t.macro m\n\tcli\n\t.endm\n" * n
    assert growth(rewrite_text, lines, 120) < 8


# Code a kernel copies before running it (Linux's .altinstr_replacement): a call-mode
# marker is a relative call and would land wrong at the copy, so it gets the trap form;
# position-independent rewrites (vCPU page loads and stores) stay as they are.
@pytest.mark.parametrize("enter, leave", [
    ('\t.pushsection .altinstr_replacement, "ax"\n', "\t.popsection\n"),
    ('\t.section .altinstr_replacement,"ax"\n', "\t.previous\n"),
    ("\t.section .altinstr_replacement\n", "\t.text\n"),
    ('\t.pushsection .data\n\t.pushsection ".altinstr_replacement", "ax"\n', "\t.popsection\n\t.popsection\n"),
])
def test_copied_sections_get_the_trap_form_in_call_mode(enter, leave):
    body = "\tsti\n\twrmsr\n\tpushfl\n\tcli\n"
    text = rewrite_text("\t.text\n" + enter + body + leave + body, "call").text
    inside, _, after = text.partition(enter)[2].partition(leave)
    assert "\t.byte 0xf4; sti\n\t.byte 0xf4; wrmsr\n\t.byte 0xf4; pushfl\n" in inside
    assert "call" not in inside and "0xfffff008" in inside           # cli: a vCPU page store
    assert "\tcall __lvm_sti\n\tcall __lvm_emulate; wrmsr\n\tcall __lvm_pushf\n" in after


def test_copied_section_state_survives_skipped_lines():
    # the lines between the section switch and the instruction hold nothing for the filter
    src = '\t.pushsection .altinstr_replacement, "ax"\n' + "\tmovl %eax, %ebx\n" * 50 + "\tinb $0x60, %al\n"
    assert ".byte 0xf4; inb $0x60, %al" in rewrite_text(src, "call").text


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_int_3_is_int3_and_runs_natively(mode, tmp_path):
    """gas assembles `int $3` as int3 (0xcc), which runs natively (#BP through the
    guest's IDT): NetBSD's breakpoint() is written so.  Not rewritten, and the object
    checks clean (a trap marker before it would be a lone hlt)."""
    from conftest import assemble
    from lvm.check import check_file
    src = "\t.text\nf:\tint $3\n\tint $0x03\n\tint $0x80\n\tret\n"
    out = rewrite_text(src, mode).text.split("\n")
    assert out[1:3] == ["f:\tint $3", "\tint $0x03"] and out[3] != "\tint $0x80"
    assert check_file(assemble(rewrite_text(src, mode).text, tmp_path / "bp")) == []
