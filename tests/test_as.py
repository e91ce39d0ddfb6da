"""lvm-as as a drop-in for GNU as: command line, diagnostics, exit codes, bad input."""
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, text_bytes

LVM_AS = [sys.executable, "-m", "lvm.asdriver"]
ENV = dict(os.environ, PYTHONPATH=str(ROOT / "toolchain"))


def lvm_as(args, cwd, stdin=None, env=None):
    return subprocess.run(LVM_AS + args, cwd=cwd, input=stdin, capture_output=True, text=True,
                          env=dict(ENV, **(env or {})))


def real_as(args, cwd, stdin=None):
    return subprocess.run(["as"] + args, cwd=cwd, input=stdin, capture_output=True, text=True)


def write(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    return name


def test_rewrites_and_assembles(tmp_path):
    write(tmp_path, "k.s", "\t.text\n\tcli\n\tmov %cr3, %eax\n\tinb $0x60, %al\n")
    r = lvm_as(["--32", "-o", "k.o", "k.s"], tmp_path)
    assert r.returncode == 0, r.stderr
    dis = subprocess.run(["objdump", "-d", "k.o"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "movl   $0x0,%ss:0xfffff008" in dis
    assert "<__lvm_emulate>" in dis and "in     $0x60,%al" in dis


def test_trap_mode_from_environment_and_option(tmp_path):
    write(tmp_path, "k.s", "\t.text\n\tcli\n")
    for extra, env in (([], {"LVM_MODE": "trap"}), (["--lvm-mode=trap"], {})):
        r = lvm_as(["--32", "-o", "k.o", "k.s"] + extra, tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        assert text_bytes(tmp_path / "k.o") == b"\xf4\xfa"


def test_bad_mode_is_an_error(tmp_path):
    write(tmp_path, "k.s", "\tcli\n")
    r = lvm_as(["--32", "-o", "k.o", "k.s"], tmp_path, env={"LVM_MODE": "fast"})
    assert r.returncode == 1 and "LVM_MODE must be `call`, `trap` or `user`" in r.stderr


def test_uninteresting_object_identical_to_real_as(tmp_path):
    src = "\t.text\n\t.globl f\nf:\tpushl %ebp\n\tmovl %esp, %ebp\n\tmovl 8(%ebp), %eax\n\tpopl %ebp\n\tret\n"
    write(tmp_path, "u.s", src)
    assert lvm_as(["--32", "-o", "a.o", "u.s"], tmp_path).returncode == 0
    assert real_as(["--32", "-o", "b.o", "u.s"], tmp_path).returncode == 0
    assert (tmp_path / "a.o").read_bytes() == (tmp_path / "b.o").read_bytes()


def test_stdin_input_as_with_gcc_pipe(tmp_path):
    for args in (["--32", "-o", "s.o"], ["--32", "-o", "s.o", "-"]):
        r = lvm_as(args, tmp_path, stdin="\t.text\n\tsti\n")
        assert r.returncode == 0, r.stderr
        assert b"\xe8" == text_bytes(tmp_path / "s.o")[:1]        # call __lvm_sti


def test_diagnostics_name_the_original_file_and_line(tmp_path):
    write(tmp_path, "e.s", "\t.text\n\tcli\n\tmov %cr0, %eax\n\tsti\n\tbogus %eax\n")
    r = lvm_as(["--32", "-o", "e.o", "e.s"], tmp_path)
    ref = real_as(["--32", "-o", "r.o", "e.s"], tmp_path)
    assert r.returncode == ref.returncode == 1
    assert "e.s:5: Error: no such instruction: `bogus %eax'" in r.stderr
    assert r.stderr.splitlines()[-1] == ref.stderr.splitlines()[-1]
    assert not (tmp_path / "e.o").exists()


def test_debug_lines_point_at_the_original(tmp_path):
    write(tmp_path, "g.s", "\t.text\n\tnop\n\tcli\n\tmov %cr0, %eax\n\tin $0x60, %al\n\tnop\n")
    assert lvm_as(["--32", "-g", "-o", "g.o", "g.s"], tmp_path).returncode == 0
    dump = subprocess.run(["objdump", "--dwarf=decodedline", "g.o"], cwd=tmp_path,
                          capture_output=True, text=True).stdout
    rows = [l.split() for l in dump.splitlines() if l.startswith("g.s") and l.split()[1] != "-"]
    assert [int(r[1]) for r in rows] == [2, 3, 4, 5, 6]
    assert "<lvm-runtime>" in dump                     # the appended subroutines are not blamed on g.s


@pytest.mark.parametrize("src,line,message", [
    ("\t.text\n\tcli\n\t.intel_syntax noprefix\n\tmov eax, cr0\n", 4, "cannot rewrite `mov eax, cr0` in Intel syntax"),
    ("\t.text\n\t.macro m\n\tcli\n", 4, "end of file inside .macro m"),
    # gas would continue the string on the next line (with a warning), so `cli` there
    # is string data, not an instruction: refuse rather than guess
    ("\t.text\n\t.ascii \"abc\n\tcli\n", 2, "unterminated string"),
])
def test_rewriter_errors_leave_no_object(tmp_path, src, line, message):
    write(tmp_path, "b.s", src)
    (tmp_path / "b.o").write_text("stale")
    r = lvm_as(["--32", "-o", "b.o", "b.s"], tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("b.s:%d: error: %s" % (line, message))
    assert not (tmp_path / "b.o").exists()


def test_truncated_file_and_unknown_mnemonic_next_to_interesting_ones(tmp_path):
    write(tmp_path, "t.s", "\t.text\n\tcli; frobnicate %eax; sti\n\tmovl $1,")
    r = lvm_as(["--32", "-o", "t.o", "t.s"], tmp_path)
    assert r.returncode == 1
    assert "t.s:2: Error: no such instruction: `frobnicate %eax'" in r.stderr
    assert "t.s:3: Error:" in r.stderr
    assert not (tmp_path / "t.o").exists()


def test_hidden_instruction_fails_the_check(tmp_path):
    write(tmp_path, "h.s", "\t.text\nf:\tnop\n\t.byte 0x0f, 0x22, 0xd8\n\tret\n")  # mov %eax,%cr3
    r = lvm_as(["--32", "-o", "h.o", "h.s"], tmp_path)
    assert r.returncode == 1
    assert "<f+0x1>" in r.stderr and "%cr3" in r.stderr
    assert not (tmp_path / "h.o").exists()
    r = lvm_as(["--32", "-o", "h.o", "h.s"], tmp_path, env={"LVM_CHECK": "0"})
    assert r.returncode == 0 and (tmp_path / "h.o").exists()


def test_code16_needs_the_opt_out(tmp_path):
    write(tmp_path, "r.s", "\t.text\n\t.code16\n\tcli\n\tlgdt (%si)\n\t.code32\n\tcli\n")
    r = lvm_as(["--32", "-o", "r.o", "r.s"], tmp_path)
    assert r.returncode == 1 and r.stderr.count("lvm-as: error:") == 2
    r = lvm_as(["--32", "-o", "r.o", "r.s", "--lvm-check=code16"], tmp_path)
    assert r.returncode == 0, r.stderr


def test_keep_asm(tmp_path):
    write(tmp_path, "k.s", "\t.text\n\tcli\n")
    r = lvm_as(["--32", "-o", "k.o", "k.s"], tmp_path, env={"LVM_KEEP_ASM": "1"})
    assert r.returncode == 0
    kept = (tmp_path / "k.o.lvm.s").read_text()
    assert "movl $0, %ss:0xfffff008" in kept


def test_response_file_and_version_pass_through(tmp_path):
    write(tmp_path, "k.s", "\t.text\n\tsti\n")
    write(tmp_path, "args", "--32 -o k.o k.s")
    assert lvm_as(["@args"], tmp_path).returncode == 0
    assert lvm_as(["--version"], tmp_path).stdout == real_as(["--version"], tmp_path).stdout


def test_64bit_assembly_is_passed_through_unchanged(tmp_path):
    write(tmp_path, "x.s", "\t.text\n\tmovq %rax, %rbx\n\tcli\n")
    assert lvm_as(["-o", "a.o", "x.s"], tmp_path).returncode == 0
    assert real_as(["-o", "b.o", "x.s"], tmp_path).returncode == 0
    assert text_bytes(tmp_path / "a.o") == text_bytes(tmp_path / "b.o")


def test_never_calls_itself(tmp_path):
    write(tmp_path, "k.s", "\tnop\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "as"
    shim.write_text((ROOT / "toolchain/lvm/libexec/as").read_text())
    shim.chmod(0o755)
    env = {"PATH": "%s:%s" % (bindir, os.environ["PATH"]), "LVM_PYTHON": sys.executable}
    r = lvm_as(["--32", "-o", "k.o", "k.s"], tmp_path, env=env)
    assert r.returncode == 0, r.stderr                      # skipped the shim, found the real as
    r = lvm_as(["--32", "-o", "k.o", "k.s"], tmp_path, env={"LVM_AS": str(shim)})
    assert r.returncode == 1 and "points back to an lvm wrapper" in r.stderr
    r = lvm_as(["--32", "-o", "k.o", "k.s"], tmp_path, env={"LVM_AS": "/nonexistent/as"})
    assert r.returncode == 1 and "LVM_AS=/nonexistent/as: no such program" in r.stderr


@pytest.mark.parametrize("sys_path", [None, "lvm-cc's"])
def test_shim_runs_this_lvm_whatever_the_environment(tmp_path, sys_path):
    # libexec/as starts Python isolated (-I -S): neither a `lvm` package in the current
    # directory nor PYTHONPATH is used; capstone comes from LVM_SYS_PATH (set by lvm-cc) or,
    # without it, from where site would have found it
    fake = tmp_path / "lvm"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise SystemExit('the wrong lvm')\n")
    write(tmp_path, "k.s", "\t.text\n\tcli\n\tmov %cr3, %eax\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LVM_")}
    env.update(PYTHONPATH=str(tmp_path), LVM_PYTHON=sys.executable)
    if sys_path:
        env["LVM_SYS_PATH"] = os.pathsep.join(sys.path)
    r = subprocess.run([str(ROOT / "toolchain/lvm/libexec/as"), "--32", "-o", "k.o", "k.s"], cwd=tmp_path,
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    real_as(["--32", "-o", "plain.o", "k.s"], tmp_path)
    assert text_bytes(tmp_path / "k.o") != text_bytes(tmp_path / "plain.o")      # rewritten


# -- hostile input: a located error or success, never a traceback ----------------------------
LVM = [sys.executable, "-c", "from lvm.cli import main; main(prog_name='lvm')"]


def lvm_rewrite(args, cwd, stdin=None):
    return subprocess.run(LVM + ["rewrite"] + args, cwd=cwd, input=stdin, capture_output=True, env=ENV)


def test_a_file_that_includes_itself_is_a_located_error(tmp_path):
    # gas nests it until it runs out of file descriptors, then says
    # `self.s:3: Error: can't open self.s for reading: Too many open files`
    write(tmp_path, "self.s", "\t.text\n\tnop\n\t.include \"self.s\"\n")
    ref = real_as(["--32", "-o", "r.o", "self.s"], tmp_path)
    assert ref.returncode == 1 and "self.s:3: Error: can't open self.s for reading" in ref.stderr
    r = lvm_as(["--32", "-o", "s.o", "self.s"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("self.s:3: error: can't open self.s for reading: it is being included")
    assert not (tmp_path / "s.o").exists()
    r = lvm_rewrite(["self.s"], tmp_path)
    assert r.returncode == 1 and r.stderr.decode().startswith("self.s:3: error: can't open self.s")


def test_includes_in_a_cycle_and_too_deep(tmp_path):
    write(tmp_path, "a.s", "\tnop\n\t.include \"b.s\"\n")
    write(tmp_path, "b.s", "\tcli\n\n\t.include \"a.s\"\n")
    r = lvm_as(["--32", "-o", "a.o", "a.s"], tmp_path)
    assert r.returncode == 1 and r.stderr.startswith("b.s:3: error: can't open a.s for reading")
    for i in range(120):
        write(tmp_path, "f%d.s" % i, "\t.include \"f%d.s\"\n" % (i + 1))
    write(tmp_path, "f120.s", "\tcli\n")
    r = lvm_as(["--32", "-o", "f.o", "f0.s"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("f99.s:1: error: can't open f100.s for reading: includes nested more than 100")
    r = lvm_as(["--32", "-o", "f.o", "f30.s"], tmp_path)         # 90 levels: fine, and rewritten
    assert r.returncode == 0, r.stderr
    assert text_bytes(tmp_path / "f.o") != b"\xfa"


def test_the_same_file_included_twice_in_a_row_is_no_cycle(tmp_path):
    write(tmp_path, "m.s", "\tcli\n")
    write(tmp_path, "t.s", "\t.text\n\t.include \"m.s\"\n\t.include \"m.s\"\n")
    r = lvm_as(["--32", "-o", "t.o", "t.s"], tmp_path)
    assert r.returncode == 0, r.stderr


def test_binary_junk_is_text_to_lvm_rewrite_as_to_lvm_as(tmp_path):
    for seed in range(4):
        junk = bytes(random.Random(seed).randrange(256) for _ in range(3000))
        (tmp_path / "junk.s").write_bytes(junk)
        r = lvm_rewrite(["junk.s"], tmp_path)               # was a UnicodeDecodeError traceback
        assert r.returncode in (0, 1) and b"Traceback" not in r.stderr
        if r.returncode:
            assert r.stderr.decode(errors="replace").startswith("junk.s:")
        else:
            assert junk.startswith(r.stdout.split(b"\n")[0])
        r = lvm_as(["--32", "-o", "j.o", "junk.s"], tmp_path)
        assert r.returncode == 1 and "Traceback" not in r.stderr
    # bytes that are not UTF-8 go through unchanged (in a string, a comment)
    src = b"\t.text\n\tcli\n\t.ascii \"\xff\xfe\"\n# \xe9t\xe9\n"
    (tmp_path / "l1.s").write_bytes(src)
    r = lvm_rewrite(["l1.s", "--no-runtime"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split(b"\n")[2:] == src.split(b"\n")[2:]
    r = lvm_rewrite([], tmp_path, stdin=src)                        # standard input too
    assert r.returncode == 0 and b"\xff\xfe" in r.stdout
