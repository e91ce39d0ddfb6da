"""Data in code: labels around data that lies in a code section, so `lvm check`
does not decode it as instructions.

A secondary-CPU trampoline (Linux's, NetBSD's, a teaching kernel's) keeps its GDT
and far pointers in `.text`, beside its 16-bit code, written with `.word`/`.byte`/
`.long`; decoded, those bytes read as far calls and segment loads the check would
refuse.  In a file with 16-bit code, a run of data directives right after an
unconditional transfer (nothing can fall into it) is data: it goes between
`__lvm_data_begin_N:` and `__lvm_data_end_N:` labels, which the check skips.  The
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
    """Follows the statements of one file; label(text, section) is the label to put
    in front of a statement, or None."""

    def __init__(self):
        self.after_transfer = False   # the previous statement was an unconditional transfer
        self.open = False             # a data range is open
        self.ranges = 0               # ranges so far (the label's N)

    def _keep_existing(self, labels, body):
        for label in labels.replace(":", " ").split():
            if label.startswith((BEGIN, END)):
                self.open = label.startswith(BEGIN)
                self.ranges = max(self.ranges, int(label.rsplit("_", 1)[1]))
        if not self.open:
            self.after_transfer = _is_transfer(body)

    def label(self, text, section):
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
            marker = word == ".byte" and body[len(word):].strip().lower() in ("0xf4", "244")
            if word in isa.DATA_DIRECTIVES and not marker:
                if self.after_transfer and not self.open and isa.is_code_section(section):
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
