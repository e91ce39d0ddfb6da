"""lvm-cc as a drop-in for gcc and clang (toolchain/lvm/ccdriver.py).

Everything a build sees is compared with the real compiler run the same way:
dependency files, exit statuses, diagnostics, objects of code with no interesting
instruction, and the calls that never assemble (which must pass through untouched).
Then what lvm-cc adds: .c/.S/.s/stdin compiles come out rewritten (lvm check clean,
`call __lvm_*` relocations), modes, kept assembly, the check failing a compile, clang,
ccache, the self-recursion guard and Kbuild's probes.

lvm-cc runs as a console script named `lvm-cc` (generated here, so the tests do not
depend on how the package is installed).  With clang, lvm-cc adds -fno-integrated-as
(GNU as must see the code), so clang's objects and asm diagnostics are compared with
`clang -fno-integrated-as`.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from lvm.check import check_file

HAVE_CLANG = shutil.which("clang") is not None
COMPILERS = ["gcc", pytest.param("clang", marks=pytest.mark.skipif(not HAVE_CLANG, reason="no clang"))]
M32 = {"gcc": ["-m32"], "clang": ["--target=i386-linux-gnu"]}

U_C = '#include "u.h"\nint f(int x) { return x * U + 1; }\n'
U_H = "#define U 3\n"
IO_C = """int counter;
void io(void)
{
    asm volatile("cli");
    counter++;
    asm volatile("outb %%al, $0x80" :: "a"(counter));
    asm volatile("mov %%cr3, %%eax; sti" ::: "eax");
}
"""
K_S = """#define PORT 0x60
\t.text
\t.globl kf
kf:
\tcli
\tinb $PORT, %al
\tmov %cr0, %eax
\tsti
\tret
"""


@pytest.fixture(scope="session")
def tools(tmp_path_factory):
    """A bin directory with the `lvm-cc` console script; an environment without LVM_*."""
    d = tmp_path_factory.mktemp("tools")
    bindir = d / "bin"
    bindir.mkdir()
    script = bindir / "lvm-cc"
    script.write_text('#!/bin/sh\nPYTHONPATH="%s" exec "%s" -m lvm.ccdriver "$@"\n'
                      % (ROOT / "toolchain", sys.executable))
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LVM_", "CCACHE_", "GCC_", "COMPILER_PATH", "DEPENDENCIES_OUTPUT",
                                "SUNPRO_DEPENDENCIES"))}
    env.update(PATH="%s%s%s" % (bindir, os.pathsep, env["PATH"]), XDG_CACHE_HOME=str(d / "cache"),
               LC_ALL="C")
    return {"bin": bindir, "lvm_cc": str(script), "env": env}


def run(cmd, cwd, tools, env=None, stdin=None, timeout=120):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, input=stdin, capture_output=True, text=True,
                          env=dict(tools["env"], **(env or {})), timeout=timeout)


def lvm_cc(args, cwd, tools, compiler="gcc", env=None, stdin=None):
    e = dict(env or {})
    if compiler != "gcc":
        e.setdefault("LVM_CC", compiler)
    return run([tools["lvm_cc"]] + list(args), cwd, tools, e, stdin)


def real(args, cwd, tools, compiler="gcc", stdin=None):
    extra = ["-fno-integrated-as"] if compiler == "clang" else []
    return run([compiler] + list(args) + extra, cwd, tools, stdin=stdin)


def ok(r):
    assert r.returncode == 0, r.stderr
    return r


def twin_dirs(tmp_path, files):
    """Two directories with the same files: one for the real compiler, one for lvm-cc."""
    dirs = []
    for name in ("real", "lvm"):
        d = tmp_path / name
        d.mkdir()
        for f, text in files.items():
            (d / f).write_text(text)
        dirs.append(d)
    return dirs


def disassemble(obj):
    return subprocess.run(["objdump", "-dr", str(obj)], capture_output=True, text=True, check=True).stdout


# -- what the build sees: identical to the real compiler ----------------------------------------
@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("flags", [
    ["-MD"], ["-MMD"], ["-MD", "-MF", "dep.d"], ["-MMD", "-MT", "foo.o", "-MF", "dep.d"],
    ["-MD", "-MQ", "$(obj)/u.o", "-MP"], ["-Wp,-MMD,dep.d"], ["-Wp,-MD,dep.d"],
], ids=" ".join)
def test_dependency_files_and_objects_identical(tmp_path, tools, compiler, flags):
    d_real, d_lvm = twin_dirs(tmp_path, {"u.c": U_C, "u.h": U_H})
    args = M32[compiler] + ["-O2", "-c", "u.c", "-o", "u.o"] + flags
    ok(real(args, d_real, tools, compiler))
    r = ok(lvm_cc(args, d_lvm, tools, compiler))
    assert r.stdout == r.stderr == ""
    deps = sorted(p.name for p in d_real.iterdir() if p.suffix == ".d")
    assert deps and deps == sorted(p.name for p in d_lvm.iterdir() if p.suffix == ".d")
    for name in deps:
        assert (d_real / name).read_text() == (d_lvm / name).read_text()
    assert (d_real / "u.o").read_bytes() == (d_lvm / "u.o").read_bytes()
    assert sorted(os.listdir(d_real)) == sorted(os.listdir(d_lvm))       # nothing else left behind


@pytest.mark.parametrize("compiler", COMPILERS)
def test_objects_identical_without_interesting_instructions(tmp_path, tools, compiler):
    src = {"w.c": "struct s { int a; char b[10]; };\nint g(struct s *p, int n) { int t = 0;\n"
                  "  for (int i = 0; i < n; i++) t += p[i].a * i; return t ^ p->b[n & 7]; }\n"
                  "double h(double x) { return x * 3.5; }\n",
           "w.S": "#define N 4\n\t.text\n\t.globl w\nw:\tmovl $N, %eax\n\tpushl %ebx\n\tpopl %ebx\n\tret\n"}
    d_real, d_lvm = twin_dirs(tmp_path, src)
    for args in (["-O2", "-c", "w.c"], ["-O0", "-c", "w.c", "-o", "w0.o"], ["-c", "w.S", "-o", "ws.o"]):
        ok(real(M32[compiler] + args, d_real, tools, compiler))
        ok(lvm_cc(M32[compiler] + args, d_lvm, tools, compiler))
    for obj in ("w.o", "w0.o", "ws.o"):
        assert (d_real / obj).read_bytes() == (d_lvm / obj).read_bytes(), obj


BROKEN = {
    "syntax.c": "int f( {\n",
    "types.c": "int f(void) { return undeclared + 1; }\n",
    "warn.c": "int f(int x) { int unused; return x; }\n",
    "asm.c": 'void f(void) { asm volatile("cli; bogus %eax"); }\n',
    "bad.s": "\t.text\n\tcli\n\tbogus %eax\n\tmovl $1,\n",
    "bad.S": "#define X\n\t.text\n\tsti\n\tfrobnicate\n",
}


@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("name,extra", [("syntax.c", []), ("types.c", []), ("warn.c", ["-Wall", "-Werror"]),
                                        ("asm.c", []), ("bad.s", []), ("bad.S", []), ("missing.c", [])])
def test_same_status_and_diagnostics_on_broken_input(tmp_path, tools, compiler, name, extra):
    d_real, d_lvm = twin_dirs(tmp_path, BROKEN)
    args = M32[compiler] + ["-c", name, "-o", "x.o"] + extra
    r, l = real(args, d_real, tools, compiler), lvm_cc(args, d_lvm, tools, compiler)
    assert r.returncode != 0
    if compiler == "clang" and name == "asm.c":
        # clang's assembly has no line markers around inline asm, so GNU as names the
        # deleted temporary .s; behind lvm-as (whose text starts with a line marker)
        # as takes the name from `.file "asm.c"` instead.  Same messages otherwise.
        strip = lambda e: re.sub(r"(?m)^\S+?(:\d+)?: ", "", e)
        assert (l.returncode, l.stdout, strip(l.stderr)) == (r.returncode, r.stdout, strip(r.stderr))
    else:
        assert (l.returncode, l.stdout, l.stderr) == (r.returncode, r.stdout, r.stderr)
    assert not (d_lvm / "x.o").exists()


def _normalize(text):
    text = re.sub(r"/tmp/cc\w+\.(\w+)", r"/tmp/ccTEMP.\1", text)               # gcc's temporaries
    text = re.sub(r"/tmp/(\w+)-[0-9a-f]{6}\.(\w+)", r"/tmp/\1-TEMP.\2", text)   # clang's
    return re.sub(r"(?m)^COLLECT_GCC=.*\n", "", text)


@pytest.mark.parametrize("args", [
    ["-E", "u.c"], ["-M", "u.c"], ["-MM", "u.c"], ["-E", "-dM", "-x", "c", "/dev/null"],
    ["-fsyntax-only", "u.c"], ["--version"], ["-v"], ["-dumpversion"], ["-dumpmachine"],
    ["-print-file-name=libgcc.a"], ["-m32", "-print-libgcc-file-name"], ["-print-search-dirs"],
    ["-print-prog-name=as"], ["-print-prog-name=cc1"], ["-m32", "-###", "-c", "u.c"],
    ["-m32", "-###", "m.o", "-o", "m"],
], ids=" ".join)
def test_calls_that_never_assemble_pass_through(tmp_path, tools, args):
    """Same stdout, stderr and status; -v and -### differ only in temporaries and in
    COLLECT_GCC, which names the real compiler by its full path.  -print-prog-name=as
    prints the real `as`: pass-through means the compiler's own answer."""
    (tmp_path / "u.c").write_text(U_C)
    (tmp_path / "u.h").write_text(U_H)
    r, l = real(args, tmp_path, tools), lvm_cc(args, tmp_path, tools)
    assert l.returncode == r.returncode
    assert _normalize(l.stdout) == _normalize(r.stdout)
    assert _normalize(l.stderr) == _normalize(r.stderr)
    assert "lvm/libexec" not in l.stdout + l.stderr


def test_compiles_get_the_shim_and_links_do_not(tmp_path, tools):
    (tmp_path / "m.c").write_text("int main(void) { return 0; }\n")
    r = ok(lvm_cc(["-m32", "-v", "-c", "m.c"], tmp_path, tools))
    assert re.search(r"lvm/libexec/as( -v)? --32", r.stderr), r.stderr
    ok(lvm_cc(["-m32", "m.o", "-o", "m_lvm"], tmp_path, tools))        # link only
    ok(real(["-m32", "m.o", "-o", "m_real"], tmp_path, tools))
    assert (tmp_path / "m_lvm").read_bytes() == (tmp_path / "m_real").read_bytes()
    r = ok(lvm_cc(["-m32", "-###", "m.o", "-o", "m_lvm"], tmp_path, tools))
    assert "lvm/libexec" not in r.stderr


# -- response files, stdin ----------------------------------------------------------------------
def test_response_files(tmp_path, tools):
    d_real, d_lvm = twin_dirs(tmp_path, {"u.c": U_C, "u.h": U_H, "inner": "-O2 -MD",
                                         "args": '-m32 @inner -c "u.c" -o u.o'})
    ok(real(["@args"], d_real, tools))
    ok(lvm_cc(["@args"], d_lvm, tools))
    assert (d_real / "u.o").read_bytes() == (d_lvm / "u.o").read_bytes()
    assert (d_real / "u.d").read_text() == (d_lvm / "u.d").read_text()
    # our own option inside a response file is seen, and removed before gcc runs
    (d_lvm / "io.c").write_text(IO_C)
    (d_lvm / "trap").write_text("-m32 -O2 -c io.c -o io.o --lvm-mode=trap")
    ok(lvm_cc(["@trap"], d_lvm, tools))
    assert "f4                   \thlt" in disassemble(d_lvm / "io.o")
    # a response file we cannot read the way gcc would: a clear error, not a traceback
    (d_lvm / "bad").write_text('-m32 -c "io.c')
    r = lvm_cc(["@bad"], d_lvm, tools)
    assert (r.returncode, r.stderr) == (1, "lvm-cc: error: response file bad: No closing quotation\n")


def test_stdin(tmp_path, tools):
    r = ok(lvm_cc(["-m32", "-O2", "-c", "-x", "c", "-", "-o", "c.o"], tmp_path, tools, stdin=IO_C))
    assert check_file(tmp_path / "c.o") == []
    assert "movl   $0x0,%ss:0xfffff008" in disassemble(tmp_path / "c.o")
    ok(lvm_cc(["-m32", "-c", "-x", "assembler-with-cpp", "-", "-o", "s.o"], tmp_path, tools, stdin=K_S))
    assert check_file(tmp_path / "s.o") == [] and "R_386_PC32\t__lvm_emulate" in disassemble(tmp_path / "s.o")
    # no interesting instruction: the very object gcc makes from the same stdin
    ok(lvm_cc(["-m32", "-O2", "-c", "-x", "c", "-", "-o", "l.o"], tmp_path, tools, stdin=U_C.replace(
        '#include "u.h"', U_H)))
    ok(real(["-m32", "-O2", "-c", "-x", "c", "-", "-o", "r.o"], tmp_path, tools, stdin=U_C.replace(
        '#include "u.h"', U_H)))
    assert (tmp_path / "l.o").read_bytes() == (tmp_path / "r.o").read_bytes()


# -- rewriting ------------------------------------------------------------------------------------
@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("name,text", [("io.c", IO_C), ("k.S", K_S), ("k.s", K_S.replace("$PORT", "$0x60"))])
def test_sources_are_rewritten(tmp_path, tools, compiler, name, text):
    (tmp_path / name).write_text(text)
    ok(lvm_cc(M32[compiler] + ["-O2", "-c", name, "-o", "x.o"], tmp_path, tools, compiler))
    assert check_file(tmp_path / "x.o") == []
    dis = disassemble(tmp_path / "x.o")
    assert "R_386_PC32\t__lvm_sti" in dis or "R_386_PLT32\t__lvm_sti" in dis
    assert re.search(r"R_386_(PC|PLT)32\t__lvm_emulate", dis)
    assert "movl   $0x0,%ss:0xfffff008" in dis                              # cli
    # the same call without lvm-cc leaves every instruction raw
    ok(real(M32[compiler] + ["-O2", "-c", name, "-o", "raw.o"], tmp_path, tools, compiler))
    assert {f.rule for f in check_file(tmp_path / "raw.o")} >= {"cli", "sti", "mov_cr"}


def test_S_writes_the_unrewritten_assembly(tmp_path, tools):
    """-S gives exactly what lvm-as gets in a -c: -S then -c of the .s is the same object."""
    (tmp_path / "io.c").write_text(IO_C)
    ok(lvm_cc(["-m32", "-O2", "-S", "io.c", "-o", "l.s"], tmp_path, tools))
    ok(real(["-m32", "-O2", "-S", "io.c", "-o", "r.s"], tmp_path, tools))
    assert (tmp_path / "l.s").read_text() == (tmp_path / "r.s").read_text()
    assert "\tcli\n" in (tmp_path / "l.s").read_text()
    ok(lvm_cc(["-m32", "-O2", "-c", "l.s", "-o", "from_s.o"], tmp_path, tools))
    ok(lvm_cc(["-m32", "-O2", "-c", "io.c", "-o", "from_c.o"], tmp_path, tools))
    assert (tmp_path / "from_s.o").read_bytes() == (tmp_path / "from_c.o").read_bytes()
    r = ok(lvm_cc(["-m32", "-O2", "-S", "io.c", "-o", "-"], tmp_path, tools))
    assert r.stdout == (tmp_path / "r.s").read_text()


def test_c_to_stdout_fails_like_the_compiler(tmp_path, tools):
    """`-c -o -`: GNU as cannot write an object to stdout, so gcc fails; lvm-cc fails the
    same way (with clang it fails like `clang -fno-integrated-as`)."""
    (tmp_path / "io.c").write_text(IO_C)
    r, l = real(["-m32", "-c", "io.c", "-o", "-"], tmp_path, tools), lvm_cc(["-m32", "-c", "io.c", "-o", "-"],
                                                                          tmp_path, tools)
    assert r.returncode != 0
    assert (l.returncode, l.stdout, l.stderr) == (r.returncode, r.stdout, r.stderr)


def test_save_temps_and_pipe(tmp_path, tools):
    d_real, d_lvm = twin_dirs(tmp_path, {"io.c": IO_C})
    ok(real(["-m32", "-O2", "-save-temps", "-c", "io.c"], d_real, tools))
    ok(lvm_cc(["-m32", "-O2", "-save-temps", "-c", "io.c"], d_lvm, tools))
    assert sorted(os.listdir(d_lvm)) == ["io.c", "io.i", "io.o", "io.s"]
    for kept in ("io.i", "io.s"):                                    # the compiler's own, unrewritten
        assert (d_real / kept).read_text() == (d_lvm / kept).read_text()
    assert check_file(d_lvm / "io.o") == []
    ok(lvm_cc(["-m32", "-O2", "-pipe", "-c", "io.c", "-o", "pipe.o"], d_lvm, tools))
    assert (d_lvm / "pipe.o").read_bytes() == (d_lvm / "io.o").read_bytes()


def test_trap_mode(tmp_path, tools):
    (tmp_path / "io.c").write_text(IO_C)
    ok(lvm_cc(["--lvm-mode=trap", "-m32", "-O2", "-c", "io.c", "-o", "opt.o"], tmp_path, tools))
    ok(lvm_cc(["-m32", "-O2", "-c", "io.c", "-o", "env.o"], tmp_path, tools, env={"LVM_MODE": "trap"}))
    ok(lvm_cc(["-m32", "-O2", "-c", "io.c", "-o", "call.o"], tmp_path, tools))
    assert (tmp_path / "opt.o").read_bytes() == (tmp_path / "env.o").read_bytes()
    assert (tmp_path / "opt.o").read_bytes() != (tmp_path / "call.o").read_bytes()
    dis = disassemble(tmp_path / "opt.o")
    assert re.search(r"f4\s+hlt\s*\n.*fa\s+cli", dis) and "__lvm_" not in dis
    assert check_file(tmp_path / "opt.o") == []
    r = lvm_cc(["-m32", "-c", "io.c"], tmp_path, tools, env={"LVM_MODE": "fast"})
    assert (r.returncode, r.stderr) == (1, "lvm-cc: error: LVM_MODE must be call, trap or user, not 'fast'\n")
    r = lvm_cc(["--lvm-mode", "trap", "-m32", "-c", "io.c"], tmp_path, tools)
    assert (r.returncode, r.stderr) == (1, "lvm-cc: error: --lvm-mode needs a value: --lvm-mode=call|trap|user\n")


def test_keep_asm(tmp_path, tools):
    (tmp_path / "io.c").write_text(IO_C)
    ok(lvm_cc(["-m32", "-O2", "-c", "io.c"], tmp_path, tools, env={"LVM_KEEP_ASM": "1"}))
    kept = (tmp_path / "io.o.lvm.s").read_text()
    assert "movl $0, %ss:0xfffff008" in kept and "call __lvm_sti" in kept and "__lvm_emulate:" in kept
    ok(lvm_cc(["-m32", "-O2", "-c", "io.c", "-o", "k.o", "--lvm-keep-asm=kept/asm"], tmp_path, tools))
    assert _normalize((tmp_path / "kept" / "asm" / "k.o.lvm.s").read_text()) == _normalize(kept)
    ok(lvm_cc(["-m32", "-O2", "-c", "io.c", "-o", "n.o"], tmp_path, tools))
    assert not (tmp_path / "n.o.lvm.s").exists()


HIDDEN_C = 'int x;\nvoid f(void)\n{\n    x++;\n    asm volatile(".byte 0xfa");\n}\nint main(void) { f(); return 0; }\n'


def test_hidden_instruction_fails_the_compile(tmp_path, tools):
    (tmp_path / "hid.c").write_text(HIDDEN_C)
    (tmp_path / "hid.o").write_text("stale")
    r = lvm_cc(["-m32", "-O2", "-c", "hid.c"], tmp_path, tools)
    assert r.returncode != 0
    assert re.search(r"lvm-as: error: hid\.o: \.text\+0x\w+ <f\+0x\w+> \(hid\.c\): cli ", r.stderr), r.stderr
    assert not (tmp_path / "hid.o").exists()
    # with -g the line; compiling and linking in one go (a temporary object) still names hid.c
    r = lvm_cc(["-m32", "-O2", "-g", "-c", "hid.c"], tmp_path, tools)
    assert r.returncode != 0 and "(hid.c:5): cli" in r.stderr
    r = lvm_cc(["-m32", "-O2", "hid.c", "-o", "hid"], tmp_path, tools)
    assert r.returncode != 0 and "(hid.c): cli" in r.stderr and not (tmp_path / "hid").exists()
    # opting out
    for how in (dict(args=["--lvm-check=0"]), dict(env={"LVM_CHECK": "0"})):
        ok(lvm_cc(["-m32", "-O2", "-c", "hid.c"] + how.get("args", []), tmp_path, tools, env=how.get("env")))
        assert {f.rule for f in check_file(tmp_path / "hid.o")} == {"cli"}
        os.unlink(tmp_path / "hid.o")


# -- clang, ccache ---------------------------------------------------------------------------------
@pytest.mark.skipif(not HAVE_CLANG, reason="no clang")
def test_clang_gets_gnu_as(tmp_path, tools):
    (tmp_path / "io.c").write_text(IO_C)
    r = ok(lvm_cc(["--target=i386-linux-gnu", "-fintegrated-as", "-v", "-c", "io.c"], tmp_path, tools, "clang"))
    assert re.search(r"lvm/libexec/as\"? --32", r.stderr)          # -fno-integrated-as comes last
    assert check_file(tmp_path / "io.o") == []


@pytest.fixture
def ccache(tmp_path, tools):
    if not shutil.which("ccache"):
        pytest.skip("no ccache")
    env = {"CCACHE_DIR": str(tmp_path / "ccache"), "CCACHE_NOHASHDIR": "1"}

    def hits():
        out = run(["ccache", "--print-stats"], tmp_path, tools, env).stdout
        stats = dict(l.split("\t") for l in out.splitlines() if "\t" in l)
        return int(stats.get("direct_cache_hit", 0)) + int(stats.get("preprocessed_cache_hit", 0))
    return env, hits


def test_ccache_in_front_of_lvm_cc(tmp_path, tools, ccache):
    env, hits = ccache
    (tmp_path / "io.c").write_text(IO_C)
    cc = ["ccache", tools["lvm_cc"], "-m32", "-O2", "-c", "io.c"]
    ok(run(cc + ["-o", "1.o"], tmp_path, tools, env))
    assert hits() == 0
    ok(run(cc + ["-o", "2.o"], tmp_path, tools, env))
    assert hits() == 1
    assert (tmp_path / "1.o").read_bytes() == (tmp_path / "2.o").read_bytes()
    assert check_file(tmp_path / "2.o") == []
    # the mode given as an argument is part of ccache's key
    ok(run(cc + ["-o", "t.o", "--lvm-mode=trap"], tmp_path, tools, env))
    assert hits() == 1 and (tmp_path / "t.o").read_bytes() != (tmp_path / "1.o").read_bytes()


def test_ccache_behind_lvm_cc_is_keyed_by_mode(tmp_path, tools, ccache):
    env, hits = ccache
    (tmp_path / "io.c").write_text(IO_C)
    env = dict(env, LVM_CC="ccache gcc")
    args = ["-m32", "-O2", "-c", "io.c", "-o"]
    ok(lvm_cc(args + ["1.o"], tmp_path, tools, env=env))
    ok(lvm_cc(args + ["t.o"], tmp_path, tools, env=dict(env, LVM_MODE="trap")))
    ok(lvm_cc(args + ["2.o"], tmp_path, tools, env=env))
    assert hits() == 1
    assert (tmp_path / "1.o").read_bytes() == (tmp_path / "2.o").read_bytes() != (tmp_path / "t.o").read_bytes()
    assert check_file(tmp_path / "t.o") == []


def test_ccache_namespace_stamp_covers_the_vcpu_layout(monkeypatch):
    """The vCPU page layout (runtime/include/lvm/vcpu.h) decides the rewritten code, so a
    newer vcpu.h must change the namespace LVM_CC=\"ccache gcc\" compiles are cached under."""
    from lvm import ccdriver, vcpu
    real_scandir, header = os.scandir, os.path.realpath(vcpu.HEADER)
    before = ccdriver._stamp()

    class Newer:
        def __init__(self, entry):
            self.entry, self.name = entry, entry.name

        def is_file(self):
            return self.entry.is_file()

        def stat(self):
            st = self.entry.stat()
            if os.path.realpath(self.entry.path) == header:
                return type("Stat", (), {"st_mtime_ns": st.st_mtime_ns + 10 ** 15})
            return st

    monkeypatch.setattr(os, "scandir", lambda d: [Newer(e) for e in real_scandir(d)])
    assert ccdriver._stamp() != before


# -- never calling itself --------------------------------------------------------------------------
def test_self_recursion_guard(tmp_path, tools):
    (tmp_path / "io.c").write_text(IO_C)
    for spec in ("lvm-cc", tools["lvm_cc"]):
        r = lvm_cc(["-m32", "-c", "io.c"], tmp_path, tools, env={"LVM_CC": spec})
        assert (r.returncode, r.stderr) == (1, "lvm-cc: error: LVM_CC=%s points back to an lvm wrapper\n" % spec)
    # a wrapper that hides lvm-cc behind another name: stopped after a few rounds
    hidden = tmp_path / "mycc"
    hidden.write_text('#!/bin/sh\nexec lvm-cc "$@"\n')
    hidden.chmod(0o755)
    r = lvm_cc(["-m32", "-c", "io.c"], tmp_path, tools, env={"LVM_CC": str(hidden)})
    assert r.returncode == 1 and "wrapper loop" in r.stderr and r.stderr.count("\n") == 1
    # lvm-cc installed as `gcc` first on PATH: finds the real gcc behind itself
    masq = tmp_path / "masq"
    masq.mkdir()
    (masq / "gcc").symlink_to(tools["lvm_cc"])
    r = run(["gcc", "-m32", "-O2", "-c", "io.c"], tmp_path, tools,
            env={"PATH": "%s:%s" % (masq, tools["env"]["PATH"])})
    ok(r)
    assert check_file(tmp_path / "io.o") == []
    r = lvm_cc(["-m32", "-c", "io.c"], tmp_path, tools, env={"LVM_CC": "/nonexistent/cc"})
    assert (r.returncode, r.stderr) == (1, "lvm-cc: error: LVM_CC=/nonexistent/cc: no such program\n")


# -- Kbuild's probes -------------------------------------------------------------------------------
@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("args,stdin", [
    (["-Werror", "-mfoo", "-c", "-x", "c", "/dev/null", "-o", "/dev/null"], None),          # cc-option, fails
    (["-Werror", "-fno-stack-protector", "-c", "-x", "c", "/dev/null", "-o", "/dev/null"], None),
    (["-m32", "-c", "-x", "assembler-with-cpp", "-o", "/dev/null", "-"], "cli\n"),          # as-instr
    (["-m32", "-c", "-x", "assembler-with-cpp", "-o", "/dev/null", "-"], "frobnicate %eax\n"),
    (["-m32", "-Wa,--version", "-c", "-x", "assembler-with-cpp", "/dev/null", "-o", "/dev/null"], None),
    (["-m32", "-Werror", "-S", "-x", "c", "/dev/null", "-o", "/dev/null"], None),
    (["-E", "-x", "c", "-", "-o", "-"], "#if __GNUC__ > 3\nyes\n#endif\n"),
], ids=lambda v: v if isinstance(v, str) else " ".join(v) if v else "-")
def test_kbuild_probes_behave_like_the_compiler(tmp_path, tools, compiler, args, stdin):
    if compiler == "clang":
        args = [a if a != "-m32" else "--target=i386-linux-gnu" for a in args]
    r = real(args, tmp_path, tools, compiler, stdin=stdin)      # clang: with GNU as, like lvm-cc
    l = lvm_cc(args, tmp_path, tools, compiler, stdin=stdin)
    assert l.returncode == r.returncode
    assert _normalize(l.stdout) == _normalize(r.stdout)
    assert _normalize(l.stderr) == _normalize(r.stderr)
