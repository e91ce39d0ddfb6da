"""The rewriting pass: AT&T assembly in, the same assembly with every interesting
instruction replaced by its call-mode or trap-mode template out.

Line numbers are preserved (a rewritten instruction stays on its line, its template
joined with `;`), so the assembler's diagnostics and debug line tables still point
at the original source.  Lines are scanned in full only where a cheap filter says
something of interest might be there; every other line is copied untouched, which
keeps lvm-cc close to gcc's speed on ordinary C.

lvm-as runs once per object, so this module and those it imports avoid costly
imports: no dataclasses, typing or pathlib, and no `re` (~6 ms with enum, functools and
collections) but for non-ASCII text and a few rare directives.
"""
import os
import sys

from . import isa, macros
from .render import render_one_line, render_runtime  # noqa: F401  (render_runtime: lvm-as's)
from .asmsyntax import Instruction, Statement, SyntaxScanError, parse_instruction, parse_statement, split_line
from .datamarks import DataMarks
from .sections import SWITCHES, Code16Regions, Sections
from .classify import UNDECIDED, classify
from .errors import AsmError

MODES = ("call", "trap", "user")
# Python recursion is 7 frames per include level (_rewrite_lines, _scan, _line,
# _statement, _statement_body, _directive, _include) and 6 per macro level (macros.py:
# MAX_NEST 100): the deepest nesting of both needs ~1,300 frames.
MAX_INCLUDE_DEPTH = 100
_FRAMES_NEEDED = 2000

# The line filter lives in hotlines.py; its names are re-exported for the tests.
from .hotlines import GENERIC as _GENERIC, ascii_hot_lines, filter_pattern, pattern_lines, quiet_string_line  # noqa: E402,F401


class Result:
    __slots__ = ("text", "rewritten", "undecided", "runtime")

    def __init__(self, text, rewritten=0):
        self.text = text
        self.rewritten = rewritten
        self.undecided = []           # lines left for `lvm check`
        self.runtime = set()          # guest subroutines referenced


def _is_assignment(body):
    r"""`[\w.$]+\s*=` at the start of body: `x = 1`, `.L1 = .` are not instructions."""
    i = 0
    while i < len(body) and (body[i].isalnum() or body[i] in "_.$"):
        i += 1
    return i > 0 and body[i:].lstrip().startswith("=")


class Rewriter:
    def __init__(self, mode="call", filename="<stdin>", include_dirs=(), syntax="att"):
        if sys.getrecursionlimit() < _FRAMES_NEEDED:
            sys.setrecursionlimit(_FRAMES_NEEDED)     # plain Python frames: far from the C stack
        if mode not in MODES:
            raise ValueError("LVM mode must be one of %s, not %r" % ("/".join(MODES), mode))
        self.mode, self.filename = mode, filename
        self.include_dirs = list(include_dirs)
        self.syntax = syntax
        self.code = 32
        self.in_comment = False
        self.blocks = []            # open .macro/.rept/.irp bodies
        self.macros = set()         # user macro names: a statement naming one is not an instruction
        self.expandable = {}        # name -> macros.Macro: invocations expanded and rewritten
        self._defining = None       # the top-level .macro being read: (line, arg, undecided, alone)
        self.altmacro = False
        self.serial = 0             # expansions so far (for \@)
        self.expanding = 0          # macro invocations being expanded, one in another
        self.data_marks = None      # a DataMarks in hand-written files (datamarks.py)
        self.prev_marker = False    # the previous statement is a marker: do not rewrite again
        self.pending_prefix = None  # (line index, column) of a prefix-only statement
        self._separated = False     # this statement's label came after such a prefix
        self.regions = Code16Regions()
        self._inserts = []          # markers to insert in the line being rewritten
        self._line_has_region = False   # that line holds region symbols already (idempotence)
        self.in_runtime = False     # inside a runtime subroutine lvm-as appended earlier
        self.sections = Sections()  # gas's current section and section stack
        self.present = set()        # runtime subroutines already in the input
        self.include_stack = ()     # (st_dev, st_ino) of the files including this one
        self._key = False           # this file's, once asked (None: not a file)
        self.result = Result("")

    # -- public ---------------------------------------------------------------------
    def rewrite(self, text):
        """Rewrite one input; result.text is its text rewritten.  Called again (after
        next_input) for the next input of the same assembly: gas reads its inputs, and
        the files they include, as one stream, so the mode, syntax, sections, macros
        and a marker or prefix waiting for its instruction carry over."""
        self.result.text = self._rewrite_lines(text)
        return self.result

    def next_input(self, filename):
        self.filename, self._key = filename, False

    def runtime_text(self):
        """lvm's guest subroutines the inputs call and do not hold, to append to them."""
        missing = self.result.runtime - self.present
        return render_runtime(missing, self.code32_after_input()) if missing else ""

    # -- internals ------------------------------------------------------------------
    def _rewrite_lines(self, text):
        lines = text.split("\n")
        if text.isascii():
            hot = ascii_hot_lines(text.encode("ascii"), lines)
        else:
            # The same byte filter on the UTF-8 bytes (non-ASCII bytes are not word bytes,
            # as for gas), and every line with a non-ASCII character or a string: the
            # regular expression took quadratic time on a line of `$`s.
            hot = ascii_hot_lines(text.encode("utf-8", "surrogateescape"), lines) | {
                i for i, line in enumerate(lines) if '"' in line or not line.isascii()}
        n, i = len(lines), 0
        if self.data_marks is not None or self.code != 32 or _hand_written(text):
            if self.data_marks is None:
                self.data_marks = DataMarks(text)
            hot = range(n)
        depth = len(self.blocks)
        for nxt in sorted(hot) + [n]:
            # Lines i..nxt-1 hold nothing for the filter: they are skipped, but scanned in
            # a comment or in Intel syntax, and the first with code clears a marker or a
            # prefix waiting for the next instruction.
            while i < nxt and (self.in_comment or self.syntax != "att" or self.prev_marker
                               or self.pending_prefix):
                if self.in_comment or self.syntax != "att":
                    self._scan(lines, i)
                elif _has_code(lines[i]):
                    self.prev_marker, self.pending_prefix = False, None
                i += 1
            if nxt < n:
                self._scan(lines, nxt)
            i = nxt + 1
        if len(self.blocks) > depth:
            raise AsmError(self.filename, len(lines), "end of file inside %s" % self.blocks[-1])
        if self.in_comment:
            # gas ends a comment at the end of its file; in the text lvm-as hands it, an
            # included file or the runtime comes next, and would be swallowed
            lines[-1] += "*/"
            self.in_comment = False
        return "\n".join(lines)

    def _scan(self, lines, i):
        try:
            lines[i] = self._line(lines, i)
        except SyntaxScanError as e:
            raise AsmError(self.filename, i + 1, str(e))

    def _line(self, lines, idx):
        # One pass, whatever the number of statements on the line: the column is carried,
        # not recomputed, and the markers go in with one join (a line of 40,000
        # `;`-separated statements is one line to gas too).
        line = lines[idx]
        pieces, self.in_comment = split_line(line, self.in_comment)
        self._line_has_region = "__lvm_code16_" in line
        out, col = [], 0
        for is_stmt, text in pieces:
            if is_stmt:
                text = self._statement(text, idx, col, lines)
            out.append(text)
            col += len(text)
        new = "".join(out)
        if self._inserts:
            new = _insert_markers(new, self._inserts)
            self._inserts = []
        return new

    def _statement(self, text, idx, col, lines):
        # no range opens in a .macro/.rept/.irp body: gas assembles it more than once,
        # and a label there would be defined as often
        in_code = self.sections.in_code() and not self.blocks
        label = self.data_marks.label(text, in_code, self._encoded) if self.data_marks else None
        out = self._statement_body(text, idx, col, lines)
        return "%s: %s" % (label, out.lstrip()) if label else out

    def _statement_body(self, text, idx, col, lines):
        st = parse_statement(text, idx + 1)
        body = st.body.strip()
        self._separated = False
        if st.labels:
            self.prev_marker = False
            if self.pending_prefix and body:
                # gas assembles the prefix alone, then the label: fine unless what
                # follows is rewritten (the prefix would go to lvm's code: _rewrite)
                self._separated, self.pending_prefix = True, None
        if not body:
            return text
        if body.startswith("."):
            if body[:5].lower() == ".byte":
                return st.labels + self._directive(st.body, body, idx, lines, st, col)
            return st.labels + self._directive(st.body, body, idx, lines)
        if self.in_runtime:
            return text
        if self.syntax == "intel":
            self._intel(body, idx)
            return text
        insn = parse_instruction(body, isa.PREFIXES)
        if insn is None or "=" in body and ("=" in body.split(None, 1)[0] or _is_assignment(body)):
            self.prev_marker, self.pending_prefix = False, None
            return text
        if not insn.mnemonic:                       # `rep` alone: belongs to the next instruction
            lead = len(st.labels) + len(st.body) - len(st.body.lstrip())
            self.pending_prefix = (idx, col + lead)
            return text
        name = insn.mnemonic.lower()                 # gas's macro names ignore case
        if name in self.expandable and self.code == 32 and not insn.prefixes:
            expansion = self._expand(self.expandable[name], body[len(insn.mnemonic):], idx, lines)
            if expansion is not None:
                return st.labels + st.body[:len(st.body) - len(st.body.lstrip())] + expansion
        if self.code != 32 or name in self.macros:
            self.prev_marker, self.pending_prefix = False, None
            return text
        if (insn.mnemonic.lower() in ("call", "calll") and len(insn.operands) == 1
                and isa.emulates_after_call(insn.operands[0])):
            self.prev_marker = True
            return text
        match = classify(insn)
        if self.mode == "user":
            return self._user(match, insn, st, idx, text)
        if match is None:
            self.prev_marker, self.pending_prefix = False, None
            return text
        if match is UNDECIDED:
            self.result.undecided.append(idx + 1)
            self.prev_marker, self.pending_prefix = False, None
            return text
        if self.prev_marker:                         # already rewritten (idempotence)
            self.prev_marker, self.pending_prefix = False, None
            return text
        return self._rewrite(match, insn, st, idx, col, lines)

    def _rewrite(self, match, insn, st, idx, col, lines):
        """The statement `st` rewritten for `match` (`insn` as the original text)."""
        if self._separated:
            raise AsmError(self.filename, idx + 1, "a label separates a prefix from its instruction")
        self.result.rewritten += 1
        if self.pending_prefix:                      # marker goes in front of the prefix
            pidx, pcol = self.pending_prefix
            self.pending_prefix = None
            marker = self._marker()
            if pidx == idx:
                self._inserts.append((pcol, marker))
            else:
                lines[pidx] = lines[pidx][:pcol] + marker + "; " + lines[pidx][pcol:]
            return st.text
        family = match.family
        if self.mode == "trap" or (family in ("emulate", "fast_call", "seg_load", "seg_pop", "seg_mem")
                                   and self.sections.copied()):
            family = "trap"
        if family == "fast_call":
            self.result.runtime.add(match.rule.name)
        if family in ("seg_load", "seg_pop", "seg_mem"):
            self.result.runtime.update((match.load["sub"], "emulate"))
        if family == "emulate":
            self.result.runtime.add("emulate")
        new = render_one_line(family + ".j2", rule=match.rule, load=match.load, insn=insn.text)
        lead = st.body[:len(st.body) - len(st.body.lstrip())]
        trail = st.body[len(st.body.rstrip()):]
        return st.labels + lead + new + trail

    def _user(self, match, insn, st, idx, text):
        """User mode: only `sysenter` is rewritten (into the far call of lvm's user
        system-call gate); user code runs natively, everything else stays as written."""
        prefixed = insn.prefixes or self.pending_prefix or self._separated
        self.prev_marker, self.pending_prefix = False, None
        if match is UNDECIDED:                       # `\insn` in a macro: expand its invocations
            self.result.undecided.append(idx + 1)
            return text
        if match is None or match.rule.name != "sysenter" or prefixed:
            return text                              # a prefixed sysenter stays as written
        self.result.rewritten += 1
        new = render_one_line("user_gate.j2", insn=insn.text)
        lead = st.body[:len(st.body) - len(st.body.lstrip())]
        trail = st.body[len(st.body.rstrip()):]
        return st.labels + lead + new + trail

    def _marker(self):
        if self.mode == "trap" or self.sections.copied():
            return ".byte %#x" % isa.TRAP_MARKER_BYTE
        self.result.runtime.add("emulate")
        return "call %s" % isa.EMULATE_SYMBOL

    def _encoded(self, arg):
        """The instruction (text) a `.byte` operand list in code encodes, or None."""
        if self.code != 32 or self.in_runtime or not self.sections.in_code() or self.mode == "user":
            return None
        try:
            key = tuple(int(v.strip(), 0) if v.strip()[:1] != "0" or v.strip()[:2].lower() in ("0x", "0b")
                        or v.strip() == "0" else int(v.strip(), 8) for v in arg.split(","))
        except ValueError:
            return None
        return isa.ENCODED.get(key)

    def _directive(self, raw, body, idx, lines, st=None, col=0):
        self.pending_prefix = None
        word = body.split(None, 1)[0].lower().rstrip(",")
        arg = body[len(word):].strip()
        if word == ".byte" and st is not None:
            was_marker = self.prev_marker
            encoded = self._encoded(arg)
            if encoded and not was_marker:
                match = classify(parse_instruction(encoded, isa.PREFIXES))
                if match and match is not UNDECIDED:
                    self.prev_marker = False
                    original = Instruction([], "", [], body)      # the bytes, behind the marker
                    return self._rewrite(match, original, Statement(st.text, "", st.body, st.line),
                                         idx, col, lines)
        self.prev_marker = word == ".byte" and arg.lower() in ("0xf4", "244")
        if word == ".macro":
            name = arg
            for i, c in enumerate(arg):                  # up to a blank or a comma
                if c.isspace() or c == ",":
                    name = arg[:i]
                    break
            name = name.lower()
            self.macros.add(name)
            self.expandable.pop(name, None)
            if not self.blocks:
                self._defining = (idx, arg, len(self.result.undecided), raw.strip() == lines[idx].strip())
            self.blocks.append(".macro " + name)
        elif word == ".endm":                             # gas has no `.endmacro`
            self._close((".macro",), word, idx)
            if not self.blocks and self._defining:
                self._defined(idx, raw.strip() == lines[idx].strip(), lines)
        elif word == ".altmacro":
            self.altmacro = True
        elif word == ".noaltmacro":
            self.altmacro = False
        elif word in (".rept", ".irp", ".irpc"):
            self.blocks.append(word)
        elif word == ".endr":
            self._close((".rept", ".irp", ".irpc"), word, idx)
        elif word == ".purgem":
            self.macros.discard(arg.lower())
            self.expandable.pop(arg.lower(), None)
        elif word in (".code16", ".code16gcc", ".code64", ".code32"):
            new = 32 if word == ".code32" else 16 if word.startswith(".code16") else 64
            extra = ""
            if self._line_has_region:
                self.regions.known(lines[idx])
            elif not self.blocks and (new == 32) != (self.code == 32):
                extra = "; " + (self.regions.end() if new == 32 else self.regions.begin())
            self.code = new
            return raw + extra
        elif word == ".intel_syntax":
            self.syntax = "intel"
        elif word == ".att_syntax":
            self.syntax = "att"
        elif word in SWITCHES:
            self._switch_section(word, arg)
            if self.code != 32 and self._line_has_region:   # rewritten before: labels stand
                self.regions.known(lines[idx])
            elif self.code != 32 and not self.blocks:
                return self.regions.across_switch(raw)
        elif word == ".include":
            return self._include(raw, arg, idx)
        return raw

    def _switch_section(self, word, arg):
        """Follow the section directive; the runtime lvm-as appended to a file before
        is a COMDAT section of its own, and is left as it is."""
        self.in_runtime = False
        self.sections.switch(word, arg)
        if word in (".pushsection", ".section") and isa.RUNTIME_PREFIX in arg:
            m = _search(r",\s*(%s\w+)\s*,\s*comdat" % isa.RUNTIME_PREFIX, arg)
            if m:
                self.in_runtime = True
                self.present.add(m.group(1)[len(isa.RUNTIME_PREFIX):])

    def code32_after_input(self):
        """The `.code32` statement lvm's runtime starts with after this input: one that
        also ends the 16-bit region and the data range the input ended in, if it did
        (so that the runtime is neither, and a second pass finds its labels)."""
        ends = [self.regions.end() if self.code != 32 else "",
                self.data_marks and self.data_marks.close()]
        labels = " ".join(e if e.endswith(":") else e + ":" for e in ends if e)
        return ".code32; " + labels if labels else ".code32"

    def _defined(self, end, alone, lines):
        macros.keep_if_expandable(self, end, alone, lines)

    def _expand(self, macro, args, idx, lines):
        return macros.expand_and_rewrite(self, macro, args, idx, lines)

    def _close(self, kinds, word, idx):
        if not self.blocks or self.blocks[-1].split()[0] not in kinds:
            raise AsmError(self.filename, idx + 1, "%s without a matching opening directive" % word)
        self.blocks.pop()

    def _intel(self, body, idx):
        insn = parse_instruction(body, isa.PREFIXES)
        if insn is None or not insn.mnemonic:
            return
        m = insn.mnemonic.lower()
        rules = isa.BY_SPELLING.get(m, [])
        generic = m in _GENERIC
        if (rules and not generic) or (generic and _search(
                r"(?i)\b(?:cr[0-8]|dr[0-7]|[cdefgs]s)\b|\bfar\b|:", ",".join(insn.operands))):
            raise AsmError(self.filename, idx + 1,
                           "cannot rewrite `%s` in Intel syntax: lvm-as rewrites AT&T syntax only "
                           "(switch this block to .att_syntax)" % body)

    def _include(self, raw, arg, idx):
        from pathlib import Path               # rare: not worth its import in every run
        name = arg.strip().strip('"')
        base = Path(self.filename).parent if self.filename not in ("-", "<stdin>") else Path(".")
        for d in [base] + [Path(p) for p in self.include_dirs] + [Path(".")]:
            path = d / name
            if path.is_file():
                break
        else:
            raise AsmError(self.filename, idx + 1, "cannot find include file %s" % name)
        # gas nests includes until it runs out of file descriptors ("can't open x.s for
        # reading: Too many open files", ~1020 levels at the usual limit of 1024).  lvm-as
        # reads each file whole and inlines it, whatever `.if` surrounds the `.include`
        # (it does not evaluate conditions), so a file that includes itself would never
        # end: it is refused at once, and a chain of distinct files at MAX_INCLUDE_DEPTH.
        try:
            st = os.stat(path)
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "surrogateescape")
        except OSError as e:
            raise AsmError(self.filename, idx + 1, "can't open %s for reading: %s" % (path, e.strerror))
        key = (st.st_dev, st.st_ino)
        stack = self.include_stack + (self._identity(),)
        if key in stack:
            raise AsmError(self.filename, idx + 1, "can't open %s for reading: it is being included "
                           "already (lvm-as expands every .include, whatever .if guards it)" % path)
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise AsmError(self.filename, idx + 1, "can't open %s for reading: includes nested more "
                           "than %d deep" % (path, MAX_INCLUDE_DEPTH))
        # The included lines are read by this rewriter, as gas reads them: in the mode,
        # syntax and section the include left, with the macros known so far.
        saved = (self.filename, self._key, self.include_stack, self._inserts,
                 self._line_has_region, self._defining)
        self.filename, self._key, self.include_stack = str(path), key, stack
        self._inserts, self._defining = [], None
        try:
            body = self._rewrite_lines(text)
        finally:
            (self.filename, self._key, self.include_stack, self._inserts,
             self._line_has_region, self._defining) = saved
        return '\n# 1 "%s"\n%s\n# %d "%s"\n' % (path, body, idx + 1, self.filename)

    def _identity(self):
        """(st_dev, st_ino) of this file, or None (standard input, a name that is no file)."""
        if self._key is False:
            try:
                st = os.stat(self.filename)
                self._key = (st.st_dev, st.st_ino)
            except OSError:
                self._key = None
        return self._key


def _hand_written(text):
    """Text a person wrote (data in .text is theirs), not a compiler's: gcc and clang
    end their output with `.ident "<compiler>"`; a file with 16-bit code is always
    looked at (a C file may hold a trampoline in top-level asm).  Only compiler output
    keeps the hot-line filter: it has no data after jumps in code sections, and its
    debug-info `.long`s would all be scanned."""
    return '\n\t.ident\t"' not in text or ".code16" in text.lower()


def _insert_markers(line, inserts):
    """line with `marker; ` put in at each (column, marker) of inserts."""
    out, prev = [], 0
    for col, marker in sorted(inserts):
        out += [line[prev:col], marker, "; "]
        prev = col
    out.append(line[prev:])
    return "".join(out)


def _search(pattern, text):
    import re                     # rare cases only (Intel syntax, lvm's own runtime)
    return re.search(pattern, text)


def _has_code(line):
    s = line.strip()
    return bool(s) and not s.startswith("#") and not s.startswith("/*")


def rewrite_text(text, mode="call", filename="<stdin>", include_dirs=(), syntax="att"):
    """Rewrite assembly text; returns a Result (text with the runtime appended)."""
    rw = Rewriter(mode, filename, include_dirs, syntax)
    res = rw.rewrite(text)
    res.text += rw.runtime_text()
    return res
