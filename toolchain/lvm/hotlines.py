"""hotlines.py: which lines of an assembly text the rewriter must scan in full.

A line is scanned in full if it may hold one of these (a superset is fine: scanning a
line that holds nothing of interest changes nothing): an interesting mnemonic or a
prefix, as a word; a control, debug or segment register; `$seg, $off` (far
immediate); a macro parameter (`\\`); a comment opening or closing; a directive that
changes how later lines read (.macro .rept .irp .code16 .intel_syntax .include...);
the runtime (`__lvm_`, .popsection, `.byte`: the trap marker or an encoded instruction); a section switch
(.section .pushsection .popsection .previous .text .data .bss: code in a section the
kernel copies is rewritten in the trap form, isa.COPIED_SECTIONS).  Every other line
is copied untouched, which keeps lvm-cc close to gcc's speed on ordinary C.
"""
from . import isa

# Generic mnemonics are interesting only with a segment or control register operand,
# which the register alternatives below catch.
GENERIC = {"mov", "movl", "movw", "push", "pushl", "pushw", "pop", "popl", "popw",
           "jmp", "jmpl", "jmpw", "call", "calll", "callw"}
_WORDS = sorted((s for s in isa.BY_SPELLING if s not in GENERIC), key=len, reverse=True)


# filter_pattern() says it as one regular expression, re.I and re.M: the reference, and what
# non-ASCII text goes through.  ASCII text (what compilers write) takes a faster road with
# the same answer or more, bytes methods only (ascii_hot_lines): ~3 ms for kernel/signal.s
# (110 KB) where the expression takes ~12 ms, after ~2 ms to compile it and ~6 to import re.
def _trie_pattern(words):
    """One regex alternative per distinct prefix (`c(?:l(?:i|ts)|pu(?:id))`...) instead of
    a flat `cli|clts|cpuid|...`: the same language, ~8x faster to scan with re.I (Python's
    re tries every alternative at every position).  A word that is also a prefix of
    longer ones becomes an optional group, greedy, so longer words are still tried first."""
    import re
    tree = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node):
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:%s)" % "|".join(alts)
        return "(?:%s)?" % body if "" in node else body
    return emit(tree)


def filter_pattern():
    import re
    return (r"\b(?:%s)\b" % _trie_pattern(_WORDS)
            + r"|%(?:cr|dr|db)\d|%[cdefgs]s\b|\$[^,#;\n]*,\s*\$|\\"  # ctl/seg regs, far imm, macro params
            + r"|/\*|\*/|\.(?:macro|endm|rept|irpc?|endr|purgem|(?:no)?altmacro|code\w*|intel_syntax|att_syntax|include)\b"
            + r"|^\s*(?:%s)\s*(?:[;#]|$)" % "|".join(sorted(isa.PREFIXES))
            + r"|%s\w|\.popsection|\.byte\b" % re.escape(isa.RUNTIME_PREFIX)
            + r"|\.(?:push)?section|\.previous|\.text|\.data|\.bss")


def pattern_lines(text):
    """Lines (0-based) where filter_pattern() matches."""
    import re
    hot, line, pos = set(), 0, 0
    for m in re.finditer(filter_pattern(), text, re.M | re.I):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        hot.add(line)
    return hot


# Most of the pattern is words: mnemonics, prefixes (`%es`... too: segment prefixes),
# directives, `0xf4`.  They are found as whole tokens of a copy of the text where every
# byte but [a-z0-9_] is a space (upper case folded): `\bcli\b` is then " cli ".
_WORD_SET = frozenset(w.encode() for w in list(_WORDS) + sorted(isa.PREFIXES) + [
    "macro", "endm", "rept", "irp", "irpc", "endr", "purgem", "altmacro", "noaltmacro", "intel_syntax", "att_syntax",
    "include", "0xf4"])
_AS_WORDS = bytes(c + 32 if 65 <= c <= 90 else c if 48 <= c <= 57 or 97 <= c <= 122 or c == 95
                  else 32 for c in range(256))
# The rest contains one of these (in lower case)...
_NEEDLES = (b"%cr", b"%dr", b"%db", b"\\", b"/*", b"*/", b".code", b".popsection", b".byte",
            b".section", b".pushsection", b".previous", b".text", b".data", b".bss",
            isa.RUNTIME_PREFIX.encode().lower())
# ...but `\$[^,#;\n]*,\s*\$`, found as ",$" once the blanks of `\s` but newlines are gone.
_BLANKS = b" \t\r\x0b\x0c\x1c\x1d\x1e\x1f"
# A line with a string is scanned too (an unterminated string is an error, and gas would
# continue it on the next line), except the common ones that provably hold nothing else:
# a comment (gcc's `# 15 "file.h" 1` around each inline asm), or one of these directives,
# its arguments without `;` (another statement) or `'` (a character constant, which may
# hide a `"`), and its strings closed (no `\` to escape a quote: that makes a line hot).
_QUIET_STRING_DIRECTIVES = frozenset((".file", ".ident", ".section", ".pushsection", ".string",
                                      ".ascii", ".asciz"))


def quiet_string_line(line):
    if line.lstrip().startswith("#"):
        return True
    if ";" in line or "'" in line or line.count('"') % 2:
        return False
    words = line.split(None, 1)
    return (len(words) == 2 and words[0].lower() in _QUIET_STRING_DIRECTIVES
            and not words[1].startswith(":"))     # `.section :` would be a label


def ascii_hot_lines(data, lines):
    """Lines (0-based) of ASCII `data` (bytes; `lines` is the same text split at newlines)
    that may hold something for the rewriter: what filter_pattern() finds, or more."""
    hits = []
    words = b" " + data.translate(_AS_WORDS) + b" "  # " w " at i: the word w at i in data
    for w in _WORD_SET.intersection(words.split()):
        _find_all(words, b" %s " % w, hits)
    low = data.lower()
    for needle in _NEEDLES:
        _find_all(low, needle, hits)
    hot = _lines_at(data, hits)
    squeezed = data.translate(None, _BLANKS)       # the same lines, without blanks
    far = []
    _find_all(squeezed, b",$", far)
    wrapped = []
    _find_all(squeezed, b",\n", wrapped)           # `\s*` takes newlines too
    for i in wrapped:
        j = i + 1
        while squeezed[j:j + 1] == b"\n":
            j += 1
        if squeezed[j:j + 1] == b"$":
            far.append(i)
    hot |= _lines_at(squeezed, far)
    quotes = []
    _find_all(data, b'"', quotes)
    hot |= {i for i in _lines_at(data, quotes) if not quiet_string_line(lines[i])}
    return hot


def _find_all(buf, needle, out):
    i = buf.find(needle)
    while i >= 0:
        out.append(i)
        i = buf.find(needle, i + 1)


def _lines_at(buf, offsets):
    """The lines (0-based) of these offsets in buf."""
    lines, line, pos = set(), 0, 0
    for off in sorted(offsets):
        line += buf.count(b"\n", pos, off)
        pos = off
        lines.add(line)
    return lines
