"""Property tests: generated instruction lines, prefixes, labels, comments.

Whatever the line, the rewriter never crashes (a located AsmError is the only
allowed failure), never drops or adds a line, and either leaves a statement as it
was or puts a marker in front of it; what assembled before still assembles after,
and then leaves nothing for `lvm check` to report.
"""
import subprocess

from hypothesis import HealthCheck, given, settings, strategies as st

from lvm import isa
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
