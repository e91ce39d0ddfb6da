"""Match an AT&T instruction statement against the rules table (isa.py).

classify() answers one of three things: the statement is not interesting (None), it
is (a Match naming the rule and the template family to use), or it cannot be told
from the text (UNDECIDED: a macro parameter stands where the answer lies, as in
`mov \\src, \\dst`).  Undecided statements are left as written; the object lvm-as
produces is then disassembled by `lvm check`, which decides on the real bytes.
"""
from . import isa

GP32 = frozenset("eax ecx edx ebx esp ebp esi edi".split())
GP16 = frozenset("ax cx dx bx sp bp si di".split())
UNDECIDED = "undecided"


class Match:
    __slots__ = ("rule", "family", "load")

    def __init__(self, rule, family, load):
        self.rule = rule          # isa.Rule
        self.family = family      # template to use in call mode
        self.load = load          # vcpu_load details: op, member, index, dst (else {})


def _reg(op):
    """Register name of a `%reg` operand, '?' for `%\\param`, None otherwise."""
    op = op.strip()
    if op.startswith("%"):
        name = op[1:].lower()
        if "\\" in name:
            return "?"
        if name.isascii() and name.isalnum() and name[0].isalpha():    # [a-z][a-z0-9]* (lower case)
            return name
    return None


def _param(op):
    return "\\" in op


def _is_sreg(op):
    return _reg(op) in isa.SEGMENT_REGS


def _is_ctl(op):
    r = _reg(op)
    return r in isa.CONTROL_REGS or r in isa.DEBUG_REGS or (r or "").startswith(("cr", "dr", "db"))


def _pred(rule, insn):
    """True, False or UNDECIDED: is this operand form the interesting one?"""
    ops = insn.operands
    kind = rule.operands
    if kind in ("any", "sel_read"):
        return True
    if kind == "ctl":
        return True if any(_is_ctl(o) for o in ops) else (UNDECIDED if any(map(_param, ops)) else False)
    if kind == "seg":
        return True if any(_is_sreg(o) for o in ops) else (UNDECIDED if any(map(_param, ops)) else False)
    if kind == "seg1":
        if len(ops) == 1 and _is_sreg(ops[0]):
            return True
        return UNDECIDED if any(map(_param, ops)) else False
    if kind == "far":
        # `jmp $seg, $off`: gas takes two operands only as two immediates (the line filter
        # looks for the same `$..., $`)
        if len(ops) == 2 and all(o.strip().startswith("$") for o in ops):
            return True
        return UNDECIDED if any(map(_param, ops)) else False
    if kind == "not_bp":
        # `int $3` is int3 (gas assembles it as 0xcc, the CPU treats cd 03 alike):
        # a breakpoint, which runs natively (isa.NATIVE)
        if len(ops) == 1 and ops[0].strip().startswith("$"):
            value = _immediate(ops[0].strip()[1:])
            if value is not None:
                return value != 3
        return UNDECIDED if any(map(_param, ops)) else True
    raise AssertionError(kind)


def _immediate(text):
    """The value of a plain number (`3`, `0x3`, `03`), else None."""
    text = text.strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text, 8 if text.startswith("0") and len(text) > 1 else 10)
    except ValueError:
        return None


def _load(rule, insn):
    """For vcpu_load rules: the inline load, or None when only emulation will do."""
    if insn.prefixes:
        return None
    ops, m = insn.operands, insn.mnemonic.lower()
    if rule.name == "mov_cr":
        src, dst = (ops + ["", ""])[:2]
        r, d = _reg(src), _reg(dst)
        if len(ops) != 2 or d not in GP32 and d != "?":
            return None
        if r in isa.CONTROL_REGS:
            return dict(op="movl", member="cr", index=int(r[2]), dst=dst.strip())
        if r and r[:2] in ("dr", "db") and r[2:] in ("0", "1", "2", "3", "6", "7"):
            return dict(op="movl", member="dr", index=int(r[2]), dst=dst.strip())
        return None
    if rule.name == "mov_seg":
        if len(ops) != 2 or not _is_sreg(ops[0]):
            return None
        d = _reg(ops[1])
        width = "l" if d in GP32 else "w" if d in GP16 else None
        if width is None or (m == "movw" and width == "l") or (m == "movl" and width == "w"):
            return None
        return dict(op="mov" + width, member="sel", index=isa.SEGMENT_REGS.index(_reg(ops[0])),
                    dst=ops[1].strip())
    if rule.name == "push_seg":
        op = "pushw" if m == "pushw" else "pushl"
        return dict(op=op, member="sel", index=isa.SEGMENT_REGS.index(_reg(ops[0])), dst="")
    if rule.name in ("sldt", "str", "smsw"):
        if len(ops) != 1:
            return None
        d = _reg(ops[0])
        width = "l" if d in GP32 else "w" if d in GP16 else None
        suffix = m[len(rule.name):]
        if width is None or (suffix == "w" and width == "l") or (suffix == "l" and width == "w"):
            return None
        member, index = ("cr", 0) if rule.name == "smsw" else ("sel", 6 if rule.name == "sldt" else 7)
        return dict(op="mov" + width, member=member, index=index, dst=ops[0].strip())
    return None


def _seg_load(rule, insn):
    """`mov %r32, %sreg` (or its %r16 form) into a data segment register: the
    subroutine's name and the instruction as its call site writes it."""
    ops, m = insn.operands, insn.mnemonic.lower()
    if rule.name != "mov_seg" or len(ops) != 2 or _reg(ops[1]) not in isa.MOVSEG_SREGS:
        return None
    r = _reg(ops[0])
    r32 = r if r in GP32 else "e" + r if r in GP16 else None
    if r32 not in isa.MOVSEG_REGS or (m == "movl" and r not in GP32) or (m == "movw" and r not in GP16):
        return None
    return dict(sub="movseg_%s_%s" % (_reg(ops[1]), r32), reg=r32, sreg=_reg(ops[1]))


def _mem_seg_load(rule, insn):
    """`mov DISP(%esp), %sreg` (DISP a number) into a data segment register: the
    subroutine for its displacement's size, and the operand."""
    ops, m = insn.operands, insn.mnemonic.lower()
    if rule.name != "mov_seg" or len(ops) != 2 or _reg(ops[1]) not in isa.MOVSEG_SREGS or m == "movl":
        return None
    src = ops[0].strip().replace(" ", "")
    if not src.endswith("(%esp)") or src.startswith("%"):
        return None
    text = src[:-len("(%esp)")]
    try:
        disp = int(text, 0)
    except ValueError:
        return None                      # a symbol or an expression: the decoder's
    if not 0 < disp < 2**31:
        return None                      # gas gives 0(%esp) no displacement byte to read,
                                         # and below %esp go the call and the pushes
    size = "d8" if -128 <= disp < 128 else "d32"
    return dict(sub="memseg_%s_%s" % (_reg(ops[1]), size), src="%d(%%esp)" % disp, sreg=_reg(ops[1]))


def classify(insn):
    """None, UNDECIDED or a Match for an Instruction (see asmsyntax.parse_instruction)."""
    rules = isa.BY_SPELLING.get(insn.mnemonic.lower())
    if not rules:
        return UNDECIDED if insn.mnemonic.startswith("\\") else None
    undecided = False
    for rule in rules:
        p = _pred(rule, insn)
        if p is UNDECIDED:
            undecided = True
        elif p:
            family = rule.family
            load = {}
            if family == "vcpu_load":
                load = _load(rule, insn)
                if load is None:
                    family = "emulate"
                    load = _seg_load(rule, insn) or {}
                    if load and not insn.prefixes:
                        family = "seg_load"
                    elif not insn.prefixes:
                        load = _mem_seg_load(rule, insn) or {}
                        family = "seg_mem" if load else family
            elif family == "emulate" and rule.name == "pop_seg" and not insn.prefixes:
                r = _reg(insn.operands[0]) if len(insn.operands) == 1 else None
                if r in isa.MOVSEG_SREGS and insn.mnemonic.lower() in ("pop", "popl"):
                    family, load = "seg_pop", dict(sub="popseg_" + r, sreg=r)
            elif family != "emulate" and insn.prefixes:
                family = "emulate"  # prefixed forms are rare: let the decoder handle them
            return Match(rule=rule, family=family, load=load or {})
    return UNDECIDED if undecided else None
