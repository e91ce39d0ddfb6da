"""`lvm check`: find interesting IA-32 instructions left unrewritten in ELF files.

lvm-as rewrites the interesting instructions it can see in assembly text, but not
everything reaches it as text: `.byte` sequences, macros whose operands decide the
answer (classify.UNDECIDED), objects built by a plain `as`, prebuilt libraries.  One
such instruction left in a guest kernel misbehaves silently in ring 3 (a `cli` that
does nothing, a `pushf` that shows the host's IF), so the build runs this check on
every object: it disassembles the real bytes against the rules table (isa.RULES) and
reports each interesting instruction that is neither behind a rewrite marker
(`call __lvm_emulate` or the trap byte) nor part of the runtime.

What counts as what:
- the runtime is the guest subroutines lvm-as appends (runtime/guest/*.s.j2): in an
  object their COMDAT groups, once linked the extent of their function symbols.  A
  guest function that merely has a `__lvm_` name is guest code and is checked.
- a trap marker is a lone `hlt` right before an interesting instruction, so a raw
  `hlt` followed by one reads as a rewritten site: nothing in the bytes tells them
  apart (and at run time the monitor treats them alike).
- 16-bit code is what lies between lvm-as's `__lvm_code16_begin_N`/`_end_N` symbols;
  it is decoded as 16-bit code, never rewritten, and reported unless allowed.  Plain
  `.code16` assembled without lvm-as has no markers and is decoded as 32-bit code.
- the source is the DWARF line of the instruction (as -g gives rows to instructions
  only: a `.byte` shares the row before it), else the STT_FILE name (`.file`).

ELF headers, symbols and relocations are read by elfread.py (pyelftools costs ~50 us
a section); pyelftools is used only for DWARF line tables, and only when there is
something to report.  Measured on this machine: 100 KB of gcc -O2 code (~30k
instructions, one object) checks in ~19 ms, of which capstone's decoding is ~13 ms.
"""
import os
import struct

from . import elfread, isa
from .errors import LvmError

ET_REL, EM_386, EM_X86_64 = 1, 3, 62
SHT_PROGBITS, SHT_SYMTAB, SHT_RELA, SHT_REL, SHT_GROUP = 1, 2, 4, 9, 17
SHF_EXECINSTR = 0x4
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_FILE = 0, 1, 2, 4
R_386_PC32, R_386_PLT32 = 2, 4
CODE16_BEGIN, CODE16_END = "__lvm_code16_begin_", "__lvm_code16_end_"


# Plain classes with __slots__ here, not dataclasses: lvm-as imports this module once
# per object, and `dataclasses` costs ~8 ms to import.
class Finding:
    __slots__ = ("path", "section", "offset", "address", "symbol", "symbol_offset", "source",
                 "text", "rule", "code16")

    def __init__(self, path, section, offset, address, symbol, symbol_offset, source, text, rule,
                 code16=False):
        self.path = path                    # file, or `archive.a(member.o)`
        self.section = section
        self.offset = offset                # within the section
        self.address = address              # virtual address, for linked files (else None)
        self.symbol = symbol                # nearest preceding symbol, or the section name
        self.symbol_offset = symbol_offset
        self.source = source                # `file:line` from .debug_line, else the file from STT_FILE, or None
        self.text = text                    # the instruction, AT&T syntax (capstone)
        self.rule = rule                    # isa.Rule.name
        self.code16 = code16

    def __repr__(self):
        return "Finding(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)


# -- the rules table as a capstone mnemonic -> ((operand test, rule), ...) lookup -------
def _build_table():
    table = {}
    for rule in isa.RULES:
        for mnemonic in rule.capstone:
            table.setdefault(mnemonic, []).append((rule.operands, rule))
    return {m: tuple(entries) for m, entries in table.items()}


TABLE = _build_table()
RULES_BY_NAME = {r.name: r for r in isa.RULES}

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


def _sweep(code, lo, hi, bits, is_emulate_call):
    """Uncovered interesting instructions in code[lo:hi] as (offset, text, rule).

    Linear sweep; a byte capstone cannot decode is skipped.  In 32-bit code a rewritten
    site is `<marker> <original>` with marker `call __lvm_emulate` or the trap byte
    (hlt): markers pair greedily from the left with the interesting instruction right
    behind them.  16-bit code is never rewritten, so there every match counts."""
    md, view, found = _disassembler(bits), memoryview(code), []
    pairing = bits == 32
    pos = lo
    while pos < hi:
        nxt, marker = pos, None          # marker: None, "call", or a pending lone-hlt finding
        resync = False
        for off, size, mnem, ops in md.disasm_lite(view[pos:hi], pos):
            nxt = off + size
            if mnem in _UD_MODRM and not ops and nxt < hi:
                # capstone 5 decodes ud1 (0f b9 /r) and ud0 (0f ff /r) without their ModRM
                # byte; gas and objdump include it.  Linux ends every static call
                # trampoline with `.byte 0x0f, 0xb9, 0xcc` (ud1 %esp,%ecx), whose ModRM
                # byte would otherwise show as an int3.  Resume after the real instruction.
                nxt = min(hi, nxt + _modrm_length(code, nxt, bits))
                if marker not in (None, "call"):
                    found.append(marker)
                marker, resync = None, True
                break
            rule = match(mnem, ops) if mnem in TABLE or " " in mnem else None
            if rule is None:
                if marker not in (None, "call"):
                    found.append(marker)
                marker = None
                if (pairing and size == 5 and code[off] == 0xE8 and is_emulate_call is not None
                        and is_emulate_call(off)):
                    marker = "call"
            elif marker is not None:                    # the original behind its marker
                marker = None
            elif pairing and size == 1 and code[off] == isa.TRAP_MARKER_BYTE:
                marker = (off, "hlt", rule)
            else:
                found.append((off, (mnem + " " + ops).rstrip(), rule))
        if marker not in (None, "call"):
            found.append(marker)
        pos = nxt if resync else nxt + 1                # past the undecodable byte (or hi)
    return found


_UD_MODRM = frozenset(("ud1", "ud0"))


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


# -- checking one ELF --------------------------------------------------------------------
_runtime_symbols = False                # not looked up yet


def runtime_symbols():
    """`__lvm_<name>` for every guest subroutine lvm-as can append (runtime/guest/<name>.s.j2),
    or None when that directory is not there (then every `__lvm_` name counts)."""
    global _runtime_symbols
    if _runtime_symbols is False:
        from .rewrite import GUEST
        try:
            _runtime_symbols = frozenset(isa.RUNTIME_PREFIX + e.name[:-len(".s.j2")]
                                         for e in os.scandir(GUEST) if e.name.endswith(".s.j2"))
        except OSError:
            _runtime_symbols = None
    return _runtime_symbols


def is_runtime_symbol(name):
    """Is `name` one of the guest subroutines (whose code is interesting on purpose)?

    Only the subroutines lvm-as really appends count, not any `__lvm_` name: a guest
    function called `__lvm_foo` holding a raw `cli` is guest code and is reported."""
    names = runtime_symbols()
    return name in names if names is not None else name.startswith(isa.RUNTIME_PREFIX)


def _paint(intervals, lo, hi, value):
    """Set [lo, hi) to value in a sorted list of (start, end, value)."""
    out = []
    for s, e, v in intervals:
        if e <= lo or s >= hi:
            out.append((s, e, v))
            continue
        if s < lo:
            out.append((s, lo, v))
        out.append((max(s, lo), min(e, hi), value))
        if e > hi:
            out.append((hi, e, v))
    return out


def _code16_ranges(syms, sec, base, relocatable):
    """[(start, end)] of 16-bit regions in a section, from lvm-as's marker symbols.

    lvm-as numbers its regions: `.code16` defines `__lvm_code16_begin_N`, the next
    `.code32` defines `__lvm_code16_end_N`.  Markers pair by that number (per object
    in a linked file: the STT_FILE a local symbol follows), not by sorting offsets:
    an empty region (`.code16` right before `.code32`) puts both markers at the same
    offset, and sorting would then open a region there that never closes."""
    marks = {}
    for s in syms:
        if s.shndx == sec.index and s.name.startswith((CODE16_BEGIN, CODE16_END)):
            begin = s.name.startswith(CODE16_BEGIN)
            n = s.name[len(CODE16_BEGIN if begin else CODE16_END):]
            marks.setdefault((s.file, n), ([], []))[0 if begin else 1].append(s.value - base)
    ranges, first = [], min((b for begins, _ in marks.values() for b in begins), default=sec.size)
    for begins, ends in marks.values():
        ends.sort()
        for b in sorted(begins):
            e = next((e for e in ends if e >= b), None)
            if e is None:
                ranges.append((b, sec.size))            # a begin without an end: to the end
            else:
                ends.remove(e)
                ranges.append((b, e))
        for e in ends:
            # An end without its begin: the `.code16` was in another section and this
            # one was entered in 16-bit mode.  Only in an object (a linked section has
            # other objects' code before it), and only before every region that starts
            # here: from the start of the section.
            if relocatable and e <= first:
                ranges.append((0, e))
    return sorted((lo, hi) for lo, hi in ranges if hi > lo)


def _check_elf(name, data, allow_code16):
    elfread.reject_foreign(name, data)
    try:
        e_type, secs = elfread.sections(name, data)
        symtab, syms = elfread.symbols(data, secs)
        linked = e_type != ET_REL
        if linked and symtab is None:
            raise LvmError("%s: has no symbol table (stripped?); lvm check needs it to tell the "
                           "runtime and rewritten call sites from guest code" % name)
        runtime_groups = set()
        for g in secs:
            if g.type == SHT_GROUP and g.info < len(syms) and is_runtime_symbol(syms[g.info].name):
                runtime_groups.update(struct.unpack_from("<%dI" % (g.size // 4), elfread.body(data, g))[1:])
        emulate = [i for i, s in enumerate(syms) if s.name == isa.EMULATE_SYMBOL]
        targets = {syms[i].value for i in emulate}
        raw = []
        for sec in secs:
            if sec.type != SHT_PROGBITS or not sec.flags & SHF_EXECINSTR or not sec.size:
                continue
            if sec.index in runtime_groups:
                continue
            code, base = elfread.body(data, sec), sec.addr if linked else 0
            if linked:
                def is_emulate_call(off, code=code, base=base):
                    return base + off + 5 + struct.unpack_from("<i", code, off + 1)[0] in targets
            else:
                sites = {off for rel in secs if rel.type in (SHT_REL, SHT_RELA) and rel.info == sec.index
                         for off, kind, sym in elfread.relocations(data, rel)
                         if sym in emulate and kind in (R_386_PC32, R_386_PLT32)}
                is_emulate_call = sites and (lambda off, sites=sites: off + 1 in sites)
            parts = [(0, sec.size, 32)]
            for lo, hi in _code16_ranges(syms, sec, base, not linked):
                parts = _paint(parts, lo, hi, 16)
            # Linking dissolves the COMDAT groups: there the runtime is known by its
            # function symbols (their extent).  In an object only the groups count, so
            # that a function the guest itself names `__lvm_something` is checked.
            for s in syms if linked else ():
                if s.shndx == sec.index and s.type == STT_FUNC and is_runtime_symbol(s.name):
                    parts = _paint(parts, s.value - base, s.value - base + s.size, None)
            for lo, hi in _multiboot_headers(code):
                parts = _paint(parts, lo, hi, None)
            for lo, hi, bits in parts:
                if bits and not (bits == 16 and allow_code16):
                    raw += [(sec, off, text, rule, bits == 16)
                            for off, text, rule in _sweep(code, lo, hi, bits, is_emulate_call or None)]
        if not raw:
            return []
        lines = _line_table(data, secs, syms, linked)
        return [_annotate(name, sec, off, text, rule, code16, syms, lines, linked)
                for sec, off, text, rule, code16 in raw]
    except (struct.error, IndexError, ValueError) as e:
        raise LvmError("%s: malformed ELF (%s)" % (name, e))


_MB_MAGIC = struct.pack("<I", 0x1BADB002)


def _multiboot_headers(code):
    """Multiboot (v1) headers in a code section, as (start, end): data, not code.
    Kernels put them in .text (xv6's entry.S does), and their checksum bytes decode
    as instructions (`sti` for flags 3).  A header is the magic at a 4-byte boundary
    whose checksum sums to zero; a sequence of real instructions that is one by
    chance is not plausible.  Its length follows the flags: a.out kludge fields
    (bit 16), video fields (bit 2)."""
    out, pos = [], code.find(_MB_MAGIC)
    while pos >= 0:
        if pos % 4 == 0 and pos + 12 <= len(code):
            magic, flags, checksum = struct.unpack_from("<3I", code, pos)
            if (magic + flags + checksum) & 0xFFFFFFFF == 0:
                size = 48 if flags & 4 else 32 if flags & 0x10000 else 12
                out.append((pos, min(pos + size, len(code))))
        pos = code.find(_MB_MAGIC, pos + 1)
    return out


def _annotate(name, sec, off, text, rule, code16, syms, lines, linked):
    where = sec.addr + off if linked else off
    best = local = None
    for s in syms:
        if (s.shndx == sec.index and s.type in (STT_NOTYPE, STT_OBJECT, STT_FUNC) and s.name
                and not s.name.startswith((CODE16_BEGIN, CODE16_END)) and s.value <= where):
            key = (s.value, s.type == STT_FUNC, s.type == STT_OBJECT, s.bind != 0)
            if best is None or key > best[0]:
                best = (key, s)
            if s.bind == 0 and (local is None or s.value >= local.value):
                local = s
    symbol, sym_off = (best[1].name, where - best[1].value) if best else (sec.name, off)
    source = _lookup_line(lines, None if linked else sec.index, where) or _source_file(syms, local, linked)
    return Finding(name, sec.name, off, where if linked else None, symbol, sym_off,
                   source, text, rule.name, code16)


def _source_file(syms, local, linked):
    """Without line info, the source file from the STT_FILE symbol (`.file "x.c"`, which
    gcc always emits): the object's only one, or in a linked file the one that a local
    symbol near the instruction follows (globals come after every file's locals)."""
    if not linked:
        files = {s.name for s in syms if s.type == STT_FILE and s.name}
        return files.pop() if len(files) == 1 else None
    if local is not None and local.file and syms[local.file].name:
        return syms[local.file].name
    return None


# -- source lines ------------------------------------------------------------------------
def _line_table(data, secs, syms, linked):
    """{section index (None when linked): sorted [(address, is_row, 'file:line' or None)]}.

    Relocatable objects have one sequence per text section, all starting at 0; the
    k-th DW_LNE_set_address carries the k-th relocation of .rel.debug_line against a
    code section, which tells whose sequence it is.  Best effort: {} on any doubt."""
    import io
    from elftools.dwarf.constants import DW_LNE_set_address
    from elftools.elf.elffile import ELFFile
    if not any(s.name == ".debug_line" for s in secs):
        return {}
    try:
        dwarf = ELFFile(io.BytesIO(data)).get_dwarf_info(relocate_dwarf_sections=not linked)
        programs = sorted((lp for lp in map(dwarf.line_program_for_CU, dwarf.iter_CUs()) if lp),
                          key=lambda lp: lp.program_start_offset)
        owners = iter([None])
        if not linked:
            debug_line = next(s.index for s in secs if s.name == ".debug_line")
            code = {s.index for s in secs if s.flags & SHF_EXECINSTR}
            owners = [syms[sym].shndx for rel in secs if rel.type in (SHT_REL, SHT_RELA)
                      and rel.info == debug_line for off, _, sym in sorted(elfread.relocations(data, rel))
                      if syms[sym].shndx in code]
            starts = sum(e.command == DW_LNE_set_address and e.is_extended
                         for lp in programs for e in lp.get_entries())
            if starts != len(owners):
                if len(code) != 1:
                    return {}
                owners = [next(iter(code))] * starts
            owners = iter(owners)
        table, key = {}, None
        for lp in programs:
            files, v5 = lp.header.file_entry, lp.header.version >= 5
            for e in lp.get_entries():
                if e.is_extended and e.command == DW_LNE_set_address:
                    key = next(owners, None)
                st = e.state
                if st is None:
                    continue
                index = st.file if v5 else st.file - 1
                fname = files[index].name if 0 <= index < len(files) else b"?"
                fname = fname.decode(errors="replace") if isinstance(fname, bytes) else str(fname)
                row = None if st.end_sequence else "%s:%d" % (fname, st.line)
                table.setdefault(key, []).append((st.address, row is not None, row))
        for rows in table.values():
            rows.sort(key=lambda r: r[:2])
        return table
    except Exception:       # noqa: BLE001 -- pyelftools fails on bad DWARF with asserts,
        return {}           # AttributeErrors...; lines are a courtesy, the findings stand


def _lookup_line(lines, key, where):
    import bisect
    rows = lines.get(key)
    if not rows:
        return None
    i = bisect.bisect_right(rows, (where, True, "\uffff"))
    return rows[i - 1][2] if i else None


# -- public --------------------------------------------------------------------------------
def check_file(path, allow_code16=False):
    """Findings for an ELF object/executable or an ar archive of them (raises LvmError)."""
    path = str(path)
    return _check_blob(path, path, elfread.read_file(path), allow_code16)


def _check_blob(name, path, data, allow_code16):
    if data.startswith((b"!<arch>\n", b"!<thin>\n")):
        findings = []
        for member, content in elfread.archive_members(path, data):
            member_path = os.path.join(os.path.dirname(path), member)
            findings += _check_blob("%s(%s)" % (name, member), member_path, content, allow_code16)
        return findings
    return _check_elf(name, data, allow_code16)


def format_finding(f):
    """`obj.o: .text+0x1c <start+0x1c> (foo.S:12): cli  [cli: clears the virtual IF]`"""
    where = "%s+%#x" % (f.section, f.offset)
    if f.address is not None:
        where += " @%#x" % f.address
    sym = f.symbol + ("+%#x" % f.symbol_offset if f.symbol_offset else "")
    src = " (%s)" % f.source if f.source else ""
    rule = RULES_BY_NAME.get(f.rule)
    note = "%s: %s" % (f.rule, rule.why if rule else "?") + ("; 16-bit code" if f.code16 else "")
    return "%s: %s <%s>%s: %s  [%s]" % (f.path, where, sym, src, f.text, note)
