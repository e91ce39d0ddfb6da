"""elfread.py: the little of ELF and ar that `lvm check` reads, with `struct`.

Section headers, symbols, relocations and ar members, for 32-bit little-endian
IA-32 files; everything else is refused with a one-line LvmError that names what
the file is.  pyelftools would do all of this but costs ~50 us per section, and
lvm-as runs the check on every object of a build (check.py uses pyelftools only for
DWARF line tables, when there is something to report).
"""
import os
import struct

from .errors import LvmError

EM_386, EM_X86_64 = 3, 62
SHT_SYMTAB, SHT_REL = 2, 9
STT_FILE = 4


class Section:
    __slots__ = ("index", "name", "type", "flags", "addr", "offset", "size", "link", "info")

    def __init__(self, index, name, type, flags, addr, offset, size, link, info):
        self.index, self.name, self.type, self.flags, self.addr = index, name, type, flags, addr
        self.offset, self.size, self.link, self.info = offset, size, link, info


class Symbol:
    __slots__ = ("name", "value", "size", "type", "bind", "shndx", "file")

    def __init__(self, name, value, size, type, bind, shndx, file):
        self.name, self.value, self.size, self.type = name, value, size, type
        self.bind, self.shndx = bind, shndx
        self.file = file     # index of the STT_FILE symbol it follows: separates linked objects


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise LvmError("%s: no such file" % path)
    except IsADirectoryError:
        raise LvmError("%s: is a directory" % path)
    except OSError as e:
        raise LvmError("%s: cannot read: %s" % (path, e.strerror or e))


def reject_foreign(name, data):
    if data[:4] != b"\x7fELF":
        raise LvmError("%s: not an ELF file or ar archive" % name if data else "%s: empty file" % name)
    if len(data) < 52:
        raise LvmError("%s: truncated ELF header" % name)
    bits = {1: 32, 2: 64}.get(data[4])
    if bits is None or data[5] not in (1, 2):
        raise LvmError("%s: malformed ELF header (class %d, data encoding %d)" % (name, data[4], data[5]))
    machine = struct.unpack_from("<H" if data[5] == 1 else ">H", data, 18)[0]
    if machine == EM_386 and bits == 32 and data[5] == 1:
        return
    if data[5] == 2:
        raise LvmError("%s: is a big-endian ELF; lvm guests are 32-bit IA-32 (EM_386)" % name)
    if machine == EM_X86_64:
        what = "a 64-bit x86-64 ELF" if bits == 64 else "an x32 (ILP32 x86-64) ELF"
    else:
        from elftools.elf.enums import ENUM_E_MACHINE
        from elftools.elf.descriptions import describe_e_machine
        names = {v: k for k, v in ENUM_E_MACHINE.items() if k != "_default_"}
        what = "a %s-bit ELF for %s" % (bits, describe_e_machine(names.get(machine, "EM_%d" % machine)))
    raise LvmError("%s: is %s; lvm guests are 32-bit IA-32 (EM_386)" % (name, what))


def sections(name, data):
    e_type, = struct.unpack_from("<H", data, 16)
    e_shoff, = struct.unpack_from("<I", data, 32)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 46)
    if e_shoff and shnum == 0:                           # extended numbering
        shnum = struct.unpack_from("<I", data, e_shoff + 20)[0]
    if shstrndx == 0xFFFF:
        shstrndx = struct.unpack_from("<I", data, e_shoff + 24)[0]
    if shnum and (shentsize < 40 or e_shoff + shnum * shentsize > len(data)):
        raise LvmError("%s: truncated ELF (%d section headers at %#x, file is %#x bytes)"
                       % (name, shnum, e_shoff, len(data)))
    raw = [struct.unpack_from("<10I", data, e_shoff + i * shentsize) for i in range(shnum)]
    strtab = data[raw[shstrndx][4]:raw[shstrndx][4] + raw[shstrndx][5]] if shstrndx < shnum else b""
    secs = [Section(i, strtab[h[0]:strtab.find(b"\0", h[0])].decode(errors="replace"),
                     h[1], h[2], h[3], h[4], h[5], h[6], h[7]) for i, h in enumerate(raw)]
    return e_type, secs


def body(data, sec):
    if sec.offset + sec.size > len(data):
        raise struct.error("section %s extends past the end of the file" % sec.name)
    return data[sec.offset:sec.offset + sec.size]


def symbols(data, secs):
    symtab = next((s for s in secs if s.type == SHT_SYMTAB), None)
    if symtab is None:
        return None, []
    strtab, out, file = body(data, secs[symtab.link]), [], 0
    for i, (name, value, size, info, _, shndx) in enumerate(struct.iter_unpack("<IIIBBH", body(data, symtab))):
        if info & 0xF == STT_FILE:
            file = i
        out.append(Symbol(strtab[name:strtab.find(b"\0", name)].decode(errors="replace"),
                           value, size, info & 0xF, info >> 4, shndx, file))
    return symtab, out


def relocations(data, sec):
    """(offset, type, symbol index) of a REL/RELA section."""
    fmt = "<II" if sec.type == SHT_REL else "<IIi"
    return [(r[0], r[1] & 0xFF, r[1] >> 8) for r in struct.iter_unpack(fmt, body(data, sec))]


def archive_members(path, data):
    """(member name, member bytes) of an ar archive; thin members are read from disk."""
    thin, pos, names = data.startswith(b"!<thin>\n"), 8, b""

    def malformed(what):
        return LvmError("%s: malformed ar archive (%s at %#x)" % (path, what, pos))

    while pos < len(data):
        head = data[pos:pos + 60]
        if head in (b"\n", b""):                        # padding after the last member
            break
        if len(head) < 60 or head[58:60] != b"`\n" or not head[48:58].strip().isdigit():
            raise malformed("bad member header")
        raw, size, body = head[:16].decode(errors="replace").rstrip(), int(head[48:58]), pos + 60
        index = raw in ("/", "//", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED")
        stored = index or not thin                      # thin archives store only the tables
        if stored and body + size > len(data):
            raise malformed("member truncated")
        if raw == "//":
            names = data[body:body + size]
        elif not index:
            content = None
            try:
                if raw.startswith("#1/"):               # BSD: the name precedes the data
                    n = int(raw[3:])
                    member, content = data[body:body + n].rstrip(b"\0").decode(), data[body + n:body + size]
                elif raw[1:].isdigit():
                    start = int(raw[1:])
                    member = names[start:names.index(b"\n", start)].decode().rstrip("/")
                else:
                    member = raw[:-1] if raw.endswith("/") else raw
            except (ValueError, UnicodeDecodeError):
                raise malformed("bad member name")
            if thin:
                content = read_file(os.path.join(os.path.dirname(path), member))
            yield member, content if content is not None else data[body:body + size]
        pos = body + (size if stored else 0)
        pos += pos & 1
