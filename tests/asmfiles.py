"""Random whole assembly files for the rewriter's fuzz tests (test_rewrite_files.py).

A generated *project* is a main file and up to two files it includes: statements
(interesting and plain instructions, data, labels), several to a line with `;`, and
the directives that change how the following lines read: sections and the section
stack, `.code16`/`.code32`, Intel syntax, macros (defined in one file, invoked in
another, names in any case, an instruction as a parameter), `.rept`/`.irp`, `.byte`
spellings of interesting instructions, `.include`.  Data holds constants only, so
a data section's bytes do not depend on the size of the code around it, and lies
where no code falls into it.
"""
from hypothesis import strategies as st

from lvm import isa
from test_rewrite import CASES

INTERESTING = sorted({stmt for stmt, _ in CASES if "\n" not in stmt and "_desc" not in stmt})
PLAIN = ["nop", "movl $1, %eax", "addl %ebx, %ecx", "leal 4(%esp), %edx", "pushl %eax", "popl %eax",
         "xorl %eax, %eax", "testb $1, %al", "rdtsc", "lock incl (%eax)", "rep movsb", "jmp 1f", "ret"]
CODE16 = ["cli", "movw $0x10, %ax", "movw %ax, %ds", "lgdtl (%bx)", "ljmpl $0x8, $0", "inb $0x60, %al",
          "movl %cr0, %eax", "orb $1, %al"]
# (not `.byte 0xf4` in code: a trap marker to lvm-as and the check, whatever follows it)
DATA = [".long 0x12345678", ".word 0xcf00, 0xffff", ".byte 0xfa", ".byte 1, 2, 3",
        '.ascii "cli; sti"', ".fill 3, 1, 0x90", ".p2align 2", ".zero 2", ".quad 7"]
# The encodings lvm-as recognizes (a lone `.byte 0xfa` is a check finding: see
# test_rewrite.py), in the spellings kernels use, and the trap marker before an instruction.
ENCODED = [".byte " + ", ".join(f % b for b in key) for key in sorted(isa.ENCODED)
           for f in ("%#x", "%d")] + [".byte 244; cli", ".byte 244; movl %eax, %cr3"]
SECTIONS = [".text", ".data", '.section .rodata, "a"', '.section .text.fuzz, "ax", @progbits',
            '.section .init.text, "ax"', ".previous", '.section .altinstr_replacement, "ax"']
INTEL = [".intel_syntax noprefix", "\tmov eax, ebx", "\tnop", ".att_syntax prefix"]

interesting = st.sampled_from(INTERESTING)
plain = st.sampled_from(PLAIN)
label = st.sampled_from(["1:", "2:", "la:", ".Lb:"]).map(lambda l: l + " ")


def _join(stmts, sep):
    return "\t" + sep.join(stmts)


def statements(inner):
    return st.builds(_join, st.lists(inner, min_size=1, max_size=3), st.sampled_from(["; ", ";", " ; "]))


code_stmt = st.one_of(interesting, plain, st.sampled_from(ENCODED),
                      st.builds(lambda l, s: l + s, label, st.one_of(interesting, plain)))
code_line = statements(code_stmt)


def _macro(name, body, invoke):
    """A macro `name` whose body uses its parameter \\x as an instruction or an operand."""
    return [".macro %s x, y=%%eax" % name] + ["\t" + b for b in body] + [".endm"], invoke


MACRO_NAMES = ["fz_op", "FzOp", "fz.m", "Sti"]
macro_body = st.lists(st.sampled_from(["\\x", "cli", "movl \\y, %cr3", "movl %cr0, \\y", "nop", "1: \\x",
                                       "inb $0x60, %al", "\\x ; sti"]), min_size=1, max_size=3)
macro_arg = st.sampled_from(["cli", "sti", "hlt", "nop", "wbinvd", "clts", "pushf", "rdtsc", "%ebx", "iret"])


@st.composite
def block(draw, depth=0):
    """One construct: a few lines that belong together."""
    kind = draw(st.sampled_from(["code", "code", "data", "section", "code16", "intel", "rept",
                                 "irp", "macro", "invoke", "push", "comment"]))
    if kind == "code":
        return draw(st.lists(code_line, min_size=1, max_size=3))
    if kind == "data":
        # In a data section, or jumped over: data that code can fall into is ambiguous
        # to any check of the object (gas records no code/data boundary on x86).
        data = ["\t" + d for d in draw(st.lists(st.sampled_from(DATA), min_size=1, max_size=3))]
        if draw(st.booleans()):
            return ["\t.pushsection .data"] + data + ["\t.popsection"]
        return ["\tjmp 9f"] + data + ["9:"]
    if kind == "section":
        return ["\t" + draw(st.sampled_from(SECTIONS))]
    if kind == "code16":
        body = draw(st.lists(st.sampled_from(CODE16 + DATA), min_size=1, max_size=4))
        end = draw(st.sampled_from([["\t.code32"], ["\t.code32"], []]))      # a file may end in 16-bit mode
        return ["\t.code16"] + ["\t" + b for b in body] + end
    if kind == "intel":
        return list(INTEL)
    if kind == "rept":
        return ["\t.rept %d" % draw(st.integers(0, 3))] + draw(st.lists(code_line, min_size=1, max_size=2)) \
            + ["\t.endr"]
    if kind == "irp":
        return ["\t.irp r, %eax, %ebx", "\tmovl \\r, %cr3", "\tpushl \\r", "\t.endr"]
    if kind == "macro":
        name = draw(st.sampled_from(MACRO_NAMES))
        lines, _ = _macro(name, draw(macro_body), None)
        return lines
    if kind == "invoke":
        name = draw(st.sampled_from(MACRO_NAMES))
        name = draw(st.sampled_from([name, name.upper(), name.lower()]))
        return ["\t%s %s" % (name, draw(macro_arg))]
    if kind == "push":
        inner = [] if depth > 1 else draw(block(depth + 1))
        return ['\t.pushsection .text.pushed, "ax"'] + inner + draw(st.lists(code_line, max_size=2)) \
            + ["\t.popsection"]
    return [draw(st.sampled_from(["# cli", "/* sti", "   iret */", "\t/* hlt */ nop", ""]))]


@st.composite
def source(draw, includes=()):
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        lines += draw(block())
        if includes and draw(st.integers(0, 3)) == 0:
            lines.append('\t.include "%s"' % draw(st.sampled_from(includes)))
    return "\n".join(lines) + "\n"


@st.composite
def project(draw):
    """{file name: text}: main.s includes inc0.s and inc1.s (inc0.s may include inc1.s)."""
    files = {"inc1.s": draw(source())}
    files["inc0.s"] = draw(source(includes=("inc1.s",)))
    files["main.s"] = draw(source(includes=("inc0.s", "inc1.s")))
    return files
