"""Data in code: labels around data that lies in a code section, so `lvm check`
does not decode it as instructions.

A secondary-CPU trampoline (Linux's, NetBSD's, a teaching kernel's) keeps its GDT
and far pointers in `.text`, beside its 16-bit code, written with `.word`/`.byte`/
`.long`; NetBSD's i386_trap.S its table of trap entry points, after the last entry's
jmp.  Decoded, those bytes read as far calls and segment loads the check would refuse
(the table's addresses did once lvm's subroutines moved .text).  In a hand-written
file (rewrite.py's _hand_written: not a compiler's output, or one with 16-bit code),
a run of data directives right after an unconditional transfer (nothing can fall
into it) is data: it goes between
`__lvm_data_begin_N:` and `__lvm_data_end_N:` labels, which the check skips.  Not in
a .macro/.rept/.irp body, which gas assembles once per copy (Linux's idtentry.h pads
each entry stub after its jmp in a .rept): a label there would be defined as often.  The
decision is made from the statements as written (a trap marker `.byte 0xf4` is not
data), and a file rewritten before keeps its labels (the pass is idempotent).
"""
from . import isa
from .asmsyntax import parse_instruction, parse_statement

BEGIN, END = "__lvm_data_begin_", "__lvm_data_end_"


def _is_transfer(body):
    insn = parse_instruction(body, isa.PREFIXES) if body and body[0] != "." else None
    return bool(insn and insn.mnemonic and insn.mnemonic.lower() in isa.TRANSFER_SPELLINGS)


class DataMarks:
    """Follows the statements of one file; label(text, in_code, encoded) is the label
    to put in front of a statement in a section that holds code (in_code) or not, or
    None (encoded(arg): the instruction a `.byte` operand list spells, or None);
    close() the label that ends an open range, or None."""

    def __init__(self, text=""):
        self.after_transfer = False   # the previous statement was an unconditional transfer
        self.open = False             # a data range is open
        # ranges so far (the label's N), after those of a text rewritten before: a second
        # pass may find data ranges the first did not mark (the first learnt of 16-bit
        # code only in an include), and must not number them as the ones it did
        self.ranges = _highest(text, BEGIN)

    def _keep_existing(self, labels, body):
        for label in labels.replace(":", " ").split():
            if label.startswith((BEGIN, END)):
                self.open = label.startswith(BEGIN)
                self.ranges = max(self.ranges, int(label.rsplit("_", 1)[1]))
        if not self.open:
            self.after_transfer = _is_transfer(body)

    def close(self):
        if not self.open:
            return None
        self.open = self.after_transfer = False
        return END + str(self.ranges)

    def label(self, text, in_code, encoded=lambda arg: None):
        st = parse_statement(text, 0)
        body = st.body.strip()
        if "__lvm_data_" in st.labels:
            self._keep_existing(st.labels, body)
            return None
        if not body:
            return None
        word = body.split(None, 1)[0].lower().rstrip(",")
        end = END + str(self.ranges) if self.open else None
        if word.startswith("."):
            arg = body[len(word):].strip()
            # a trap marker, or an instruction spelled in bytes (rewritten as one): code
            insn = word == ".byte" and (arg.lower() in ("0xf4", "244") or encoded(arg))
            if word in isa.DATA_DIRECTIVES and not insn:
                if self.after_transfer and not self.open and in_code:
                    self.ranges += 1
                    self.open = True
                    return BEGIN + str(self.ranges)
                return None
            if word in isa.NEUTRAL_DIRECTIVES:
                return None
            self.open = self.after_transfer = False      # a section switch, .if, ...
            return end
        self.open = False
        self.after_transfer = _is_transfer(body)
        return end


def _highest(text, prefix):
    """The highest N of the `prefixN` labels in text (0 if none)."""
    top, i = 0, text.find(prefix)
    while i >= 0:
        j = k = i + len(prefix)
        while k < len(text) and text[k].isdigit():
            k += 1
        if k > j:
            top = max(top, int(text[j:k]))
        i = text.find(prefix, k)
    return top
