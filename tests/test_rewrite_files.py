"""Fuzzing the rewriter with whole files: directives, macros, includes, separators.

test_rewrite_property.py varies lines; this varies what lies between them: section
switches and the section stack, 16-bit code, Intel syntax, macros defined in one file
and invoked in another, `.rept`/`.irp`, includes (asmfiles.py generates them).  For
every generated project, in both modes:

- the rewriter raises nothing but a located AsmError;
- what gas assembles before, it assembles after; `lvm check` then finds nothing
  (16-bit code accepted, as LVM_CHECK=code16 does);
- rewriting its own output changes no byte (lvm-as may see a file twice; labels may
  differ: a second pass sees the 16-bit code of an include from the file's start);
- trap mode only adds markers: without them (the input spells its own as
  `.byte 244`), its text assembles to the original's bytes, section by section;
- in sections that are not code, call mode calls none of lvm's subroutines.

`make test` runs a bounded number of examples; `make fuzz` runs many more
(LVM_FUZZ_FILES=N).
"""
import os
import subprocess

from hypothesis import HealthCheck, event, given, settings
from elftools.elf.elffile import ELFFile

from asmfiles import project
from lvm.check import check_file
from lvm.errors import AsmError
from lvm.rewrite import rewrite_text

EXAMPLES = int(os.environ.get("LVM_FUZZ_FILES", "150"))
SHF_EXECINSTR, SHF_ALLOC = 0x4, 0x2


def _write(d, files):
    for name, text in files.items():
        (d / name).write_text(text)


def _as(src, obj):
    r = subprocess.run(["as", "--32", "-I", str(src.parent), "-o", str(obj), str(src)],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr


def _sections(obj, code=False):
    """{name: bytes} of the allocated sections that hold no code (or all of them)."""
    out = {}
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        for sec in elf.iter_sections():
            flags = sec["sh_flags"]
            if flags & SHF_ALLOC and (code or not flags & SHF_EXECINSTR) and sec["sh_type"] == "SHT_PROGBITS":
                out[sec.name] = sec.data()
    return out


def _runtime_calls_outside_code(obj):
    """[(section, symbol)] of relocations in sections that are not code to lvm's
    runtime subroutines (`__lvm_...`)."""
    out = []
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        for rel in elf.iter_sections():
            if rel["sh_type"] != "SHT_REL":
                continue
            target = elf.get_section(rel["sh_info"])
            if target["sh_flags"] & SHF_EXECINSTR:
                continue
            for r in rel.iter_relocations():
                name = symtab.get_symbol(r["r_info_sym"]).name
                if name.startswith("__lvm_"):
                    out.append((target.name, name))
    return out


def _rewrite(path, mode):
    return rewrite_text(path.read_text(), mode, filename=str(path), include_dirs=[str(path.parent)])


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(project())
def test_whole_files_rewrite_to_what_assembles_and_checks_clean(tmp_path_factory, files):
    d = tmp_path_factory.mktemp("p")
    _write(d, files)
    main = d / "main.s"
    results = {}
    for mode in ("call", "trap"):
        try:
            results[mode] = _rewrite(main, mode)
        except AsmError as e:
            assert ": error: " in str(e), e
            event("refused by lvm-as")
            return
    assert results["call"].rewritten == results["trap"].rewritten
    ok, _ = _as(main, d / "orig.o")
    if not ok:
        event("refused by gas")
        return
    event("assembled")
    for mode, res in results.items():
        src = d / ("%s.s" % mode)
        src.write_text(res.text)
        ok, err = _as(src, d / ("%s.o" % mode))
        assert ok, "%s mode: the rewritten file does not assemble:\n%s\n%s" % (mode, err, _show(files))
        assert check_file(str(d / ("%s.o" % mode)), allow_code16=True) == [], (mode, _show(files), res.text)
        again = d / ("%s-again.s" % mode)
        again.write_text(_rewrite(src, mode).text)
        ok, err = _as(again, d / ("%s-again.o" % mode))
        assert ok, err
        assert _sections(d / ("%s-again.o" % mode), code=True) == _sections(d / ("%s.o" % mode), code=True), \
            (mode, _show(files))
    bare = d / "unmarked.s"
    bare.write_text(results["trap"].text.replace(".byte 0xf4; ", ""))
    ok, err = _as(bare, d / "unmarked.o")
    assert ok, err
    assert _sections(d / "unmarked.o", code=True) == _sections(d / "orig.o", code=True), _show(files)
    # call mode rewrites code outside code sections in forms that work wherever the bytes
    # run: no call to lvm's linked subroutines from there
    assert _runtime_calls_outside_code(d / "call.o") == [], _show(files)


def _show(files):
    return "\n".join("--- %s ---\n%s" % (n, t) for n, t in sorted(files.items()))


# -- what the fuzzer found, one case each (each failed before its fix) ----------------
def _check(d, text, name="r", allow_code16=True):
    src = d / (name + ".s")
    src.write_text(text)
    ok, err = _as(src, d / (name + ".o"))
    assert ok, err + text
    return check_file(str(d / (name + ".o")), allow_code16=allow_code16)


def _project(d, files, mode="call"):
    _write(d, files)
    return _rewrite(d / "main.s", mode)


def test_an_included_file_is_read_in_the_mode_the_include_left(tmp_path):
    # It was read by a fresh rewriter in 32-bit mode: 16-bit code got 32-bit templates.
    res = _project(tmp_path, {"main.s": "\t.code16\n\t.include \"i.s\"\n\t.code32\n",
                              "i.s": "\tmovl %cr0, %eax\n"})
    assert res.rewritten == 0
    assert _check(tmp_path, res.text) == []


def test_an_included_file_knows_the_includers_macros_and_sections(tmp_path):
    # A macro taking its instruction as a parameter, defined before the include: it was
    # left undecided in the included file; the section stack was the included file's own.
    res = _project(tmp_path, {
        "main.s": ".macro op_safe op\n1:\t\\op\n.endm\n\t.pushsection .text.x, \"ax\"\n"
                  "\t.include \"i.s\"\n\tcli\n",
        "i.s": "\top_safe rdmsr\n\t.popsection\n"})
    assert res.rewritten == 2 and res.undecided == [2]       # the definition, for the check
    assert _check(tmp_path, res.text, allow_code16=False) == []


def test_macro_names_ignore_case_as_in_gas(tmp_path):
    # gas expands `cli` as the macro CLI (macros before instructions, names in any case):
    # rewriting it as the instruction changed what the file does.
    res = _project(tmp_path, {"main.s": ".macro CLI\n\tnop\n.endm\n\tcli\n\tCli\n"})
    assert res.rewritten == 0 and res.text.split("\n")[3:5] == ["\tcli", "\tCli"]


def test_a_macro_that_invokes_itself_is_an_error_not_a_traceback(tmp_path):
    (tmp_path / "main.s").write_text(".macro Sti x\n\t\\x ; sti\n.endm\n\tSTI pushf\n")
    try:
        _rewrite(tmp_path / "main.s", "call")
    except AsmError as e:
        assert str(e).endswith(":4: error: macros nested too deeply"), e
    else:
        raise AssertionError("no error")


def test_a_section_switch_in_16_bit_mode_carries_the_region(tmp_path):
    # gas stays in 16-bit mode across a section switch; the region marked only the
    # section of the `.code16`, so the check decoded the other section as 32-bit code.
    src = ("\t.code16\n\tcli\n\t.pushsection .text.x, \"ax\"\n\tmovl %cr0, %eax\n\t.popsection\n"
           "\tmovl %cr0, %eax\n\t.code32\n\t.pushsection .text.x, \"ax\"\n\tmovl %cr0, %eax\n\t.popsection\n")
    for mode in ("call", "trap"):
        res = rewrite_text(src, mode)
        assert res.rewritten == 1                       # the 32-bit one only
        assert _check(tmp_path, res.text) == []
        found = _check(tmp_path, res.text, allow_code16=False)
        assert sorted((f.section, f.text, f.code16) for f in found) == [
            (".text", "cli", True), (".text", "movl %cr0, %eax", True), (".text.x", "movl %cr0, %eax", True)]
        assert rewrite_text(res.text, mode).text == res.text


def test_lvm_runtime_after_a_file_that_ends_in_16_bit_mode(tmp_path):
    # The runtime switches to 32-bit mode; its `.code32` did not end the region, and a
    # second pass then added an end label numbered 0.
    res = rewrite_text("\tcli\n\tpushf\n\t.code16\n\tcli\n", "call")
    assert ".code32; __lvm_code16_end_1:" in res.text
    assert _check(tmp_path, res.text) == []
    assert rewrite_text(res.text, "call").text == res.text
    found = _check(tmp_path, res.text, allow_code16=False)
    assert [(f.text, f.code16) for f in found] == [("cli", True)]     # the runtime is 32-bit code


def test_inputs_of_one_assembly_number_their_regions_in_one_sequence(tmp_path):
    # Each input had its own rewriter: two files with 16-bit code both defined
    # __lvm_code16_begin_1, and gas refused the assembly.
    from lvm.asdriver import rewrite_inputs
    for name in ("a.s", "b.s"):
        (tmp_path / name).write_text("\t.code16\n\tcli\n\t.code32\n\tcli\n")
    text = rewrite_inputs([str(tmp_path / "a.s"), str(tmp_path / "b.s")], "call", [], "att")
    assert _check(tmp_path, text) == []


def test_code_outside_code_sections_gets_the_form_that_runs_anywhere(tmp_path):
    # call mode's `call __lvm_emulate` is a relative call to linked code: wrong once
    # the bytes run where they were not linked (a blob in .data, copied at run time).
    src = "\t.data\nblob:\n\tinb $0x60, %al\n\t.section .text.y, \"ax\"\n\tinb $0x60, %al\n"
    res = rewrite_text(src, "call")
    assert res.text.split("\n")[2] == "\t.byte 0xf4; inb $0x60, %al"
    assert res.text.split("\n")[4] == "\tcall __lvm_emulate; inb $0x60, %al"


def test_bytes_of_an_instruction_after_data_end_the_data(tmp_path):
    # In a file with 16-bit code, data after a jump is skipped by the check up to the
    # next instruction; an instruction written as bytes counted as data, so its trap
    # marker lay inside the data range, and a second pass closed the range twice.
    src = ("\t.code16\n\tcli\n\t.code32\n\tjmp 9f\n\t.long 0x12345678\n9:\n"
           "\t.byte 0xf, 0x1, 0xc8\n\tret\n")
    res = rewrite_text(src, "trap")
    assert "__lvm_data_end_1: .byte 0xf4; .byte 0xf, 0x1, 0xc8" in res.text
    assert rewrite_text(res.text, "trap").text == res.text
    assert _check(tmp_path, res.text) == []


def test_a_comment_left_open_ends_with_its_file(tmp_path):
    # gas ends it there.  With the include read by the includer's rewriter (the fixes
    # above), the comment state carried over into the includer, and its code went
    # unrewritten; the inlined text now closes the comment where the file ends.
    res = _project(tmp_path, {"main.s": "\t.include \"i.s\"\n\tinb $0x60, %al\n", "i.s": "\tnop /* sti\n"})
    assert res.rewritten == 1
    assert _check(tmp_path, res.text, allow_code16=False) == []
    ok, _ = _as(tmp_path / "main.s", tmp_path / "orig.o")
    assert ok and len(_sections(tmp_path / "orig.o", True)[".text"]) == 3       # nop; inb
    res = rewrite_text("\tinb $0x60, %al\n/* open", "call")
    assert _check(tmp_path, res.text, allow_code16=False) == []
    assert "__lvm_emulate:" in res.text and rewrite_text(res.text, "call").text == res.text
