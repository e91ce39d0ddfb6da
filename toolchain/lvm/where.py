"""Where a finding of `lvm check` is: its symbol (and offset) and its source file or line.

The symbol is the nearest one at or before the address, as objdump's `<sym+off>`:
among symbols at the same address a function wins over data, data over a label, a
global over a local.  The source is, in order:

1. the DWARF line of the address (gas -g gives rows to instructions only: a `.byte`
   shares the row before it; an address past the end of a line sequence has none);
2. the symbol's own file: a local symbol follows its object's STT_FILE in the symbol
   table (ld keeps every object's locals together, behind its STT_FILE); an object
   (not a linked file) with one STT_FILE has that one;
3. for a global symbol in a linked file (globals come after every file's locals, so
   the table does not say whose they are): the file of the local symbols on both
   sides of the address, when they agree.  Otherwise no file is named: a wrong name
   is worse than none (`agpbusprint (vector.o)`).

Built only when there is something to report; pyelftools is imported for DWARF then.
"""
import bisect

STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_FILE = 0, 1, 2, 4
SHF_EXECINSTR = 0x4
SHT_REL, SHT_RELA = 9, 4
MARKER_PREFIXES = ("__lvm_code16_begin_", "__lvm_code16_end_", "__lvm_data_begin_", "__lvm_data_end_")


class Places:
    def __init__(self, data, secs, syms, linked):
        self.data, self.secs, self.syms, self.linked = data, secs, syms, linked
        files = {s.name for s in syms if s.type == STT_FILE and s.name}
        self.only_file = files.pop() if len(files) == 1 and not linked else None
        self._sections = {}
        self._lines = None

    def _section(self, shndx):
        """(values, symbols) of named symbols, and (values, symbols) of local ones, sorted."""
        got = self._sections.get(shndx)
        if got is None:
            named, local = [], []
            for s in self.syms:
                if s.shndx != shndx or s.type not in (STT_NOTYPE, STT_OBJECT, STT_FUNC) or not s.name:
                    continue
                if s.bind == 0:
                    local.append((s.value, s))
                if not s.name.startswith(MARKER_PREFIXES):
                    named.append(((s.value, s.type == STT_FUNC, s.type == STT_OBJECT, s.bind != 0), s))
            named.sort(key=lambda e: e[0])
            local.sort(key=lambda e: e[0])
            got = self._sections[shndx] = ([e[0] for e in named], [e[1] for e in named],
                                           [e[0] for e in local], [e[1] for e in local])
        return got

    def symbol(self, sec, where):
        """The symbol at or before `where` in sec, or None."""
        keys, named = self._section(sec.index)[:2]
        i = bisect.bisect_right(keys, (where, True, True, True))
        return named[i - 1] if i else None

    def source(self, sec, where, sym):
        if self._lines is None:
            self._lines = line_table(self.data, self.secs, self.syms, self.linked)
        row = lookup_line(self._lines, None if self.linked else sec.index, where)
        if row:
            return row
        own = self._file_of(sym) if sym is not None and sym.bind == 0 else None
        if own or self.only_file:
            return own or self.only_file
        values, locals_ = self._section(sec.index)[2:]
        i = bisect.bisect_right(values, where)
        before = self._file_of(locals_[i - 1]) if i else None
        after = self._file_of(locals_[i]) if i < len(locals_) else None
        return before if before is not None and before == after else None

    def _file_of(self, sym):
        f = self.syms[sym.file] if 0 < sym.file < len(self.syms) else None
        return f.name if f is not None and f.type == STT_FILE and f.name else None


# -- source lines ------------------------------------------------------------------------
def line_table(data, secs, syms, linked):
    """{section index (None when linked): sorted [(address, is_row, 'file:line' or None)]}.

    Relocatable objects have one sequence per text section, all starting at 0; the
    k-th DW_LNE_set_address carries the k-th relocation of .rel.debug_line against a
    code section, which tells whose sequence it is.  Best effort: {} on any doubt."""
    import io
    if not any(s.name == ".debug_line" for s in secs):
        return {}
    from elftools.dwarf.constants import DW_LNE_set_address
    from elftools.elf.elffile import ELFFile
    from . import elfread
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


def lookup_line(lines, key, where):
    rows = lines.get(key)
    if not rows:
        return None
    i = bisect.bisect_right(rows, (where, True, "\uffff"))
    return rows[i - 1][2] if i else None
