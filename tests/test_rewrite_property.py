"""Property tests: generated instruction lines, prefixes, labels, comments.

Whatever the line, the rewriter never crashes (a located AsmError is the only
allowed failure), never drops or adds a line, and either leaves a statement as it
was or puts a marker in front of it; what assembled before still assembles after,
and then leaves nothing for `lvm check` to report.
"""
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lvm import isa, rewrite
from lvm.check import check_file
from lvm.errors import AsmError
from lvm.rewrite import rewrite_text

INTERESTING = sorted(isa.BY_SPELLING)
PLAIN = ["nop", "add", "xor", "lea", "movzbl", "inc", "ret", "leave", "test", "cmpl", "rdtsc"]
REGS = ["%eax", "%ebx", "%esp", "%ax", "%al", "%dx", "%cr0", "%cr3", "%dr7", "%ds", "%fs", "%ss", "%cs"]
IMMS = ["$0x10", "$4", "$sym", "$0x1000", "$'a"]
MEMS = ["4(%esp)", "(%eax)", "%fs:8(%ebx,%ecx,4)", "sym", "-6(%ebp)", "(%dx)", "%es:(%edi)"]
PARAMS = ["\\reg", "%\\reg"]

operand = st.sampled_from(REGS + IMMS + MEMS + PARAMS)
mnemonic = st.one_of(st.sampled_from(INTERESTING), st.sampled_from(PLAIN),
                     st.from_regex(r"[a-z]{2,6}", fullmatch=True), st.just("\\op"))
prefix = st.sampled_from(sorted(isa.PREFIXES))
label = st.sampled_from(["1:", "2: ", "foo:", ".Lx:", "a.b$c:"])
statement = st.builds(
    lambda labels, prefixes, m, ops: "".join(labels) + "".join(p + " " for p in prefixes) + m
    + (" " + ", ".join(ops) if ops else ""),
    st.lists(label, max_size=2, unique=True), st.lists(prefix, max_size=2), mnemonic,
    st.lists(operand, max_size=2))
line = st.builds(
    lambda stmts, sep, comment: ("\t" + sep.join(stmts) + comment),
    st.lists(statement, min_size=1, max_size=3), st.sampled_from([" ; ", ";", "; "]),
    st.sampled_from(["", " # cli", " /* sti; */", "  # in $1, %al"]))
source = st.lists(line, min_size=1, max_size=6)


def _assembles(text, path):
    r = subprocess.run(["as", "--32", "-o", str(path), "-"], input=".text\nsym:\n" + text,
                       capture_output=True, text=True)
    return r.returncode == 0


def _strip(text, marker):
    return text.replace(marker, "")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source)
def test_never_crashes_drops_or_invents_lines(lines):
    src = "\n".join(lines) + "\n"
    try:
        trap = rewrite_text(src, "trap")
        call = rewrite_text(src, "call")
    except AsmError as e:
        assert "error:" in str(e)
        return
    n = src.count("\n")
    trap_lines = trap.text.split("\n")[:n]
    call_lines = call.text.split("\n")[:n]
    assert len(trap_lines) == len(call_lines) == n
    for orig, t, c in zip(src.split("\n"), trap_lines, call_lines):
        assert _strip(t, ".byte 0xf4; ") == orig          # trap mode only ever adds a marker
        if t == orig:
            assert c == orig                               # nothing interesting: untouched
    assert trap.rewritten == call.rewritten


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(source)
def test_what_assembled_still_assembles_and_checks_clean(tmp_path, lines):
    src = "\n".join(l for l in lines if "\\" not in l) + "\n"
    if not _assembles(src, tmp_path / "orig.o"):
        return
    for mode in ("call", "trap"):
        try:
            res = rewrite_text(src, mode)
        except AsmError:
            return
        obj = tmp_path / ("%s.o" % mode)
        assert _assembles(res.text, obj), res.text
        assert check_file(str(obj)) == [], res.text


# -- the line filter: the fast one (ASCII) against the regular expression it stands for --------
# Lines a compiler writes, and lines that test the filter's edges: strings, comments, prefixes
# on their own, far immediates split over lines, directives that change how lines read.
EDGE_LINES = [
    '\t.string "cli; in"', '\t.string "a;b"', "\t.ascii \"it's\"", '\t.section .rodata,"a"',
    '\t.section : "x"', '# 15 "asm/irqflags.h" 1', '\t# 0 "" 2', '\t.file "x.c"', '.string "open',
    "\trep", "\tlock;", "rep # x", "1: rep", "\tREP", "\t.byte 0xF4", "\t.byte 244", "\tljmp $1,",
    "$2", "\tljmp $0x10,\t$1f", "\t.code16", "\t.code32", "\t.codex", "\t.macro m a", "\t.endm",
    "\t.endmacro", "\t.rept 2", "\t.endr", "\t.intel_syntax noprefix", "\tmov eax, cr0",
    "\t.att_syntax", "\t.popsection", "\t.popsectionx", "\tcall __lvm_emulate", "/* cli", "sti */",
    "\tmovl %CR0, %eax", "\tpushl %fs", "\tmovl %fs:4, %eax", "\tpushf\x0c", "\x1ccli", "", "   ",
]
FILTER_LINES = st.lists(st.one_of(line, st.sampled_from(EDGE_LINES)), min_size=1, max_size=8)
ASCII_LINES = st.lists(st.text(st.characters(max_codepoint=127, blacklist_characters="\n"),
                               max_size=30), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(st.one_of(FILTER_LINES, ASCII_LINES))
def test_fast_filter_finds_what_the_pattern_finds(lines):
    src = "\n".join(lines) + "\n"
    split = src.split("\n")
    fast = rewrite.ascii_hot_lines(src.encode("ascii"), split)
    for i in rewrite.pattern_lines(src) - fast:
        # the pattern's `^\s*rep\s*$` starts on the blank lines before a `rep`: nothing to scan
        assert not split[i].strip(), (i, split)
    for i, text in enumerate(split):
        if '"' in text and i not in fast:
            assert rewrite.quiet_string_line(text)


def _reference_hot_lines(data, lines):
    """The pattern's lines and every line with a string (what non-ASCII text gets), and the
    fast filter's too: it finds more, e.g. `1: rep` (a label, then a prefix on its own,
    which needs its marker in front of it), which the pattern misses."""
    return (rewrite.pattern_lines(data.decode("ascii")) | {i for i, l in enumerate(lines) if '"' in l}
            | FAST_HOT_LINES(data, lines))


FAST_HOT_LINES = rewrite.ascii_hot_lines
# Only a compiler's output takes the filter (a hand-written file has every line scanned,
# for its data in .text: datamarks.py); the compiler's signature makes the text one.
COMPILER_IDENT = '\t.ident\t"GCC: (lvm tests) 12.2.0"\n'


def _outcomes(src):
    out = []
    for mode in ("call", "trap"):
        try:
            res = rewrite_text(src, mode)
            out.append((res.text, res.rewritten, res.undecided, sorted(res.runtime)))
        except AsmError as e:
            out.append(str(e))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILTER_LINES)
def test_fast_filter_rewrites_the_same(lines):
    src = "\n".join(lines) + "\n" + COMPILER_IDENT
    fast = _outcomes(src)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rewrite, "ascii_hot_lines", _reference_hot_lines)
        assert _outcomes(src) == fast


# Non-ASCII text takes the same byte filter plus every line with a non-ASCII character or
# a string; scanning every line is the reference (a line with nothing of interest comes
# out of a scan unchanged).
NON_ASCII = st.lists(st.one_of(line, st.sampled_from(EDGE_LINES),
                               st.text(st.sampled_from("cli $,%: \t#/*\"rep\u00e9\u2003\u017f\u212a"), max_size=20)),
                     min_size=1, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NON_ASCII)
def test_non_ascii_text_rewrites_as_if_every_line_were_scanned(lines):
    src = "# \u00e9\n" + "\n".join(lines) + "\n" + COMPILER_IDENT
    fast = _outcomes(src)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rewrite, "ascii_hot_lines", lambda data, split: set(range(len(split))))
        assert _outcomes(src) == fast
