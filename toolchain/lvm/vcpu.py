"""Layout of the shared vCPU page, derived from runtime/include/lvm/vcpu.h with pycparser.

The header is the contract; this module computes its i386 (System V) layout - the
same offsets `gcc -m32` gives, which tests/test_vcpu_layout.py checks - and the
values of its enum constants, so that templates and generated assembly never carry
a hand-copied offset.  The result is cached in a JSON file keyed by the header's
hash, so lvm-as does not run the preprocessor on every call.
"""
import os

from .errors import LvmError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
HEADER = os.path.join(ROOT, "runtime", "include", "lvm", "vcpu.h")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache")),
                     "lvm")

_SCALARS = {  # i386 System V: size == alignment for these
    "char": 1, "unsigned char": 1, "signed char": 1,
    "short": 2, "unsigned short": 2, "int": 4, "unsigned int": 4, "unsigned": 4,
    "long": 4, "unsigned long": 4, "long long": 8, "unsigned long long": 8,
}
_ALIGN_MAX = 4  # i386 aligns 8-byte scalars in structs to 4


class Layout:
    """Offsets of struct lvm_vcpu members and the header's enum constants."""

    def __init__(self, data):
        self.offsets = data["offsets"]      # "cr" -> 24, "saved.eax" -> ...
        self.sizes = data["sizes"]          # "cr" -> 20 (whole member), "cr[]" -> 4
        self.consts = data["consts"]        # "LVM_VCPU_ADDR" -> 0xfffff000
        self.base = self.consts["LVM_VCPU_ADDR"]

    def offset(self, member, index=0):
        if member not in self.offsets:
            raise LvmError("vcpu.h has no member %r" % member)
        elem = self.sizes.get(member + "[]", 0)
        return self.offsets[member] + index * elem

    def addr(self, member, index=0):
        """Absolute guest-linear address of a member (or array element)."""
        return self.base + self.offset(member, index)

    # Rewritten kernel code reaches the vCPU page through a segment that is flat
    # whenever guest kernel code runs, never through %ds: on a kernel entry %ds still
    # holds whatever user code left in it (Linux's entry code pushes the segment
    # registers before it reloads them; a user program may have loaded a limited
    # one).  Reads go through %cs (the monitor runs CPL 0 on a flat, readable code
    # segment, always); writes cannot, and go through %ss, flat but for Linux's
    # espfix stack, where the kernel only reads virtual state.
    def read_ref(self, member, index=0):
        """The member as a memory operand to read, for rewritten kernel code."""
        return "%%cs:%#x" % self.addr(member, index)

    def write_ref(self, member, index=0):
        """The member as a memory operand to write, for rewritten kernel code."""
        return "%%ss:%#x" % self.addr(member, index)

    def field_ref(self, member, index, field):
        """A field of element `index` of an array of structs, to read (through %cs)."""
        inner = self.offsets[member + "." + field] - self.offsets[member]
        return "%%cs:%#x" % (self.addr(member, index) + inner)


def _preprocess(path):
    import subprocess                   # only on a cache miss: lvm-as runs per object
    cmd = ["gcc", "-E", "-P", "-m32", "-x", "c", path]
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise LvmError("cannot preprocess %s: %s" % (path, getattr(e, "stderr", e)))


def _eval(node, consts):
    from pycparser import c_ast
    if isinstance(node, c_ast.Constant):
        return int(node.value.rstrip("uUlL"), 0)
    if isinstance(node, c_ast.ID):
        return consts[node.name]
    if isinstance(node, c_ast.UnaryOp):
        v = _eval(node.expr, consts)
        return {"-": -v, "~": ~v, "+": v}[node.op]
    if isinstance(node, c_ast.BinaryOp):
        a, b = _eval(node.left, consts), _eval(node.right, consts)
        ops = {"|": a | b, "&": a & b, "+": a + b, "-": a - b, "*": a * b,
               "<<": a << b if b >= 0 else 0, ">>": a >> b if b >= 0 else 0, "^": a ^ b}
        return ops[node.op]
    raise LvmError("vcpu.h: unsupported constant expression %s" % type(node).__name__)


class _Walker:
    def __init__(self, ast):
        from pycparser import c_ast
        self.c_ast = c_ast
        self.typedefs, self.structs, self.consts = {}, {}, {}
        for ext in ast.ext:
            self._collect(ext)

    def _collect(self, ext):
        c = self.c_ast
        if isinstance(ext, c.Typedef):
            self.typedefs[ext.name] = ext.type
        t = getattr(ext, "type", None)
        if isinstance(t, c.TypeDecl):
            t = t.type
        if isinstance(t, c.Struct) and t.decls is not None:
            self.structs[t.name] = t
        if isinstance(t, c.Enum) and t.values is not None:
            nxt = 0
            for e in t.values.enumerators:
                nxt = _eval(e.value, self.consts) if e.value is not None else nxt
                self.consts[e.name] = nxt
                nxt += 1

    def size_align(self, t):
        c = self.c_ast
        if isinstance(t, c.TypeDecl):
            return self.size_align(t.type)
        if isinstance(t, c.IdentifierType):
            name = " ".join(t.names)
            if name in self.typedefs:
                return self.size_align(self.typedefs[name])
            if name not in _SCALARS:
                raise LvmError("vcpu.h: unknown type %s" % name)
            return _SCALARS[name], min(_SCALARS[name], _ALIGN_MAX)
        if isinstance(t, c.Enum):
            return 4, 4
        if isinstance(t, c.ArrayDecl):
            n = _eval(t.dim, self.consts)
            s, a = self.size_align(t.type)
            return s * n, a
        if isinstance(t, c.PtrDecl):
            return 4, 4
        if isinstance(t, c.Struct):
            return self.layout(t)[1:]
        raise LvmError("vcpu.h: unsupported type %s" % type(t).__name__)

    def layout(self, struct, prefix="", offsets=None, sizes=None, base=0):
        st = struct if struct.decls is not None else self.structs[struct.name]
        off, align = 0, 1
        for d in st.decls:
            s, a = self.size_align(d.type)
            off = (off + a - 1) // a * a
            name = prefix + d.name
            if offsets is not None:
                offsets[name], sizes[name] = base + off, s
                inner = d.type.type if isinstance(d.type, self.c_ast.TypeDecl) else None
                if isinstance(d.type, self.c_ast.ArrayDecl):
                    sizes[name + "[]"] = self.size_align(d.type.type)[0]
                    inner = d.type.type.type if isinstance(d.type.type, self.c_ast.TypeDecl) else None
                if isinstance(inner, self.c_ast.Struct):
                    self.layout(inner, name + ".", offsets, sizes, base + off)
            off += s
            align = max(align, a)
        return None, (off + align - 1) // align * align, align


def compute(header=HEADER):
    from pycparser import c_parser
    ast = c_parser.CParser().parse(_preprocess(header), filename=header)
    w = _Walker(ast)
    offsets, sizes = {}, {}
    _, total, _ = w.layout(w.structs["lvm_vcpu"], "", offsets, sizes)
    sizes["__struct__"] = total
    return {"offsets": offsets, "sizes": sizes, "consts": w.consts}


_loaded = None


def layout():
    """The vCPU layout, from the cache when the header is unchanged."""
    global _loaded
    if _loaded is None:
        import hashlib
        import json
        with open(HEADER, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        cached = os.path.join(CACHE, "vcpu-%s.json" % digest)
        try:
            with open(cached) as f:
                data = json.loads(f.read())
        except (OSError, ValueError):
            data = compute()
            try:
                os.makedirs(CACHE, exist_ok=True)
                tmp = "%s.%d" % (cached[:-len(".json")], os.getpid())
                with open(tmp, "w") as f:
                    f.write(json.dumps(data))
                os.replace(tmp, cached)
            except OSError:
                pass  # a read-only cache only costs speed
        _loaded = Layout(data)
    return _loaded
