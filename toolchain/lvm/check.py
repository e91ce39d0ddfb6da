"""`lvm check`: find interesting IA-32 instructions left unrewritten in ELF files.

lvm-as rewrites the interesting instructions it can see in assembly text, but not
everything reaches it as text: `.byte` sequences, macros whose operands decide the
answer (classify.UNDECIDED), objects built by a plain `as`, prebuilt libraries.  One
such instruction left in a guest kernel misbehaves silently in ring 3 (a `cli` that
does nothing, a `pushf` that shows the host's IF), so the build runs this check on
every object: it disassembles the real bytes against the rules table (isa.RULES) and
reports each interesting instruction that is neither behind a rewrite marker
(`call __lvm_emulate` or the trap byte) nor part of the runtime.

What counts as what in a code section:
- the runtime is the guest subroutines lvm-as appends (runtime/guest/*.s.j2): in an
  object their COMDAT groups, once linked the extent of their function symbols.  A
  guest function that merely has a `__lvm_` name is guest code and is checked.
- a trap marker is a lone `hlt` right before an interesting instruction, so a raw
  `hlt` followed by one reads as a rewritten site: nothing in the bytes tells them
  apart (and at run time the monitor treats them alike).
- 16-bit code is what lies between lvm-as's `__lvm_code16_begin_N`/`_end_N` symbols;
  it is decoded as 16-bit code, never rewritten, and reported unless allowed.  Plain
  `.code16` assembled without lvm-as has no markers and is decoded as 32-bit code.
- data is never decoded: the extent of an STT_OBJECT symbol with a size (`.type x,
  @object` + `.size`, what C data and NetBSD's interrupt stub tables in .text have),
  what lies between `__lvm_data_begin_TAG` and `__lvm_data_end_TAG` symbols (lvm-as
  puts them around data that follows an unconditional jump in a hand-written file,
  datamarks.py; a kernel developer may write them around any range the guest never
  executes), and Multiboot headers.
- padding is not decoded either: the gap between a function's end (st_size) and the
  next symbol when it holds only zeros, nop or int3 (the fills of gas and ld; int3 is
  not interesting, it runs natively).  Any other gap is decoded: multi-byte NOPs
  decode as nothing interesting, and anything else is looked at.
- decoding starts afresh at every symbol (sweep.py), so padding or data before a
  function cannot put the sweep out of step with the function's instructions.
- the source is the DWARF line, else the symbol's own file (where.py).

ELF headers, symbols and relocations are read by elfread.py (pyelftools costs ~50 us
a section); pyelftools is used only for DWARF line tables, and only when there is
something to report.  Measured on this machine: 100 KB of gcc -O2 code (~30k
instructions, one object) checks in ~19 ms, of which capstone's decoding is ~13 ms.
"""
import bisect
import os
import struct

from . import elfread, isa
from .errors import LvmError
from .sweep import sweep

ET_REL, EM_386, EM_X86_64 = 1, 3, 62
SHT_PROGBITS, SHT_SYMTAB, SHT_RELA, SHT_REL, SHT_GROUP = 1, 2, 4, 9, 17
SHF_EXECINSTR = 0x4
SHF_ALLOC = 0x2
R_386_32 = 1
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_FILE = 0, 1, 2, 4
R_386_PC32, R_386_PLT32 = 2, 4
CODE16_BEGIN, CODE16_END = "__lvm_code16_begin_", "__lvm_code16_end_"
DATA_BEGIN, DATA_END = "__lvm_data_begin_", "__lvm_data_end_"
CODE16_ACCEPTED = "__lvm_code16_accepted"                        # LVM_CHECK=code16 (asdriver.py)
USER_BEGIN, USER_END = "__lvm_user_begin_", "__lvm_user_end_"     # LVM_MODE=user (asdriver.py)
RULES_BY_NAME = {r.name: r for r in isa.RULES}


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
        self.source = source                # `file:line` from .debug_line, else the symbol's file, or None
        self.text = text                    # the instruction, AT&T syntax (capstone)
        self.rule = rule                    # isa.Rule.name
        self.code16 = code16

    def __repr__(self):
        return "Finding(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)


# -- the runtime -------------------------------------------------------------------------
_runtime_symbols = False                # not looked up yet


def runtime_symbols():
    """`__lvm_<name>` for every guest subroutine lvm-as can append (runtime/guest/<name>.s.j2),
    or None when that directory is not there (then every `__lvm_` name counts)."""
    global _runtime_symbols
    if _runtime_symbols is False:
        from .render import GUEST
        try:
            _runtime_symbols = frozenset(isa.RUNTIME_PREFIX + e.name[:-len(".s.j2")]
                                         for e in os.scandir(GUEST) if e.name.endswith(".s.j2")
                                         and e.name != "segload.s.j2") | frozenset(
                isa.RUNTIME_PREFIX + n for n in isa.FASTSEG_NAMES)
        except OSError:
            _runtime_symbols = None
    return _runtime_symbols


def is_runtime_symbol(name):
    """Is `name` one of the guest subroutines (whose code is interesting on purpose)?

    Only the subroutines lvm-as really appends count, not any `__lvm_` name: a guest
    function called `__lvm_foo` holding a raw `cli` is guest code and is reported."""
    names = runtime_symbols()
    return name in names if names is not None else name.startswith(isa.RUNTIME_PREFIX)


# -- what is code, in which mode -------------------------------------------------------------
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


def _subtract(parts, skips):
    """parts (sorted (start, end, bits)) without the union of skips ((start, end))."""
    merged = []
    for lo, hi in sorted(skips):
        if hi <= lo:
            continue
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    starts = [m[0] for m in merged]
    out = []
    for lo, hi, bits in parts:
        i = max(0, bisect.bisect_right(starts, lo) - 1)
        pos = lo
        while pos < hi:
            while i < len(merged) and merged[i][1] <= pos:
                i += 1
            if i == len(merged) or merged[i][0] >= hi:
                out.append((pos, hi, bits))
                break
            if merged[i][0] > pos:
                out.append((pos, merged[i][0], bits))
            pos = merged[i][1]
    return out


def _marked_ranges(syms, sec, base, relocatable, begin_prefix, end_prefix, files=None):
    """[(start, end)] of the regions a pair of marker symbols delimits in a section.

    lvm-as numbers its regions: `.code16` defines `__lvm_code16_begin_N`, the next
    `.code32` defines `__lvm_code16_end_N` (data: `__lvm_data_begin_N`/`_end_N`; a
    kernel developer's own data markers have any other suffix).  Markers pair by that
    suffix (per object in a linked file: the STT_FILE a local symbol follows), not by
    sorting offsets: an empty region (`.code16` right before `.code32`) puts both
    markers at the same offset, and sorting would then open a region there that never
    closes.  files: only the markers of those objects (their STT_FILE indexes)."""
    marks = {}
    for s in syms:
        if (s.shndx == sec.index and s.name.startswith((begin_prefix, end_prefix))
                and (files is None or s.file in files)):
            begin = s.name.startswith(begin_prefix)
            n = s.name[len(begin_prefix if begin else end_prefix):]
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


def _code_parts(code, sec, syms, base, linked):
    """([(start, end, bits)] of what is code in a section, decoded in that mode; the
    sorted offsets of its symbols, where decoding starts afresh)."""
    size = sec.size
    parts = [(0, size, 32)]
    for lo, hi in _marked_ranges(syms, sec, base, not linked, CODE16_BEGIN, CODE16_END):
        parts = _paint(parts, lo, hi, 16)
    # 16-bit code an object was assembled to hold (LVM_CHECK=code16 marks it): accepted
    # in the object and in whatever it is linked into
    accepted = {s.file for s in syms if s.name == CODE16_ACCEPTED}
    if accepted:
        for lo, hi in _marked_ranges(syms, sec, base, not linked, CODE16_BEGIN, CODE16_END, accepted):
            parts = _paint(parts, lo, hi, 0)
    here = [(s.value - base, s) for s in syms
            if s.shndx == sec.index and s.type in (STT_NOTYPE, STT_OBJECT, STT_FUNC) and s.name
            and 0 <= s.value - base < size]
    restarts = sorted({p for p, _ in here})
    skips = _marked_ranges(syms, sec, base, not linked, DATA_BEGIN, DATA_END)
    skips += _marked_ranges(syms, sec, base, not linked, USER_BEGIN, USER_END)
    skips += _multiboot_headers(code)
    for p, s in here:
        if s.type == STT_OBJECT and s.size:
            skips.append((p, p + s.size))
        elif s.type == STT_FUNC and s.size:
            # Linking dissolves the COMDAT groups: there the runtime is known by its
            # function symbols (their extent).  In an object only the groups count, so
            # that a function the guest itself names `__lvm_something` is checked.
            if linked and is_runtime_symbol(s.name):
                skips.append((p, p + s.size))
            gap = _padding_after(code, restarts, p + s.size, size)
            if gap:
                skips.append(gap)
    return _subtract(parts, skips), restarts


class _Entries:
    """The offsets in a code section that data points at (called by the sweep only when
    code follows an unconditional transfer, once per section): code entered through a
    jump table or a function pointer.  In an object, the targets of the absolute
    relocations of non-code sections (.rodata's jump tables, .data's operation
    tables, exception tables); in a linked file, which has no relocations, every
    aligned word of a non-code section whose value lies in the section.  (A code
    address held only by code, `pushl $1f`, is not one: such a label in an object is
    reached by its symbol or a branch, and the strings code refers to so must not be
    decoded.)"""

    def __init__(self, data, secs, syms, sec, linked):
        self.args = (data, secs, syms, sec, linked)
        self.found = None

    def __call__(self):
        if self.found is None:
            self.found = _data_entries(*self.args)
        return self.found


def _data_entries(data, secs, syms, sec, linked):
    out = set()
    if linked:
        lo, hi = sec.addr, sec.addr + sec.size
        for other in secs:
            if other.type != SHT_PROGBITS or other.flags & SHF_EXECINSTR or not other.flags & SHF_ALLOC:
                continue
            body = elfread.body(data, other)
            for (word,) in struct.iter_unpack("<I", body[:len(body) & ~3]):
                if lo <= word < hi:
                    out.add(word - lo)
        return out
    for rel in secs:
        if rel.type != SHT_REL or rel.info >= len(secs):
            continue
        target = secs[rel.info]
        if target.type != SHT_PROGBITS:
            continue
        # from data, absolute addresses; from code, the branches of relative ones (a
        # jmp in .altinstr_aux back into .text: S + A - P with A = target - 4)
        code = bool(target.flags & SHF_EXECINSTR)
        want, bias = (R_386_PC32, 4) if code else (R_386_32, 0)
        body = elfread.body(data, target)
        for off, kind, sym in elfread.relocations(data, rel):
            if kind == want and sym < len(syms) and syms[sym].shndx == sec.index and off + 4 <= len(body):
                out.add(syms[sym].value + struct.unpack_from("<i", body, off)[0] + bias)
    return out


def _padding_after(code, restarts, end, size):
    """The gap from a function's end to the next symbol, if it is only fill."""
    i = bisect.bisect_left(restarts, end)
    nxt = restarts[i] if i < len(restarts) else size
    if nxt > end and not code[end:nxt].translate(None, isa.PADDING_BYTES):
        return (end, nxt)
    return None


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


# -- checking one ELF --------------------------------------------------------------------
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
        emulate = [i for i, s in enumerate(syms) if isa.emulates_after_call(s.name)]
        targets = {syms[i].value for i in emulate}
        raw = []
        for sec in secs:
            if sec.type != SHT_PROGBITS or not sec.flags & SHF_EXECINSTR or not sec.size:
                continue
            if sec.index in runtime_groups:
                continue
            # a bytearray: capstone decodes it in place (sweep.py)
            code, base = bytearray(elfread.body(data, sec)), sec.addr if linked else 0
            if linked:
                def is_emulate_call(off, code=code, base=base):
                    return base + off + 5 + struct.unpack_from("<i", code, off + 1)[0] in targets
            else:
                sites = {off for rel in secs if rel.type in (SHT_REL, SHT_RELA) and rel.info == sec.index
                         for off, kind, sym in elfread.relocations(data, rel)
                         if sym in emulate and kind in (R_386_PC32, R_386_PLT32)}
                is_emulate_call = sites and (lambda off, sites=sites: off + 1 in sites)
            parts, restarts = _code_parts(code, sec, syms, base, linked)
            entries = _Entries(data, secs, syms, sec, linked)
            relocated = () if linked else sorted(
                off for rel in secs if rel.type in (SHT_REL, SHT_RELA) and rel.info == sec.index
                for off, _, _ in elfread.relocations(data, rel))
            for lo, hi, bits in parts:
                if bits and not (bits == 16 and allow_code16):
                    raw += [(sec, off, text, rule, bits == 16)
                            for off, text, rule in sweep(code, lo, hi, bits, restarts, is_emulate_call or None,
                                                         entries, relocated)]
        if not raw:
            return []
        from .where import Places
        places = Places(data, secs, syms, linked)
        return [_annotate(name, sec, off, text, rule, code16, places, linked)
                for sec, off, text, rule, code16 in raw]
    except (struct.error, IndexError, ValueError) as e:
        raise LvmError("%s: malformed ELF (%s)" % (name, e))


def _annotate(name, sec, off, text, rule, code16, places, linked):
    where = sec.addr + off if linked else off
    sym = places.symbol(sec, where)
    symbol, sym_off = (sym.name, where - sym.value) if sym is not None else (sec.name, off)
    return Finding(name, sec.name, off, where if linked else None, symbol, sym_off,
                   places.source(sec, where, sym), text, rule.name, code16)


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
