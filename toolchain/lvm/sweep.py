"""The check's decoder: a linear sweep of one range of code against the rules table.

check.py decides which ranges of a code section are code (and in which mode) and where
decoding must start afresh (every symbol); this module decodes a range, tells what is
interesting (isa.RULES, as capstone spells it), pairs rewrite markers with the
instruction they cover, and tells padding from code.

Decoding is bounded in time and memory whatever the input: capstone answers 248 bytes
per instruction, so it is asked for CHUNK instructions at a time, in place on the
section's bytearray (no copy), and over a window of bytes that shrinks after an
undecodable byte (capstone reads every prefix byte before it gives up on a run of
them: without the window, a section of junk cost quadratic time).
"""
import bisect
import heapq

from . import isa

CHUNK = 4096                        # instructions per decoder call
WINDOW_MIN, WINDOW_MAX = 64, 1 << 16
MAX_INSN = 15                       # bytes: the longest x86 instruction


# -- the rules table as a capstone mnemonic -> ((operand test, rule), ...) lookup -------
def _build_table():
    table = {}
    for rule in isa.RULES:
        for mnemonic in rule.capstone:
            table.setdefault(mnemonic, []).append((rule.operands, rule))
    return {m: tuple(entries) for m, entries in table.items()}


TABLE = _build_table()

# Operand tests, by Rule.operands: what makes an instruction's capstone op_str the
# interesting form.  Written out rather than as regular expressions (given with each;
# tests/test_matchers.py compares them): `re` costs lvm-as ~6 ms to import, per object.
_SEGMENT_LETTERS = frozenset("cdefgs")
_SEGMENT_REGS = frozenset(("%cs", "%ds", "%es", "%fs", "%gs", "%ss"))


def _ctl(ops):
    r"""`%(?:cr|dr|db)\d`: a control or debug register."""
    if "%cr" not in ops and "%dr" not in ops and "%db" not in ops:
        return False
    i = ops.find("%")
    while i >= 0:
        if ops[i + 1:i + 3] in ("cr", "dr", "db") and ops[i + 3:i + 4].isdecimal():
            return True
        i = ops.find("%", i + 1)
    return False


def _seg(ops):
    r"""`%[cdefgs]s\b(?!:)`: a segment register, not a segment override."""
    i = ops.find("s", 2)
    while i >= 0:
        if ops[i - 2] == "%" and ops[i - 1] in _SEGMENT_LETTERS:
            after = ops[i + 1:i + 2]
            if not (after.isalnum() or after in ("_", ":")):      # \b(?!:), or the end
                return True
        i = ops.find("s", i + 1)
    return False


def _seg1(ops):
    r"""`\s*%[cdefgs]s\s*$`, matched at the start: a segment register alone."""
    return ops.strip() in _SEGMENT_REGS


def _far(ops):
    r"""`\$[^,:]*[:,]\s*\$`: `$seg:$off` or `$seg, $off` (a far immediate)."""
    i = ops.find("$")
    while i >= 0:
        ends = [j for j in (ops.find(",", i), ops.find(":", i)) if j >= 0]
        if ends and ops[min(ends) + 1:].lstrip().startswith("$"):
            return True
        i = ops.find("$", i + 1)
    return False


_OPERAND_TESTS = {
    "any": None,
    "sel_read": None,               # every form shows host state
    "ctl": _ctl,
    "seg": _seg,
    "seg1": _seg1,                  # push/pop of a segment register
    "far": _far,                    # far indirect forms are the ljmp/lcall rows
    "not_bp": lambda ops: ops.strip() not in ("$3", "$0x3"),     # cd 03 is int3's equal
}


def match(mnemonic, op_str):
    """The Rule a capstone (AT&T) instruction falls under, or None."""
    entries = TABLE.get(mnemonic)
    if entries is None and " " in mnemonic:             # `rep insb`, `lock ...`, `notrack ...`
        entries = TABLE.get(mnemonic.rsplit(" ", 1)[1])
    for kind, rule in entries or ():
        test = _OPERAND_TESTS[kind]
        if test is None or test(op_str):
            return rule
    return None


_DISASSEMBLERS = {}


def _disassembler(bits):
    md = _DISASSEMBLERS.get(bits)
    if md is None:
        from .capstone_lite import disassembler            # ctypes: ~4 ms, only with code to check
        md = _DISASSEMBLERS[bits] = disassembler(bits)     # capstone, AT&T syntax
    return md


def _decode(md, view, pos, hi, window):
    """(instructions from pos, where decoding stopped, whether it stopped at a byte that
    does not decode) for code[pos:hi], at most CHUNK instructions and `window` bytes."""
    end = min(hi, pos + window)
    insns = list(md.disasm_lite(view[pos:end], pos, CHUNK))
    stop = insns[-1][0] + insns[-1][1] if insns else pos
    # Decoding stopped before the count and the window's end: at a byte that does not
    # decode, unless the window cut the instruction there short.
    failed = len(insns) < CHUNK and stop < end and not (end < hi and stop > end - MAX_INSN)
    return insns, stop, failed


# -- the sweep ---------------------------------------------------------------------------
_UD_MODRM = frozenset(("ud1", "ud0"))


# Unconditional transfers: what follows one is not reached by falling through.
_TRANSFERS = frozenset(("jmp", "jmpl", "jmpw", "ljmp", "ljmpl", "ljmpw", "ret", "retl", "retw",
                        "lret", "lretl", "lretw", "iret", "iretl", "iretw", "iretd",
                        "sysexit", "sysexitl", "sysret", "sysretl"))
# Relative branches whose target capstone prints as an address (a section offset here).
_BRANCHES = frozenset(("jmp", "call", "calll", "callw", "ja", "jae", "jb", "jbe", "je", "jne", "jg",
                       "jge", "jl", "jle", "jo", "jno", "jp", "jnp", "js", "jns", "jcxz", "jecxz",
                       "loop", "loope", "loopne"))


def sweep(code, lo, hi, bits, restarts=(), is_emulate_call=None, entries=None, relocated=()):
    """Uncovered interesting instructions in code[lo:hi] (a bytearray) as (offset, text, rule).

    Linear sweep, started afresh at every offset in `restarts` (sorted: the symbols,
    where code is entered): an instruction that straddles one is checked, and decoding
    resumes at the symbol, so a linker's padding or data before a function cannot put
    the sweep out of step with the function's instructions.  A byte capstone cannot
    decode is skipped.  In 32-bit code a rewritten site is `<marker> <original>` with
    marker `call __lvm_emulate` or the trap byte (hlt): markers pair greedily from the
    left with the interesting instruction right behind them.  16-bit code is never
    rewritten, so there every match counts.

    What follows an unconditional transfer (jmp, ret, iret...) is not checked until
    code is entered again: a symbol, or an entry found where the sweep saw none — the
    target of a relative branch or call from checked code, or one of `entries()` (the
    code addresses the data holds: jump tables, function pointers).  Data in code
    (a message after the last jmp, a table of stubs, the zero fill of a library
    object whose local symbols were stripped) is thereby not decoded; every byte
    that can be executed still is.  (In an object, a branch whose displacement is
    relocated, `relocated` being the sorted offsets of the section's relocations, goes
    elsewhere: its bytes name no target here.)  An entry inside such a span is swept from there
    to the span's end (which may hold more entries), until none is left."""
    restarts = sorted(set(restarts))
    found, dead, targets = _sweep_once(code, lo, hi, bits, restarts, is_emulate_call, False, relocated)
    if not dead:
        return found
    starts = [a for a, _ in dead]
    pending = sorted(t for t in targets | set(entries() if entries is not None else ()) if lo <= t < hi)
    seen = {f[0] for f in found}
    heapq.heapify(pending)
    while pending:
        t = heapq.heappop(pending)
        i = bisect.bisect_right(starts, t) - 1
        if i < 0 or not dead[i][0] <= t < dead[i][1]:
            continue                                    # checked already, or never dead
        a, b = dead[i]
        more, spans, targets = _sweep_once(code, t, b, bits, restarts, is_emulate_call, True, relocated)
        found += [f for f in more if f[0] not in seen]
        seen.update(f[0] for f in more)
        now = ([(a, t)] if t > a else []) + spans
        dead[i:i + 1] = now
        starts[i:i + 1] = [x for x, _ in now]
        for x in targets:
            if lo <= x < hi:
                heapq.heappush(pending, x)
    found.sort(key=lambda f: f[0])
    return found


def _sweep_once(code, lo, hi, bits, restarts, is_emulate_call, until_dead=False, relocated=()):
    """(findings, dead spans, branch targets) of one linear sweep: see sweep().
    until_dead: stop at the first unconditional transfer (hi is then the next symbol,
    so the rest is dead)."""
    md, view, found = _disassembler(bits), memoryview(code), []
    pairing = bits == 32
    ri = bisect.bisect_right(restarts, lo)
    next_r = restarts[ri] if ri < len(restarts) else hi
    pos, window = lo, (WINDOW_MIN if until_dead else WINDOW_MAX)   # a sub-sweep ends soon
    marker = None                   # None, "call", or a pending lone-hlt finding
    alive, dead_from = True, None   # after an unconditional transfer: dead until an entry
    spans, targets = [], set()
    while pos < hi:
        insns, stop, failed = _decode(md, view, pos, hi, window)
        jump = None
        for off, size, mnem, ops in insns:
            if off == next_r:                           # in step at a symbol
                ri = bisect.bisect_right(restarts, off, ri)
                next_r = restarts[ri] if ri < len(restarts) else hi
                if not alive:
                    spans.append((dead_from, off))
                    alive = True
            end = off + size
            if not alive and off in targets:            # a branch seen before lands here
                spans.append((dead_from, off))
                alive = True
            if not alive:
                if off < next_r < end:
                    jump = next_r
                    break
                continue
            if mnem in _UD_MODRM and not ops and end < hi:
                # capstone 5 decodes ud1 (0f b9 /r) and ud0 (0f ff /r) without their ModRM
                # byte; gas and objdump include it.  Linux ends every static call
                # trampoline with `.byte 0x0f, 0xb9, 0xcc` (ud1 %esp,%ecx), whose ModRM
                # byte would otherwise show as an int3.  Resume after the real instruction.
                end = min(hi, end + _modrm_length(code, end, bits))
                if marker not in (None, "call"):
                    found.append(marker)
                marker, jump = None, end
            else:
                rule = match(mnem, ops) if mnem in TABLE or " " in mnem else None
                if rule is None:
                    if marker not in (None, "call"):
                        found.append(marker)
                    marker = None
                    if (pairing and size == 5 and code[off] == 0xE8 and is_emulate_call is not None
                            and is_emulate_call(off)):
                        marker = "call"
                elif marker is not None:                # the original behind its marker
                    marker = None
                elif pairing and size == 1 and code[off] == isa.TRAP_MARKER_BYTE:
                    marker = (off, "hlt", rule)
                else:
                    found.append((off, (mnem + " " + ops).rstrip(), rule))
            last = mnem.rsplit(" ", 1)[-1]
            if (last in _BRANCHES and ops[:1].isdigit()          # `0x1e1`, or `3` below 10
                    and not (relocated and bisect.bisect_left(relocated, off) < bisect.bisect_left(relocated, end))):
                try:
                    targets.add(int(ops, 0))
                except ValueError:
                    pass
            if last in _TRANSFERS:
                if marker not in (None, "call"):
                    found.append(marker)
                marker, alive, dead_from = None, False, end
                if until_dead:
                    return found, [(end, hi)] if end < hi else [], targets
            if off < next_r < end:                      # straddles a symbol: start there
                jump = next_r
            if jump is not None:
                break
        if jump is not None:
            if jump == next_r and marker not in (None, "call"):
                found.append(marker)
            if jump == next_r:
                marker = None
                if not alive:
                    spans.append((dead_from, jump))
                    alive = True
            pos = jump
            continue
        if not failed:
            pos, window = stop, min(2 * window, WINDOW_MAX)
            continue
        if marker not in (None, "call"):                # at a byte that does not decode
            found.append(marker)
        marker = None
        while next_r <= stop:                           # a symbol on that byte: passed
            ri += 1
            next_r = restarts[ri] if ri < len(restarts) else hi
            if not alive and next_r <= stop:
                spans.append((dead_from, stop))
                alive = True
        pos, window = stop + 1, WINDOW_MIN
    if marker not in (None, "call"):
        found.append(marker)
    return found, spans + ([(dead_from, hi)] if not alive else []), targets


def _modrm_length(code, p, bits):
    """Bytes taken by the ModRM byte at code[p] and the SIB/displacement it implies."""
    modrm = code[p]
    mod, rm = modrm >> 6, modrm & 7
    if mod == 3:
        return 1
    if bits == 16:
        return 1 + (2 if mod == 2 or (mod == 0 and rm == 6) else mod)
    n = 1
    if rm == 4:                                         # SIB
        n += 1
        if mod == 0 and p + 1 < len(code) and code[p + 1] & 7 == 5:
            n += 4
    elif mod == 0 and rm == 5:
        n += 4
    return n + (1 if mod == 1 else 4 if mod == 2 else 0)
