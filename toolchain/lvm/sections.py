"""Where the assembler is: its current section, section stack and 16-bit regions.

The rewriter follows gas's section directives to know whether a statement lies in
code (a section declared `"ax"`, or named as code is: .text, .init.text...), in code
the kernel copies before running it, or in data; and it marks the 16-bit code it
leaves alone with `__lvm_code16_begin_N:`/`__lvm_code16_end_N:` labels for `lvm check`.
gas's mode is global: it stays in 16-bit mode across a section switch, so a region is
one stretch of one section, closed where the section is left and opened again in the
section entered.
"""
from . import isa

# Directives that change the current section.
SWITCHES = (".text", ".data", ".bss", ".previous", ".section", ".pushsection", ".popsection")
CODE16_BEGIN, CODE16_END = "__lvm_code16_begin_", "__lvm_code16_end_"


def section_name(arg):
    """The name in `.section NAME, "flags", ...` (quoted or not)."""
    arg = arg.strip()
    if arg.startswith('"'):
        end = arg.find('"', 1)
        return arg[1:end] if end > 0 else arg[1:]
    return arg.split(",", 1)[0].split()[0] if arg else ""


def section_flags(arg):
    """The flags string of `.section NAME, "flags", ...`, or None if not given."""
    rest = arg.strip()
    if rest.startswith('"'):
        end = rest.find('"', 1)
        rest = rest[end + 1:] if end > 0 else ""
    parts = rest.split(",", 2)
    if len(parts) < 2:
        return None
    flags = parts[1].strip()
    close = flags.find('"', 1)
    return flags[1:close] if flags.startswith('"') and close > 0 else None


class Sections:
    """gas's current section, previous section and section stack."""

    def __init__(self):
        self.current = ".text"
        self.previous = ".text"
        self.stack = []
        self.declared = {}          # name -> holds code, by the flags it was declared with

    def switch(self, word, arg):
        """Follow one of SWITCHES; returns the section name entered."""
        if word in (".text", ".data", ".bss"):
            self.previous, self.current = self.current, word
        elif word == ".previous":
            self.previous, self.current = self.current, self.previous
        elif word in (".pushsection", ".section"):
            name = section_name(arg)
            flags = section_flags(arg)
            if flags is not None and name not in self.declared:      # the first declaration's
                self.declared[name] = "x" in flags
            if word == ".pushsection":
                self.stack.append((self.current, self.previous))
            self.previous, self.current = self.current, name
        elif self.stack:                                             # .popsection
            self.current, self.previous = self.stack.pop()
        return self.current

    def in_code(self):
        """Does the current section hold code: its flags say so (`"ax"`), or, declared
        without flags, its name does (.text, .init.text...)."""
        code = self.declared.get(self.current)
        return isa.is_code_section(self.current) if code is None else code

    def copied(self):
        """May the current section's code run somewhere else than where it is linked?
        Code the kernel copies before running it, and code in a section that is not
        code (a blob in `.data`): it gets the rewriting that works anywhere (a trap
        marker, not a call to a linked subroutine)."""
        return self.current in isa.COPIED_SECTIONS or not self.in_code()


class Code16Regions:
    """The numbered labels around 16-bit code (`.code16` begins a region, `.code32` or
    a section switch ends it).  The caller puts no labels in a body gas repeats."""

    def __init__(self):
        self.count = 0
        self.open = False

    def begin(self):
        self.count += 1
        self.open = True
        return "%s%d:" % (CODE16_BEGIN, self.count)

    def end(self):
        """The label that ends the open region ("" if none is: its `.code16` was in a
        repeated body)."""
        if not self.open:
            return ""
        self.open = False
        return "%s%d:" % (CODE16_END, self.count)

    def known(self, line):
        """A line rewritten before: its labels stand, and numbering goes on after them."""
        found = []
        for prefix, kind in ((CODE16_BEGIN, "begin"), (CODE16_END, "end")):
            i = line.find(prefix)
            while i >= 0:
                j = i + len(prefix)
                k = j
                while k < len(line) and line[k].isdigit():
                    k += 1
                if k > j:
                    found.append((i, int(line[j:k]), kind))
                i = line.find(prefix, k)
        if found:
            found.sort()
            self.count = max([self.count] + [n for _, n, _ in found])
            self.open = found[-1][2] == "begin"

    def across_switch(self, raw):
        """A section switch `raw` in 16-bit mode, with the labels that end the region in
        the section left and begin one in the section entered."""
        end = self.end()
        return "%s %s; %s" % (end, raw.lstrip(), self.begin()) if end else "%s; %s" % (raw, self.begin())
