"""Rendering lvm's templates: the rewritten forms (toolchain/lvm/templates/) and the
guest subroutines (runtime/guest/), with jinja2, the vCPU layout and the isa constants,
cached on disk so that lvm-as, which runs once per object, rarely imports jinja2.
"""
import os

from . import isa

_HERE = os.path.dirname(os.path.realpath(__file__))
TEMPLATES = os.path.join(_HERE, "templates")
GUEST = os.path.join(os.path.dirname(os.path.dirname(_HERE)), "runtime", "guest")


class _Env:
    """jinja2 environment, created on first use (importing jinja2 costs ~40 ms)."""
    _env = None

    @classmethod
    def get(cls):
        if cls._env is None:
            import jinja2
            cls._env = jinja2.Environment(
                loader=jinja2.FileSystemLoader([TEMPLATES, GUEST]),
                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        return cls._env


def _context():
    from . import vcpu
    lay = vcpu.layout()
    ctx = dict(vcpu=lay, emulate_symbol=isa.EMULATE_SYMBOL, runtime_prefix=isa.RUNTIME_PREFIX,
               trap_marker=isa.TRAP_MARKER_BYTE)
    ctx.update(lay.consts)
    return ctx


def _j2_files(d):
    try:
        return [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".j2")]
    except OSError:
        return []


class _Rendered:
    """Rendered templates, memoized on disk across lvm-as runs.

    A build renders the same few dozen lines over and over (`movl $0, 0xfffff008`, `call
    __lvm_sti`, the guest subroutines), yet each lvm-as process would import jinja2, load
    the vCPU layout and compile the templates first: ~40 ms, more than the rewriting of a
    large file.  The file belongs to one state of everything a rendering depends on
    (templates, guest subroutines, vcpu.h, and the modules that compute the context),
    known by their sizes and modification times: its name is made from them, it holds
    them, and a file holding others counts as empty, so an edit to any of them starts a
    new one.  (Hashing their contents meant importing hashlib, ~5 ms a run; marshal, not
    json, saves ~2 ms more.)  Updates are written once, at exit, by atomic rename; a
    lost update (concurrent lvm-as) only costs a later re-render."""
    path, stamp, data, dirty = None, None, None, False
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
        from . import vcpu
        deps = _j2_files(TEMPLATES) + _j2_files(GUEST) + [vcpu.HEADER] + [
            os.path.join(_HERE, name) for name in ("isa.py", "render.py", "vcpu.py")]
        stamp = []
        for p in deps:
            st = os.stat(p)
            stamp.append((os.path.basename(p), st.st_size, st.st_mtime_ns))
        cls.stamp = tuple(stamp)
        cls.path = os.path.join(vcpu.CACHE, "render-%x-%x.marshal"
                                % (max(s[2] for s in stamp), sum(s[1] for s in stamp)))
        cls.data = cls._read()

    @classmethod
    def _read(cls):
        import marshal
        try:
            with open(cls.path, "rb") as f:
                stamp, data = marshal.load(f)
            if stamp == cls.stamp and isinstance(data, dict):
                return data
        except (OSError, ValueError, EOFError, TypeError):
            pass
        return {}

    @classmethod
    def _save(cls):
        import marshal
        merged = cls._read()
        if len(merged) > cls.LIMIT:
            merged = {}
        merged.update(cls.data)
        try:
            os.makedirs(os.path.dirname(cls.path), exist_ok=True)
            tmp = "%s.%d" % (cls.path, os.getpid())
            with open(tmp, "wb") as f:
                marshal.dump((cls.stamp, merged), f)
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
    if name in isa.MOVSEG_NAMES:
        _, sreg, reg = name.split("_")
        def render():
            ctx = _context()
            ctx.update(pop=False, mem=None, sreg=sreg, reg=reg, reg16=reg[1:], sindex=isa.MOVSEG_SREGS.index(sreg),
                       sreg_number=isa.SEGMENT_REGS.index(sreg))
            return _Env.get().get_template("segload.s.j2").render(**ctx)
        return _Rendered.get("segload.s.j2\0%s" % name, render)
    if name in isa.POPSEG_NAMES:
        sreg = name.split("_")[1]
        def render_pop():
            ctx = _context()
            ctx.update(pop=True, mem=None, sreg=sreg, sindex=isa.MOVSEG_SREGS.index(sreg), sreg_number=isa.SEGMENT_REGS.index(sreg),
                       insn_len=1 if sreg in ("ds", "es") else 2)
            return _Env.get().get_template("segload.s.j2").render(**ctx)
        return _Rendered.get("segload.s.j2\0%s" % name, render_pop)
    if name in isa.MEMSEG_NAMES:
        _, sreg, size = name.split("_")
        def render_mem():
            ctx = _context()
            ctx.update(pop=False, mem=size, sreg=sreg, sindex=isa.MOVSEG_SREGS.index(sreg),
                       sreg_number=isa.SEGMENT_REGS.index(sreg), insn_len=4 if size == "d8" else 7)
            return _Env.get().get_template("segload.s.j2").render(**ctx)
        return _Rendered.get("segload.s.j2\0%s" % name, render_mem)
    return _Rendered.get("%s.s.j2" % name,
                         lambda: _Env.get().get_template(name + ".s.j2").render(**_context()))


def render_runtime(names, code32=".code32"):
    """The guest subroutines `names` (without prefix), each in its own COMDAT group;
    `code32` is the statement that puts the assembler in 32-bit mode (the rewriter's
    code32_after_input(): after an input that ended in 16-bit code, it also closes that
    region for `lvm check`)."""
    # The line marker keeps debuggers and as's messages from blaming the user's file.
    out = ["", '# 1 "<lvm-runtime>"', "\t.att_syntax prefix", "\t" + code32]
    for name in sorted(names):
        sym = isa.RUNTIME_PREFIX + name
        body = _render_guest(name)
        out += ['\t.pushsection .text,"axG",@progbits,%s,comdat' % sym,
                "\t.p2align 4", "\t.globl %s" % sym, "\t.hidden %s" % sym,
                "\t.type %s, @function" % sym, body.rstrip("\n"),
                "\t.size %s, .-%s" % (sym, sym), "\t.popsection"]
    return "\n".join(out) + "\n"
