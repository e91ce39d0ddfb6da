"""The rewriting pass: AT&T assembly in, the same assembly with every interesting
instruction replaced by its call-mode or trap-mode template out.

Line numbers are preserved (a rewritten instruction stays on its line, its template
joined with `;`), so the assembler's diagnostics and debug line tables still point
at the original source.  Lines are scanned in full only where a cheap regular
expression says something of interest might be there; every other line is copied
untouched, which keeps lvm-cc close to gcc's speed on ordinary C.
"""
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from . import isa
from .asmsyntax import SyntaxScanError, parse_instruction, parse_statement, split_line
from .classify import UNDECIDED, classify
from .errors import AsmError

TEMPLATES = Path(__file__).resolve().parent / "templates"
GUEST = Path(__file__).resolve().parents[2] / "runtime" / "guest"
MODES = ("call", "trap")

_GENERIC = {"mov", "movl", "movw", "push", "pushl", "pushw", "pop", "popl", "popw",
            "jmp", "jmpl", "jmpw", "call", "calll", "callw"}
_WORDS = sorted((s for s in isa.BY_SPELLING if s not in _GENERIC), key=len, reverse=True)


def _trie_pattern(words):
    """One regex alternative per distinct prefix (`c(?:l(?:i|ts)|pu(?:id))`...) instead of
    a flat `cli|clts|cpuid|...`: the same language, ~8x faster to scan with re.I (Python's
    re tries every alternative at every position).  A word that is also a prefix of
    longer ones becomes an optional group, greedy, so longer words are still tried first."""
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


_FILTER = re.compile(
    r"\b(?:%s)\b" % _trie_pattern(_WORDS)
    + r"|%(?:cr|dr|db)\d|%[cdefgs]s\b|\$[^,#;\n]*,\s*\$|\\"    # ctl/seg regs, far imm, macro params
    + r"|/\*|\*/|\.(?:macro|endm|rept|irpc?|endr|purgem|code\w*|intel_syntax|att_syntax|include)\b"
    + r"|^\s*(?:%s)\s*(?:[;#]|$)" % "|".join(sorted(isa.PREFIXES))
    + r"|%s\w|\.popsection|\.byte\s+0x[fF]4\b" % re.escape(isa.RUNTIME_PREFIX),
    re.M | re.I)
_INTEL_CTL = re.compile(r"\b(?:cr[0-8]|dr[0-7]|[cdefgs]s)\b|\bfar\b|:", re.I)


@dataclass
class Result:
    text: str
    rewritten: int = 0
    undecided: List[int] = field(default_factory=list)   # lines left for `lvm check`
    runtime: set = field(default_factory=set)            # guest subroutines referenced


class _Env:
    """jinja2 environment, created on first use (importing jinja2 costs ~40 ms)."""
    _env = None

    @classmethod
    def get(cls):
        if cls._env is None:
            import jinja2
            cls._env = jinja2.Environment(
                loader=jinja2.FileSystemLoader([str(TEMPLATES), str(GUEST)]),
                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        return cls._env


def _context():
    from . import vcpu
    lay = vcpu.layout()
    ctx = dict(vcpu=lay, emulate_symbol=isa.EMULATE_SYMBOL, runtime_prefix=isa.RUNTIME_PREFIX,
               trap_marker=isa.TRAP_MARKER_BYTE)
    ctx.update(lay.consts)
    return ctx


class _Rendered:
    """Rendered templates, memoized on disk across lvm-as runs.

    A build renders the same few dozen lines over and over (`movl $0, 0xfffff008`, `call
    __lvm_sti`, the guest subroutines), yet each lvm-as process would import jinja2, load
    the vCPU layout and compile the templates first: ~40 ms, more than the rewriting of a
    large file.  The file is keyed by the contents of everything a rendering depends on
    (templates, guest subroutines, vcpu.h, and the modules that compute the context), so
    an edit to any of them starts a new one.  Updates are written once, at exit, by
    atomic rename; a lost update (concurrent lvm-as) only costs a later re-render."""
    path, data, dirty = None, None, False
    LIMIT = 5000                 # entries (a kernel build makes ~800); beyond, start over

    @classmethod
    def get(cls, key, render):
        if cls.data is None:
            cls._load()
        text = cls.data.get(key)
        if text is None:
            text = cls.data[key] = render()
            if not cls.dirty:
                cls.dirty = True
                import atexit
                atexit.register(cls._save)
        return text

    @classmethod
    def _load(cls):
        import hashlib
        import json
        from . import vcpu
        h = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for p in sorted(TEMPLATES.glob("*.j2")) + sorted(GUEST.glob("*.j2")) + [
                vcpu.HEADER, here / "isa.py", here / "rewrite.py", here / "vcpu.py"]:
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        cls.path = vcpu.CACHE / ("render-%s.json" % h.hexdigest()[:16])
        try:
            cls.data = json.loads(cls.path.read_text())
        except (OSError, ValueError):
            cls.data = {}

    @classmethod
    def _save(cls):
        import json
        try:
            try:
                merged = json.loads(cls.path.read_text())
            except (OSError, ValueError):
                merged = {}
            if len(merged) > cls.LIMIT:
                merged = {}
            merged.update(cls.data)
            cls.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = cls.path.with_name("%s.%d" % (cls.path.name, os.getpid()))
            tmp.write_text(json.dumps(merged))
            os.replace(tmp, cls.path)
        except OSError:
            pass                                     # a read-only cache only costs speed


def render_one_line(template, **kw):
    def render():
        ctx = _context()
        ctx.update(kw)
        out = _Env.get().get_template(template).render(**ctx)
        return "; ".join(s.strip() for s in out.splitlines() if s.strip())
    key = "%s\0%r" % (template, sorted((k, v.name if isinstance(v, isa.Rule) else v)
                                       for k, v in kw.items()))
    return _Rendered.get(key, render)


def _render_guest(name):
    return _Rendered.get("%s.s.j2" % name,
                         lambda: _Env.get().get_template(name + ".s.j2").render(**_context()))


def render_runtime(names):
    """The guest subroutines `names` (without prefix), each in its own COMDAT group."""
    # The line marker keeps debuggers and as's messages from blaming the user's file.
    out = ["", '# 1 "<lvm-runtime>"', "\t.att_syntax prefix", "\t.code32"]
    for name in sorted(names):
        sym = isa.RUNTIME_PREFIX + name
        body = _render_guest(name)
        out += ['\t.pushsection .text,"axG",@progbits,%s,comdat' % sym,
                "\t.p2align 4", "\t.globl %s" % sym, "\t.hidden %s" % sym,
                "\t.type %s, @function" % sym, body.rstrip("\n"),
                "\t.size %s, .-%s" % (sym, sym), "\t.popsection"]
    return "\n".join(out) + "\n"


class Rewriter:
    def __init__(self, mode="call", filename="<stdin>", include_dirs=(), syntax="att"):
        if mode not in MODES:
            raise ValueError("LVM mode must be one of %s, not %r" % ("/".join(MODES), mode))
        self.mode, self.filename = mode, filename
        self.include_dirs = list(include_dirs)
        self.syntax = syntax
        self.code = 32
        self.in_comment = False
        self.blocks = []            # open .macro/.rept/.irp bodies
        self.macros = set()         # user macro names: a statement naming one is not an instruction
        self.prev_marker = False    # the previous statement is a marker: do not rewrite again
        self.pending_prefix = None  # (line index, column) of a prefix-only statement
        self.regions = 0            # counter for 16-bit region symbols
        self._inserts = []          # markers to insert in the line being rewritten
        self.in_runtime = False     # inside a runtime subroutine lvm-as appended earlier
        self.present = set()        # runtime subroutines already in the input
        self.result = Result(text="")

    # -- public ---------------------------------------------------------------------
    def rewrite(self, text):
        lines = text.split("\n")
        hot = self._hot_lines(text)
        last_stmt_line = -1
        for i, line in enumerate(lines):
            # Lines with strings are scanned too: gas continues an unterminated string
            # on the next line, which would hide that line's instructions from us.
            if i not in hot and '"' not in line and not self.in_comment and self.syntax == "att":
                if (self.prev_marker or self.pending_prefix) and _has_code(line):
                    self.prev_marker, self.pending_prefix = False, None
                continue
            try:
                lines[i] = self._line(lines, i)
            except SyntaxScanError as e:
                raise AsmError(self.filename, i + 1, str(e))
        if self.blocks:
            raise AsmError(self.filename, len(lines), "end of file inside %s" % self.blocks[-1])
        self.result.text = "\n".join(lines)
        return self.result

    # -- internals ------------------------------------------------------------------
    def _hot_lines(self, text):
        hot, line, pos = set(), 0, 0
        for m in _FILTER.finditer(text):
            line += text.count("\n", pos, m.start())
            pos = m.start()
            hot.add(line)
        return hot

    def _line(self, lines, idx):
        line = lines[idx]
        pieces, self.in_comment = split_line(line, self.in_comment)
        out = []
        for is_stmt, text in pieces:
            if not is_stmt:
                out.append(text)
                continue
            col = sum(map(len, out))
            out.append(self._statement(text, idx, col, lines))
        new = "".join(out)
        for col, marker in sorted(self._inserts, reverse=True):
            new = new[:col] + marker + "; " + new[col:]
        self._inserts = []
        return new

    def _statement(self, text, idx, col, lines):
        st = parse_statement(text, idx + 1)
        body = st.body.strip()
        if st.labels:
            self.prev_marker = False
            if self.pending_prefix and body:
                raise AsmError(self.filename, idx + 1, "a label separates a prefix from its instruction")
        if not body:
            return text
        if body.startswith("."):
            return st.labels + self._directive(st.body, body, idx, lines)
        if self.in_runtime:
            return text
        if self.syntax == "intel":
            self._intel(body, idx)
            return text
        insn = parse_instruction(body, isa.PREFIXES)
        if insn is None or "=" in body.split(None, 1)[0] or re.match(r"[\w.$]+\s*=", body):
            self.prev_marker, self.pending_prefix = False, None
            return text
        if not insn.mnemonic:                       # `rep` alone: belongs to the next instruction
            lead = len(st.labels) + len(st.body) - len(st.body.lstrip())
            self.pending_prefix = (idx, col + lead)
            return text
        if self.code != 32 or insn.mnemonic in self.macros:
            self.prev_marker, self.pending_prefix = False, None
            return text
        if insn.mnemonic.lower() in ("call", "calll") and insn.operands == [isa.EMULATE_SYMBOL]:
            self.prev_marker = True
            return text
        match = classify(insn)
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
        self.result.rewritten += 1
        if self.pending_prefix:                      # marker goes in front of the prefix
            pidx, pcol = self.pending_prefix
            self.pending_prefix = None
            marker = self._marker()
            if pidx == idx:
                self._inserts.append((pcol, marker))
            else:
                lines[pidx] = lines[pidx][:pcol] + marker + "; " + lines[pidx][pcol:]
            return text
        family = "trap" if self.mode == "trap" else match.family
        if family == "fast_call":
            self.result.runtime.add(match.rule.name)
        if family == "emulate":
            self.result.runtime.add("emulate")
        new = render_one_line(family + ".j2", rule=match.rule, load=match.load, insn=insn.text)
        lead = st.body[:len(st.body) - len(st.body.lstrip())]
        trail = st.body[len(st.body.rstrip()):]
        return st.labels + lead + new + trail

    def _marker(self):
        if self.mode == "trap":
            return ".byte %#x" % isa.TRAP_MARKER_BYTE
        self.result.runtime.add("emulate")
        return "call %s" % isa.EMULATE_SYMBOL

    def _directive(self, raw, body, idx, lines):
        self.pending_prefix = None
        word = body.split(None, 1)[0].lower().rstrip(",")
        arg = body[len(word):].strip()
        self.prev_marker = word == ".byte" and arg.lower() in ("0xf4", "244")
        if word == ".macro":
            name = re.split(r"[\s,]", arg, 1)[0] if arg else ""
            self.macros.add(name)
            self.blocks.append(".macro " + name)
        elif word in (".endm", ".endmacro"):
            self._close((".macro",), word, idx)
        elif word in (".rept", ".irp", ".irpc"):
            self.blocks.append(word)
        elif word == ".endr":
            self._close((".rept", ".irp", ".irpc"), word, idx)
        elif word == ".purgem":
            self.macros.discard(arg)
        elif word in (".code16", ".code16gcc", ".code64", ".code32"):
            new = 32 if word == ".code32" else 16 if word.startswith(".code16") else 64
            extra = ""
            if not self.blocks and (new == 32) != (self.code == 32) and "__lvm_code16_" not in lines[idx]:
                if new != 32:
                    self.regions += 1
                kind = "end" if new == 32 else "begin"
                extra = "; __lvm_code16_%s_%d:" % (kind, self.regions)
            self.code = new
            return raw + extra
        elif word == ".intel_syntax":
            self.syntax = "intel"
        elif word == ".att_syntax":
            self.syntax = "att"
        elif word in (".pushsection", ".section"):
            m = re.search(r",\s*(%s\w+)\s*,\s*comdat" % isa.RUNTIME_PREFIX, arg)
            if m:
                self.in_runtime = True
                self.present.add(m.group(1)[len(isa.RUNTIME_PREFIX):])
        elif word == ".popsection":
            self.in_runtime = False
        elif word == ".include":
            return self._include(raw, arg, idx)
        return raw

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
        if (rules and not generic) or (generic and _INTEL_CTL.search(",".join(insn.operands))):
            raise AsmError(self.filename, idx + 1,
                           "cannot rewrite `%s` in Intel syntax: lvm-as rewrites AT&T syntax only "
                           "(switch this block to .att_syntax)" % body)

    def _include(self, raw, arg, idx):
        name = arg.strip().strip('"')
        base = Path(self.filename).parent if self.filename not in ("-", "<stdin>") else Path(".")
        for d in [base] + [Path(p) for p in self.include_dirs] + [Path(".")]:
            path = d / name
            if path.is_file():
                break
        else:
            raise AsmError(self.filename, idx + 1, "cannot find include file %s" % name)
        sub = Rewriter(self.mode, str(path), self.include_dirs, self.syntax)
        sub.macros = self.macros
        res = sub.rewrite(path.read_text(errors="surrogateescape"))
        self.syntax, self.code = sub.syntax, sub.code
        self.result.rewritten += res.rewritten
        self.result.runtime |= res.runtime
        return '\n# 1 "%s"\n%s\n# %d "%s"\n' % (path, res.text, idx + 1, self.filename)


def _has_code(line):
    s = line.strip()
    return bool(s) and not s.startswith("#") and not s.startswith("/*")


def rewrite_text(text, mode="call", filename="<stdin>", include_dirs=(), syntax="att"):
    """Rewrite assembly text; returns a Result (text with the runtime appended)."""
    rw = Rewriter(mode, filename, include_dirs, syntax)
    res = rw.rewrite(text)
    missing = res.runtime - rw.present
    if missing:
        res.text += render_runtime(missing)
    return res
