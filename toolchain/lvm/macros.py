"""gas macros whose instructions are their parameters, expanded so they can be rewritten.

lvm-as rewrites a macro's body where it is defined, which is enough whenever the body
spells its instructions out.  A body that takes an instruction from a parameter
(Linux's arch/x86/lib/msr-reg.S: `.macro op_safe_regs op` ... `1: \\op`, invoked as
`op_safe_regs rdmsr`; the assembler ALTERNATIVE macros: `\\newinstr`) cannot be: what
`\\op` is depends on each invocation.  For such a macro defined in the same input,
lvm-as replaces each invocation by the body with the arguments put in, as gas would
expand it, and rewrites that: the definition stays for gas and for invocations it
leaves alone.  This module is gas's macro language as far as that needs: parameters
with defaults, `:req` and `:vararg`, positional and `name=value` arguments separated
by commas or blanks, quoted arguments, `\\()` and `\\@`.  A body it cannot expand
exactly (a nested `.macro`, `.altmacro`, an unknown `\\name`) is left as it is: its
statements stay undecided, for `lvm check` to judge in the object.
"""


from .asmsyntax import split_line
from .errors import AsmError


class Macro:
    __slots__ = ("name", "params", "body")

    def __init__(self, name, params, body):
        self.name = name
        self.params = params          # [(name, default or None, "req"/"vararg"/"")]
        self.body = body              # [line]


def parse_definition(arg):
    """`NAME p1, p2=def, p3:req ...` (the text after `.macro`): (name, params) or None."""
    words = _split(arg, blanks=True)
    if not words:
        return None
    name, params = words[0], []
    for w in words[1:]:
        kind = ""
        head, eq, default = w.partition("=")
        if ":" in head:
            head, _, kind = head.partition(":")
            if kind not in ("req", "vararg"):
                return None
        if not head or not all(c.isalnum() or c in "_.$" for c in head):
            return None
        params.append((head, default if eq else None, kind))
    return name, params


def expand(macro, args_text, serial):
    """The body's lines for one invocation with `args_text` (`serial`: the text for
    `\\@`), or None if not exact."""
    values = {}
    positional = []
    vararg = macro.params and macro.params[-1][2] == "vararg"
    pieces = _split(args_text, blanks=True, keep_commas=True)
    names = [p[0] for p in macro.params]
    for i, piece in enumerate(pieces):
        head, eq, value = piece.partition("=")
        if eq and head.strip() in names:
            values[head.strip()] = _unquote(value.strip())
            continue
        if vararg and len(positional) == len(names) - 1:
            positional.append(_rest(args_text, pieces, i))
            break
        positional.append(_unquote(piece))
    if len(positional) > len(names):
        return None
    for (name, default, kind), value in zip(macro.params, positional):
        values.setdefault(name, value)
    for name, default, kind in macro.params:
        if name not in values:
            if kind == "req":
                return None
            values[name] = default or ""
    out = []
    for line in macro.body:
        new = _substitute(line, values, serial)
        if new is None:
            return None
        out.append(new)
    return out


def keep_if_expandable(rw, end, alone, lines):
    """A top-level `.macro` ends at line `end`: keep it for expansion if its body has
    statements the rewriter could not decide (their mnemonic is a parameter)."""
    start, arg, undecided, start_alone = rw._defining
    rw._defining = None
    if not (alone and start_alone) or len(rw.result.undecided) == undecided or rw.altmacro:
        return
    body = lines[start + 1:end]
    for line in body:
        low = line.lower()
        if any(w in low for w in (".macro", ".endm", ".rept", ".irp", ".endr", ".altmacro", ".purgem",
                                       ".include")):
            return
    parsed = parse_definition(arg)
    if parsed:
        rw.expandable[parsed[0].lower()] = Macro(parsed[0], parsed[1], body)

# gas's default --max-macro-nest: a macro whose body invokes itself stops there.
MAX_NEST = 100


def expand_and_rewrite(rw, macro, args, idx, lines):
    """The invocation of `macro` with `args`, expanded and rewritten as statements on
    the invocation's line, or None (then gas expands it, as it is)."""
    if rw.expanding >= MAX_NEST:
        raise AsmError(rw.filename, idx + 1, "macros nested too deeply")
    rw.expanding += 1
    try:
        return _expand_and_rewrite(rw, macro, args, idx, lines)
    finally:
        rw.expanding -= 1


def _expand_and_rewrite(rw, macro, args, idx, lines):
    rw.serial += 1
    tag = _serial_tag(rw.blocks, 100000 + rw.serial, macro.body)
    body = expand(macro, args, tag) if tag is not None else None
    if body is None:
        return None
    saved = (rw.in_comment, rw.result.rewritten, len(rw.result.undecided), set(rw.result.runtime))
    out = []
    for line in body:
        pieces, rw.in_comment = split_line(line, rw.in_comment)
        for is_stmt, text in pieces:
            if is_stmt and text.strip():
                out.append(rw._statement(text, idx, 0, lines).strip())
                if rw.pending_prefix or rw._inserts:
                    break
        if rw.pending_prefix or rw._inserts or rw.in_comment:
            break
    else:
        if len(rw.result.undecided) == saved[2]:
            return "; ".join(out)
    # Not expanded after all (a prefix on a line of its own, an unclosed comment,
    # a parameter still undecided): back to the invocation as written.
    rw.in_comment, rw.pending_prefix, rw._inserts = saved[0], None, []
    rw.result.rewritten = saved[1]
    del rw.result.undecided[saved[2]:]
    rw.result.runtime = saved[3]
    return None


def _serial_tag(blocks, serial, body):
    """What `\\@` becomes in an expansion written inside `blocks` (the .macro/.rept/.irp
    bodies open where the invocation is), or None if no text can stand for it.  Gas
    gives each invocation its own number; an expansion lvm-as writes into a body gas
    assembles more than once (Linux's SAVE_ALL invoking SWITCH_TO_KERNEL_STACK, whose
    labels are `.Lend_\\@`) is one text for all its copies.  In a macro body the
    enclosing macro's own `\\@` tells the copies apart; a .rept/.irp copy has none."""
    if not blocks:
        return "%d" % serial
    if any(not b.startswith(".macro") for b in blocks):
        return None if any("\\@" in line for line in body) else "%d" % serial
    return "%d_\\@" % serial


def _substitute(line, values, serial):
    out, i, n = [], 0, len(line)
    while i < n:
        c = line[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if line.startswith("\\()", i):
            i += 3
            continue
        if line.startswith("\\@", i):
            out.append(serial)
            i += 2
            continue
        j = i + 1
        while j < n and (line[j].isalnum() or line[j] in "_.$"):
            j += 1
        name = line[i + 1:j]
        if name not in values:
            return None                 # an escape gas would read otherwise: do not guess
        out.append(values[name])
        i = j
    return "".join(out)


def _split(text, blanks, keep_commas=False):
    """Arguments at top-level commas (and blanks when `blanks`), quotes and brackets
    kept together; empty pieces between commas kept when `keep_commas`."""
    pieces, cur, depth, quote = [], [], 0, False
    had_comma = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            cur.append(c)
            if c == "\\" and i + 1 < n:
                cur.append(text[i + 1])
                i += 1
            elif c == '"':
                quote = False
        elif c == '"':
            quote = True
            cur.append(c)
        elif c in "([":
            depth += 1
            cur.append(c)
        elif c in ")]":
            depth -= 1
            cur.append(c)
        elif depth == 0 and c == ",":
            pieces.append("".join(cur).strip())
            cur, had_comma = [], True
        elif depth == 0 and blanks and c.isspace():
            j = i
            while j < n and text[j].isspace():
                j += 1
            nxt = text[j:j + 1]
            prev = "".join(cur).strip()
            # `a = b` and `a , b` are one separator; a blank elsewhere separates.
            if prev and nxt and nxt not in ",=" and not prev.endswith("="):
                pieces.append(prev)
                cur = []
            i = j
            continue
        else:
            cur.append(c)
        i += 1
    last = "".join(cur).strip()
    if last or (keep_commas and had_comma):
        pieces.append(last)
    return pieces


def _unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def _rest(text, pieces, i):
    """The text of pieces[i:] as written (a :vararg parameter takes the rest)."""
    start = 0
    for p in pieces[:i]:
        start = text.index(p, start) + len(p)
    rest = text[start:].lstrip()
    return rest[1:].lstrip() if rest.startswith(",") else rest
