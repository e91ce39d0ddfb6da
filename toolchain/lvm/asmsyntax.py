"""AT&T assembly source as GNU as reads it: lines, statements, labels, operands.

Only as much of gas's grammar as rewriting needs, but that part exactly: `#` and
`/* */` comments, strings and character constants (so `;` or `#` inside them do not
split anything), `;` statement separators, any number of leading labels, prefixes
written as words, and operands split at top-level commas.  Unchanged text is kept
byte for byte.
"""
# A label and a word (a prefix or mnemonic) at a position: these regular expressions,
# written out by hand below.  lvm-as runs once per object, and importing `re` (with
# enum, functools, collections) costs it ~6 ms, more than scanning a typical object;
# tests/test_matchers.py checks the functions against the expressions.
LABEL_PATTERN = r'\s*(?:[A-Za-z_.$][\w.$]*|\d+|"[^"]*"|(?:[\w.$]|\\\(\)|\\[\w@]+)+)\s*:(?!:)'
WORD_PATTERN = r'\s*(\{[\w]+\}|[A-Za-z_.][\w.$@]*|\\[\w@]+(?:\\\(\))?)'

_ASCII_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_NAME_START = frozenset(_ASCII_LETTERS + "_.$")       # [A-Za-z_.$]
_WORD_START = frozenset(_ASCII_LETTERS + "_.")        # [A-Za-z_.]


def _is_w(c):                                           # \w
    return c.isalnum() or c == "_"


def _is_name(c):                                        # [\w.$]
    return c.isalnum() or c in "_.$"


def _is_param(c):                                       # [\w@]
    return c.isalnum() or c in "_@"


def _is_word(c):                                        # [\w.$@]
    return c.isalnum() or c in "_.$@"


def _skip(text, i, ok):
    """The end of the run of characters `ok` accepts from i."""
    n = len(text)
    while i < n and ok(text[i]):
        i += 1
    return i


def _colon(text, i):
    r"""`\s*:(?!:)` at i: the end of the colon, or None."""
    i = _skip(text, i, str.isspace)
    if text[i:i + 1] == ":" and text[i + 1:i + 2] != ":":
        return i + 1
    return None


def label_end(text, pos):
    r"""LABEL_PATTERN at pos: where the label (with its colon) ends, or None.

    Each alternative matches a run that cannot be cut short and still be followed by
    `\s*:`, so trying them in order with their longest runs gives the expression's
    answer."""
    i = _skip(text, pos, str.isspace)
    c = text[i:i + 1]
    if not c:
        return None
    if c in _NAME_START:                                # [A-Za-z_.$][\w.$]*
        end = _colon(text, _skip(text, i + 1, _is_name))
        if end is not None:
            return end
    elif c.isdecimal():                                 # \d+
        end = _colon(text, _skip(text, i + 1, str.isdecimal))
        if end is not None:
            return end
    elif c == '"':                                      # "[^"]*"
        close = text.find('"', i + 1)
        end = _colon(text, close + 1) if close >= 0 else None
        if end is not None:
            return end
    j = i                                               # (?:[\w.$]|\\\(\)|\\[\w@]+)+
    while j < len(text):
        if _is_name(text[j]):
            j += 1
        elif text.startswith("\\()", j):
            j += 3
        elif text[j] == "\\" and _is_param(text[j + 1:j + 2] or " "):
            j = _skip(text, j + 2, _is_param)
        else:
            break
    return _colon(text, j) if j > i else None


def word_at(text, pos):
    """WORD_PATTERN at pos: (the word, where it ends), or None."""
    i = _skip(text, pos, str.isspace)
    c = text[i:i + 1]
    if c == "{":                                        # \{[\w]+\}
        j = _skip(text, i + 1, _is_w)
        if j > i + 1 and text[j:j + 1] == "}":
            return text[i:j + 1], j + 1
    elif c and c in _WORD_START:                        # [A-Za-z_.][\w.$@]*
        j = _skip(text, i + 1, _is_word)
        return text[i:j], j
    elif c == "\\" and _is_param(text[i + 1:i + 2] or " "):   # \\[\w@]+(?:\\\(\))?
        j = _skip(text, i + 2, _is_param)
        if text.startswith("\\()", j):
            j += 3
        return text[i:j], j
    return None


class Statement:
    """One statement: `labels body`.  `body` is empty, a directive or an instruction."""
    __slots__ = ("text", "labels", "body", "line")

    def __init__(self, text, labels, body, line):
        self.text = text          # exact source text of the statement
        self.labels = labels      # exact text of the leading labels (with their colons)
        self.body = body          # exact text after the labels, leading blanks kept
        self.line = line

    @property
    def word(self):
        w = word_at(self.body, 0)
        return w[0] if w else ""


class Instruction:
    __slots__ = ("prefixes", "mnemonic", "operands", "text")

    def __init__(self, prefixes, mnemonic, operands, text):
        self.prefixes = prefixes  # [str]
        self.mnemonic = mnemonic  # as written (case kept)
        self.operands = operands  # [str]
        self.text = text          # body without surrounding blanks


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
        end = label_end(text, pos)
        if end is None:
            break
        pos = end
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
        found = word_at(text, pos)
        if not found:
            if prefixes and not text[pos:].strip():
                return Instruction(prefixes=prefixes, mnemonic="", operands=[], text=text)
            return None
        w, pos = found
        if w.lower() in prefixes_set or w.startswith("{"):
            prefixes.append(w)
            continue
        return Instruction(prefixes=prefixes, mnemonic=w, operands=split_operands(text[pos:]), text=text)
