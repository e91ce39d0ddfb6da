"""AT&T assembly source as GNU as reads it: lines, statements, labels, operands.

Only as much of gas's grammar as rewriting needs, but that part exactly: `#` and
`/* */` comments, strings and character constants (so `;` or `#` inside them do not
split anything), `;` statement separators, any number of leading labels, prefixes
written as words, and operands split at top-level commas.  Unchanged text is kept
byte for byte.
"""
import re
from dataclasses import dataclass, field
from typing import List

_LABEL = re.compile(r'\s*(?:[A-Za-z_.$][\w.$]*|\d+|"[^"]*"|(?:[\w.$]|\\\(\)|\\[\w@]+)+)\s*:(?!:)')
_WORD = re.compile(r'\s*(\{[\w]+\}|[A-Za-z_.][\w.$@]*|\\[\w@]+(?:\\\(\))?)')


@dataclass
class Statement:
    """One statement: `labels body`.  `body` is empty, a directive or an instruction."""
    text: str          # exact source text of the statement
    labels: str        # exact text of the leading labels (with their colons)
    body: str          # exact text after the labels, leading blanks kept
    line: int

    @property
    def word(self):
        m = _WORD.match(self.body)
        return m.group(1) if m else ""


@dataclass
class Instruction:
    prefixes: List[str]
    mnemonic: str      # as written (case kept)
    operands: List[str]
    text: str          # body without surrounding blanks


class SyntaxScanError(ValueError):
    pass


def split_line(line, in_comment):
    """Split one physical line into pieces [(is_statement, text)] and the comment state.

    Concatenating the texts gives the line back unchanged.  Statements are separated by
    `;`; comments are their own pieces.
    """
    pieces, cur, i, n = [], [], 0, len(line)
    start = 0

    def flush_stmt(end):
        pieces.append((True, line[start:end]))

    while i < n:
        if in_comment:
            j = line.find("*/", i)
            if j < 0:
                pieces.append((False, line[i:]))
                return pieces, True
            pieces.append((False, line[i:j + 2]))
            i = start = j + 2
            in_comment = False
            continue
        c = line[i]
        if c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            if j >= n:
                raise SyntaxScanError("unterminated string")
            i = j + 1
        elif c == "'":
            i += 3 if i + 1 < n and line[i + 1] == "\\" else 2
        elif c == "#":
            flush_stmt(i)
            pieces.append((False, line[i:]))
            return pieces, False
        elif c == "/" and line.startswith("/*", i):
            flush_stmt(i)
            start = i
            in_comment = True
        elif c == ";":
            flush_stmt(i)
            pieces.append((False, ";"))
            i = start = i + 1
        else:
            i += 1
    if not in_comment:
        flush_stmt(n)
    return pieces, in_comment


def parse_statement(text, line):
    pos = 0
    while True:
        m = _LABEL.match(text, pos)
        if not m:
            break
        pos = m.end()
    return Statement(text=text, labels=text[:pos], body=text[pos:], line=line)


def split_operands(s):
    """Split at commas outside parentheses (and outside strings)."""
    out, depth, cur, i = [], 0, [], 0
    while i < len(s):
        c = s[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        elif c == '"':
            j = s.find('"', i + 1)
            j = len(s) - 1 if j < 0 else j
            cur.append(s[i:j + 1])
            i = j + 1
            continue
        cur.append(c)
        i += 1
    last = "".join(cur).strip()
    if last or out:
        out.append(last)
    return out


def parse_instruction(body, prefixes_set):
    """Split an instruction body into prefixes, mnemonic and operands."""
    text = body.strip()
    pos = 0
    prefixes = []
    while True:
        m = _WORD.match(text, pos)
        if not m:
            if prefixes and not text[pos:].strip():
                return Instruction(prefixes=prefixes, mnemonic="", operands=[], text=text)
            return None
        w = m.group(1)
        pos = m.end()
        if w.lower() in prefixes_set or w.startswith("{"):
            prefixes.append(w)
            continue
        return Instruction(prefixes=prefixes, mnemonic=w, operands=split_operands(text[pos:]), text=text)
