"""Capstone's x86 decoder through ctypes, without importing the capstone package.

`import capstone` costs ~40 ms: the package defines the ctypes bindings of all its 18
architectures and loads importlib.resources, sysconfig and inspect.  lvm-as runs once
per object of a build and `lvm check` needs only cs_open, cs_option and cs_disasm of
the x86 decoder, so this module binds those few functions of the same shared library
the package ships (LIBCAPSTONE_PATH first, as the package does) and decodes with
them, ~3 ms to set up.  The layout of cs_insn is that of API version 5 (the one this
project pins); with any other version, or no library found, disassembler() returns
the package's own Cs object instead: same results, only slower to import.
"""
import ctypes
import os
import sys

ARCH_X86, MODE_16, MODE_32 = 3, 1 << 1, 1 << 2
OPT_SYNTAX, OPT_SYNTAX_ATT = 1, 2
API_MAJOR = 5


class _Insn(ctypes.Structure):          # cs_insn, capstone 5
    _fields_ = (
        ("id", ctypes.c_uint),
        ("address", ctypes.c_uint64),
        ("size", ctypes.c_uint16),
        ("bytes", ctypes.c_ubyte * 24),
        ("mnemonic", ctypes.c_char * 32),
        ("op_str", ctypes.c_char * 160),
        ("detail", ctypes.c_void_p),
    )


_lib = False        # not looked for yet; None: not usable


def _candidates():
    env = os.environ.get("LIBCAPSTONE_PATH")
    dirs = [env] if env else []
    from importlib.machinery import PathFinder
    spec = PathFinder.find_spec("capstone", sys.path)      # finds it without importing it
    if spec is not None and spec.submodule_search_locations:
        dirs += [os.path.join(d, "lib") for d in spec.submodule_search_locations]
    for d in dirs:
        for name in ("libcapstone.so", "libcapstone.so.%d" % API_MAJOR):
            path = os.path.join(d, name)
            if os.path.exists(path):
                yield path


def _load():
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_DEEPBIND", 0))
        except OSError:
            continue
        lib.cs_version.restype = ctypes.c_int
        lib.cs_version.argtypes = (ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
        major, minor = ctypes.c_int(), ctypes.c_int()
        lib.cs_version(ctypes.byref(major), ctypes.byref(minor))
        if major.value != API_MAJOR:
            return None
        lib.cs_open.restype = ctypes.c_int
        lib.cs_open.argtypes = (ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_size_t))
        lib.cs_option.restype = ctypes.c_int
        lib.cs_option.argtypes = (ctypes.c_size_t, ctypes.c_int, ctypes.c_void_p)
        lib.cs_disasm.restype = ctypes.c_size_t
        lib.cs_disasm.argtypes = (ctypes.c_size_t, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t,
                                  ctypes.c_uint64, ctypes.c_size_t, ctypes.POINTER(ctypes.POINTER(_Insn)))
        lib.cs_free.restype = None
        lib.cs_free.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
        lib.cs_errno.restype = ctypes.c_int
        lib.cs_errno.argtypes = (ctypes.c_size_t,)
        return lib
    return None


class _Disassembler:
    """The part of capstone.Cs that lvm uses: disasm_lite, AT&T syntax, no details."""

    def __init__(self, lib, mode):
        self._lib, self._handle = lib, ctypes.c_size_t()
        if lib.cs_open(ARCH_X86, mode, ctypes.byref(self._handle)) != 0:
            raise OSError("cs_open failed")
        if lib.cs_option(self._handle, OPT_SYNTAX, OPT_SYNTAX_ATT) != 0:
            raise OSError("cs_option(CS_OPT_SYNTAX, ATT) failed")

    def disasm_lite(self, code, offset, count=0):
        """(address, size, mnemonic, op_str) of each instruction, up to the first byte
        that does not decode or `count` instructions (0: no limit); like
        capstone.Cs.disasm_lite, which also decodes a writable buffer (a memoryview of
        a bytearray) in place, without copying it.  capstone builds the whole answer at
        once, 248 bytes an instruction: callers with large code pass a count."""
        view = memoryview(code)
        if not len(view):
            return
        if view.readonly:
            view = bytearray(view)
        insns = ctypes.POINTER(_Insn)()
        n = self._lib.cs_disasm(self._handle, ctypes.byref(ctypes.c_char.from_buffer(view)), len(view),
                                offset, count, ctypes.byref(insns))
        if n == 0:
            if self._lib.cs_errno(self._handle) != 0:
                raise OSError("cs_disasm failed (cs_errno %d)" % self._lib.cs_errno(self._handle))
            return
        try:
            for i in range(n):
                insn = insns[i]
                yield insn.address, insn.size, insn.mnemonic.decode("ascii"), insn.op_str.decode("ascii")
        finally:
            self._lib.cs_free(insns, n)


def disassembler(bits):
    """An x86 disassembler for 16- or 32-bit code, AT&T syntax, with disasm_lite()."""
    global _lib
    if _lib is False:
        _lib = _load()
    mode = MODE_32 if bits == 32 else MODE_16
    if _lib is not None:
        try:
            return _Disassembler(_lib, mode)
        except OSError:
            pass
    from capstone import CS_ARCH_X86, CS_MODE_16, CS_MODE_32, CS_OPT_SYNTAX_ATT, Cs
    md = Cs(CS_ARCH_X86, CS_MODE_32 if bits == 32 else CS_MODE_16)
    md.syntax = CS_OPT_SYNTAX_ATT
    return md
