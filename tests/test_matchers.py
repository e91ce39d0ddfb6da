"""The hand-written matchers (asmsyntax's label and word, check's operand tests) against
the regular expressions they stand for, on generated text."""
import re

from hypothesis import given, settings, strategies as st

from lvm import asmsyntax, sweep as check
from lvm.rewrite import _is_assignment

# What the expressions care about, and characters where str methods and `re` could
# disagree: non-ASCII letters and digits (`²` is a digit but not \d), other blanks.
ALPHABET = "aAzZ_.$@\\(){}\":%,;#'09 \t\x0b\x1c\u2003é²٣Ⅻ-+*s"
TEXT = st.text(st.sampled_from(ALPHABET), max_size=12)
LABEL = re.compile(asmsyntax.LABEL_PATTERN)
WORD = re.compile(asmsyntax.WORD_PATTERN)


@settings(max_examples=3000, deadline=None)
@given(TEXT, st.integers(0, 3))
def test_label_end(text, pos):
    m = LABEL.match(text, pos)
    assert asmsyntax.label_end(text, pos) == (m.end() if m else None)


@settings(max_examples=3000, deadline=None)
@given(TEXT, st.integers(0, 3))
def test_word_at(text, pos):
    m = WORD.match(text, pos)
    assert asmsyntax.word_at(text, pos) == ((m.group(1), m.end()) if m else None)


@settings(max_examples=2000, deadline=None)
@given(TEXT)
def test_assignment(text):
    assert _is_assignment(text) == bool(re.match(r"[\w.$]+\s*=", text))


OPERANDS = st.text(st.sampled_from("%cdefgsrb0179$:, \t\n_xé²()"), max_size=12)


@settings(max_examples=3000, deadline=None)
@given(OPERANDS)
def test_operand_tests(ops):
    expected = {
        "ctl": re.search(r"%(?:cr|dr|db)\d", ops),
        "seg": re.search(r"%[cdefgs]s\b(?!:)", ops),
        "seg1": re.match(r"\s*%[cdefgs]s\s*$", ops),
        "far": re.search(r"\$[^,:]*[:,]\s*\$", ops),
    }
    for kind, m in expected.items():
        assert check._OPERAND_TESTS[kind](ops) == bool(m), kind


def test_operand_tests_on_capstone_output():
    cases = {"%cr0, %eax": "ctl", "%eax, %db7": "ctl", "%ds, %ax": "seg", "%eax, %fs": "seg",
             "%fs": "seg1", " %gs ": "seg1", "$0x10, $0x1000": "far", "$8:$0x20": "far"}
    for ops, kind in cases.items():
        assert check._OPERAND_TESTS[kind](ops), (ops, kind)
    for ops in ("%fs:0x14, %eax", "%eax, 4(%esp)", "(%esi), %ecx", "%es:(%edi)"):
        assert not check._OPERAND_TESTS["seg"](ops) and not check._OPERAND_TESTS["ctl"](ops)
