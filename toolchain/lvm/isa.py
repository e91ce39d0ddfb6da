"""The rules table: which IA-32 instructions are *interesting* and how each is rewritten.

An instruction is interesting when it is privileged, or when it behaves differently
in ring 3 of a Linux process than in ring 0 of a bare machine (it reads or changes
state that lvm emulates: IF, IOPL, segment selectors, descriptor tables, control
registers, ports, MSRs...).  Each row names the instruction, the AT&T spellings GNU as
accepts for it, the capstone mnemonics that disassemble from it, and the *family*,
i.e. the jinja2 template (templates/<family>.j2) that rewrites it in call mode.  In
trap mode every family uses the same marker template.

This file is data.  The logic that matches statements against it lives in
classify.py; the logic that disassembles objects against it lives in check.py.
"""


class Rule:
    """One row of the table (plain class, not a dataclass: lvm-as imports this module
    once per object, and `dataclasses` costs ~8 ms to import)."""
    __slots__ = ("name", "spellings", "capstone", "family", "operands", "why")

    def __init__(self, name, spellings, capstone, family, operands="any", why=""):
        self.name = name              # canonical name (also the call-mode subroutine suffix)
        self.spellings = spellings    # AT&T mnemonics as written in assembly source
        self.capstone = capstone      # capstone (AT&T syntax) mnemonics of the same instruction
        self.family = family          # template used in call mode
        self.operands = operands      # predicate name: which operand forms make it interesting
        self.why = why                # why it is interesting (or, for NATIVE rows, why not)

    def __repr__(self):
        return "Rule(%r, %r, %r, %r, operands=%r)" % (
            self.name, self.spellings, self.capstone, self.family, self.operands)


def _sfx(base, suffixes):
    return tuple(base + s for s in suffixes)


# Families (templates/<family>.j2):
#   vcpu_store  - the whole effect is one store to the shared vCPU page (cli)
#   vcpu_load   - the whole effect is one load from the shared vCPU page (reads of
#                 control/debug/segment registers, smsw/str/sldt to a register)
#   fast_call   - a call to a guest-side subroutine that finishes on the vCPU page
#                 without leaving guest code (sti, pushf, popf)
#   emulate     - `call __lvm_emulate` followed by the original instruction, which the
#                 monitor decodes and emulates (entered by far call, no signal)
RULES = (
    # --- interrupt flag and EFLAGS -------------------------------------------------
    Rule("cli", ("cli",), ("cli",), "vcpu_store", why="clears the virtual IF"),
    Rule("sti", ("sti",), ("sti",), "fast_call", why="sets the virtual IF, may deliver a pending interrupt"),
    Rule("pushf", ("pushf", "pushfl"), ("pushfl", "pushf"), "fast_call",
         why="ring 3 pushf shows the host's IF and IOPL, not the guest's"),
    Rule("pushfw", ("pushfw",), ("pushfw",), "emulate", why="16-bit pushf"),
    Rule("popf", ("popf", "popfl"), ("popfl", "popf"), "fast_call",
         why="ring 3 popf silently ignores IF and IOPL"),
    Rule("popfw", ("popfw",), ("popfw",), "emulate", why="16-bit popf"),
    Rule("iret", ("iret", "iretl", "iretw"), ("iretl", "iretw", "iret"), "emulate",
         why="returns through the guest's descriptors and privilege levels"),
    Rule("hlt", ("hlt",), ("hlt",), "emulate", why="privileged; blocks until an interrupt"),
    # --- port I/O ------------------------------------------------------------------
    Rule("in", ("in",) + _sfx("in", "bwl"), ("inb", "inw", "inl", "in"), "emulate",
         why="ports are emulated devices"),
    Rule("out", ("out",) + _sfx("out", "bwl"), ("outb", "outw", "outl", "out"), "emulate",
         why="ports are emulated devices"),
    Rule("ins", ("ins",) + _sfx("ins", "bwl"), ("insb", "insw", "insl", "insd", "ins"), "emulate",
         why="string port input"),
    Rule("outs", ("outs",) + _sfx("outs", "bwl"), ("outsb", "outsw", "outsl", "outsd", "outs"),
         "emulate", why="string port output"),
    # --- descriptor tables and task register ------------------------------------------
    Rule("lgdt", _sfx("lgdt", ("", "l", "w")), ("lgdtl", "lgdtw", "lgdt"), "emulate", why="privileged"),
    Rule("lidt", _sfx("lidt", ("", "l", "w")), ("lidtl", "lidtw", "lidt"), "emulate", why="privileged"),
    Rule("lldt", _sfx("lldt", ("", "w")), ("lldtw", "lldt"), "emulate", why="privileged"),
    Rule("ltr", _sfx("ltr", ("", "w")), ("ltrw", "ltr"), "emulate", why="privileged"),
    Rule("sgdt", _sfx("sgdt", ("", "l", "w")), ("sgdtl", "sgdtw", "sgdt"), "emulate",
         why="unprivileged but shows the host's GDT (or faults under UMIP)"),
    Rule("sidt", _sfx("sidt", ("", "l", "w")), ("sidtl", "sidtw", "sidt"), "emulate",
         why="unprivileged but shows the host's IDT (or faults under UMIP)"),
    Rule("sldt", _sfx("sldt", ("", "w", "l")), ("sldtw", "sldtl", "sldt"), "vcpu_load",
         operands="sel_read", why="shows the host's LDT selector"),
    Rule("str", _sfx("str", ("", "w", "l")), ("strw", "strl", "str"), "vcpu_load",
         operands="sel_read", why="shows the host's task register"),
    Rule("smsw", _sfx("smsw", ("", "w", "l")), ("smsww", "smswl", "smsw"), "vcpu_load",
         operands="sel_read", why="shows the host's CR0"),
    Rule("lmsw", _sfx("lmsw", ("", "w")), ("lmsww", "lmsw"), "emulate", why="privileged"),
    Rule("clts", ("clts",), ("clts",), "emulate", why="privileged"),
    Rule("invlpg", ("invlpg",), ("invlpg",), "emulate", why="privileged; shadow TLB"),
    Rule("invd", ("invd",), ("invd",), "emulate", why="privileged"),
    Rule("wbinvd", ("wbinvd",), ("wbinvd",), "emulate", why="privileged"),
    Rule("wbnoinvd", ("wbnoinvd",), ("wbnoinvd",), "emulate", why="privileged"),
    Rule("invpcid", ("invpcid",), ("invpcid",), "emulate", why="privileged"),
    # --- control and debug registers --------------------------------------------------
    Rule("mov_cr", ("mov", "movl"), ("movl", "mov"), "vcpu_load", operands="ctl",
         why="control/debug registers are virtual (reads come from the vCPU page)"),
    # --- model-specific registers, identification -------------------------------------
    Rule("rdmsr", ("rdmsr",), ("rdmsr",), "emulate", why="privileged"),
    Rule("wrmsr", ("wrmsr",), ("wrmsr",), "emulate", why="privileged"),
    Rule("rdpmc", ("rdpmc",), ("rdpmc",), "emulate", why="privileged unless CR4.PCE"),
    Rule("cpuid", ("cpuid",), ("cpuid",), "emulate",
         why="must advertise only what lvm emulates, not the host CPU"),
    Rule("rdtscp", ("rdtscp",), ("rdtscp",), "emulate", why="returns the host's TSC_AUX"),
    Rule("rdpid", ("rdpid",), ("rdpid",), "emulate", why="returns the host's TSC_AUX"),
    Rule("wrpkru", ("wrpkru",), ("wrpkru",), "emulate",
         why="would change the host's protection keys that lvm relies on"),
    Rule("rdpkru", ("rdpkru",), ("rdpkru",), "emulate", why="shows the host's PKRU"),
    # --- segment registers ------------------------------------------------------------
    Rule("mov_seg", ("mov", "movl", "movw"), ("movl", "movw", "mov"), "vcpu_load", operands="seg",
         why="guest selectors are virtual; the host's GDT must not be reached"),
    Rule("push_seg", ("push", "pushl", "pushw"), ("pushl", "pushw", "push"), "vcpu_load",
         operands="seg1", why="pushes the host's selector"),
    Rule("pop_seg", ("pop", "popl", "popw"), ("popl", "popw", "pop"), "emulate", operands="seg1",
         why="loads a selector"),
    Rule("lseg", _sfx("lds", ("", "l", "w")) + _sfx("les", ("", "l", "w")) + _sfx("lfs", ("", "l", "w"))
         + _sfx("lgs", ("", "l", "w")) + _sfx("lss", ("", "l", "w")),
         ("ldsl", "ldsw", "lesl", "lesw", "lfsl", "lfsw", "lgsl", "lgsw", "lssl", "lssw",
          "lds", "les", "lfs", "lgs", "lss"), "emulate", why="loads a selector"),
    # --- far control transfers --------------------------------------------------------
    Rule("ljmp", _sfx("ljmp", ("", "l", "w")), ("ljmpl", "ljmpw", "ljmp"), "emulate",
         why="far transfers go through the guest's descriptors"),
    Rule("lcall", _sfx("lcall", ("", "l", "w")), ("lcalll", "lcallw", "lcall"), "emulate",
         why="far transfers go through the guest's descriptors"),
    Rule("far_jmp", ("jmp", "jmpl", "jmpw"), (), "emulate", operands="far",
         why="`jmp $seg,$off` is a far jump"),
    Rule("far_call", ("call", "calll", "callw"), (), "emulate", operands="far",
         why="`call $seg,$off` is a far call"),
    Rule("lret", _sfx("lret", ("", "l", "w")) + _sfx("retf", ("", "l", "w")), ("lretl", "lretw", "lret"), "emulate",
         why="far return through the guest's descriptors"),
    # --- software interrupts and fast system calls -------------------------------------
    Rule("int", ("int",), ("int",), "emulate", operands="not_bp",
         why="delivered through the guest's IDT (`int $3` is int3: gas encodes it so)"),
    Rule("into", ("into",), ("into",), "emulate", why="delivered through the guest's IDT"),
    Rule("int1", ("int1",), ("int1",), "emulate", why="delivered through the guest's IDT"),
    Rule("sysenter", ("sysenter",), ("sysenter",), "emulate", why="#UD on AMD hosts; guest MSRs"),
    Rule("sysexit", ("sysexit",), ("sysexitl", "sysexit"), "emulate", why="privileged"),
    Rule("syscall", ("syscall",), ("syscall",), "emulate", why="would enter the host kernel"),
    Rule("sysret", ("sysret", "sysretl"), ("sysretl", "sysret"), "emulate", why="privileged"),
    # --- descriptor queries -----------------------------------------------------------
    Rule("lar", _sfx("lar", ("", "l", "w")), ("larl", "larw", "lar"), "emulate", why="reads the host's GDT"),
    Rule("lsl", _sfx("lsl", ("", "l", "w")), ("lsll", "lslw", "lsl"), "emulate", why="reads the host's GDT"),
    Rule("verr", _sfx("verr", ("", "w")), ("verr",), "emulate", why="reads the host's GDT"),
    Rule("verw", _sfx("verw", ("", "w")), ("verw",), "emulate", why="reads the host's GDT"),
    Rule("arpl", _sfx("arpl", ("", "w")), ("arpl",), "emulate", why="compares against the host's RPL"),
    # --- newer system instructions ----------------------------------------------------
    Rule("clac", ("clac",), ("clac",), "emulate", why="ring 0 only; AC is virtual"),
    Rule("stac", ("stac",), ("stac",), "emulate", why="ring 0 only; AC is virtual"),
    Rule("monitor", ("monitor",), ("monitor",), "emulate", why="ring 0 only"),
    Rule("mwait", ("mwait",), ("mwait",), "emulate", why="ring 0 only; idles like hlt"),
    Rule("xsetbv", ("xsetbv",), ("xsetbv",), "emulate", why="ring 0 only"),
)


class Native:
    """An instruction that runs natively on purpose, and why."""
    __slots__ = ("spellings", "why")

    def __init__(self, spellings, why):
        self.spellings, self.why = spellings, why


# Instructions one might expect in the table that deliberately run natively.
NATIVE = (
    Native(("rdtsc",), "the host leaves CR4.TSD clear; the guest sees the host's TSC, which is "
           "invariant, and calibrates it against emulated timers like real hardware"),
    Native(("xgetbv",), "reads XCR0, which describes exactly the state the guest's code can use natively"),
    Native(("ud2", "ud0", "ud1"), "raises #UD natively; the fault arrives as a signal and is delivered "
           "through the guest's IDT"),
    Native(("bound",), "raises #BR natively; delivered through the guest's IDT like any fault"),
    Native(("int3",), "raises #BP natively (SIGTRAP); the monitor delivers it through the guest's "
           "IDT with INT3's gate DPL check.  It must stay where it is: kernels find their own "
           "int3 by address (Linux's int3 self-test, text_poke_bp, kprobes) and fill gaps with it"),
    Native(("rsm",), "raises #UD outside SMM, exactly what the guest would see"),
    Native(("vmcall", "vmmcall"), "raise #UD without VMX/SVM, exactly what the guest would see"),
    Native(("fxsave", "fxrstor", "xsave", "xsaveopt", "xrstor", "fninit", "fwait"),
           "FPU/SSE state is the guest's own; lvm preserves it across every trap"),
    Native(("pause", "lfence", "mfence", "sfence", "clflush", "clflushopt", "prefetcht0"),
           "no privileged effect"),
)

SEGMENT_REGS = ("es", "cs", "ss", "ds", "fs", "gs")
CONTROL_REGS = ("cr0", "cr2", "cr3", "cr4")
DEBUG_REGS = tuple("dr%d" % i for i in range(8)) + tuple("db%d" % i for i in range(8))

# Instruction prefixes as written before a mnemonic (or as a statement of their own).
PREFIXES = frozenset(
    "rep repe repz repne repnz lock data16 data32 addr16 addr32 cs ds es fs gs ss "
    "notrack bnd xacquire xrelease".split()
)

# Markers placed in front of the original instruction.  A rewritten instruction is
# `<marker> <original>`: the marker either enters the emulator (call mode) or faults
# (trap mode), and the original is skipped once it has been emulated.
EMULATE_SYMBOL = "__lvm_emulate"
# Trap mode marker: `hlt` (f4).  Measured on these machines a privileged-instruction
# fault costs ~3.3 us against ~5.5 us for ud2; int3 (~3.1 us) would take SIGTRAP away
# from gdb, which debugs the monitor and guest in the same process.
TRAP_MARKER_BYTE = 0xF4
RUNTIME_PREFIX = "__lvm_"
# Call mode's `movl %r32, %sreg` for the data segment registers: a guest subroutine
# per register pair (runtime/guest/segload.s.j2, named movseg_<sreg>_<reg>) that
# finishes a load the monitor has seen before in guest code and otherwise jumps to
# __lvm_emulate, which emulates the original after the call, as at an emulate site.
MOVSEG_SREGS = ("es", "ds", "fs", "gs")
MOVSEG_REGS = ("eax", "ecx", "edx", "ebx", "ebp", "esi", "edi")
MOVSEG_NAMES = tuple("movseg_%s_%s" % (s, r) for s in MOVSEG_SREGS for r in MOVSEG_REGS)
# ... and `popl %sreg` (runtime/guest/segload.s.j2, popseg_<sreg>), the same way.
POPSEG_NAMES = tuple("popseg_%s" % s for s in MOVSEG_SREGS)
# ... and `mov DISP(%esp), %sreg` (a selector in the stack frame: Linux's exit path
# reloads %fs from pt_regs), memseg_<sreg>_d8 or _d32 by the displacement's size,
# which the subroutine reads from the instruction after the call.
MEMSEG_NAMES = tuple("memseg_%s_%s" % (s, d) for s in MOVSEG_SREGS for d in ("d8", "d32"))
FASTSEG_NAMES = MOVSEG_NAMES + POPSEG_NAMES + MEMSEG_NAMES


# Subroutines whose call is followed by the original instruction they emulate.
def emulates_after_call(symbol):
    return symbol == EMULATE_SYMBOL or symbol.startswith((RUNTIME_PREFIX + "movseg_",
                                                          RUNTIME_PREFIX + "popseg_",
                                                          RUNTIME_PREFIX + "memseg_"))

# Sections whose code a kernel copies elsewhere before running it: Linux's
# alternatives (apply_alternatives() copies .altinstr_replacement over the original
# and fixes only a replacement that is one 5-byte call or a jump).  A call-mode
# marker there is a relative call that would land wrong once copied, so code in
# these sections gets the trap form (position-independent) in either mode; the
# monitor takes a trap marker in a call-mode kernel alike.
COPIED_SECTIONS = frozenset([".altinstr_replacement"])

# Interesting instructions that kernels write as bytes (for assemblers older than the
# instruction: Linux's asm/smap.h, asm/mwait.h, asm/msr.h...).  lvm-as rewrites a
# `.byte` statement in code whose whole operand list is one of these encodings as it
# rewrites the mnemonic; the original bytes stay behind the marker.  Only encodings of
# two bytes or more: a lone `.byte 0xfa` in code is as likely a constant as a `cli`.
ENCODED = {
    (0x0f, 0x01, 0xca): "clac", (0x0f, 0x01, 0xcb): "stac",
    (0x0f, 0x01, 0xc8): "monitor", (0x0f, 0x01, 0xc9): "mwait",
    (0x0f, 0x01, 0xd1): "xsetbv", (0x0f, 0x01, 0xf9): "rdtscp",
    (0x0f, 0x01, 0xee): "rdpkru", (0x0f, 0x01, 0xef): "wrpkru",
    (0xf3, 0x0f, 0xc7, 0xf8): "rdpid %eax", (0xf3, 0x0f, 0x09): "wbnoinvd",
    (0x0f, 0x09): "wbinvd", (0x0f, 0x08): "invd", (0x0f, 0x06): "clts",
    (0x0f, 0x30): "wrmsr", (0x0f, 0x32): "rdmsr", (0x0f, 0x33): "rdpmc", (0x0f, 0xa2): "cpuid",
    (0x0f, 0x34): "sysenter", (0x0f, 0x35): "sysexit", (0x0f, 0x05): "syscall", (0x0f, 0x07): "sysret",
}


def is_code_section(name):
    """Does a section of this name hold code (by the names compilers and kernels use)?"""
    return (name == ".text" or name.startswith(".text.") or name.endswith(".text")
            or ".text." in name or name in COPIED_SECTIONS)


BY_SPELLING = {}
for _r in RULES:
    for _s in _r.spellings:
        BY_SPELLING.setdefault(_s, []).append(_r)
NATIVE_SPELLINGS = frozenset(s for n in NATIVE for s in n.spellings)

# -- control flow and padding: what `lvm check` and lvm-as need to tell data and padding
# in code sections from code --------------------------------------------------------------
# Unconditional transfers: execution never falls through to the next byte (as written).
TRANSFER_SPELLINGS = frozenset(
    "jmp jmpl jmpw ljmp ljmpl ljmpw ret retl retw retf retfl retfw lret lretl lretw iret iretl "
    "iretw iretd sysexit sysexitl sysret sysretl ud2 ud2a".split())
# Bytes that fill gaps between functions (the linker's and gas's alignment fill): zeros,
# nop, int3.
PADDING_BYTES = b"\x00\x90\xcc"
# Directives that emit data, as lvm-as sees them in a code section.
DATA_DIRECTIVES = frozenset(
    ".byte .2byte .4byte .8byte .short .hword .word .value .int .long .quad .octa .fill .skip "
    ".space .zero .ascii .asciz .string .string8 .string16 .string32 .string64 .float .single "
    ".double .dc .dc.b .dc.w .dc.l .dc.a .uleb128 .sleb128 .incbin".split())
# Directives that neither emit code nor change where the next bytes go: between an
# unconditional transfer and data (or inside a run of data) they change nothing.
NEUTRAL_DIRECTIVES = frozenset(
    ".align .p2align .balign .balignw .balignl .p2alignw .p2alignl .org .globl .global .local "
    ".weak .hidden .protected .internal .type .size .set .equ .equiv .eqv .file .loc .ident "
    ".code16 .code16gcc .code32 .att_syntax .symver .lcomm .comm".split())
