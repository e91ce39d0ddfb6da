"""lvm-as: a drop-in for GNU as that rewrites interesting instructions first.

It takes as's command line unchanged, reads the inputs (files, or standard input for
`-` or none, as gcc -pipe uses it), rewrites them (rewrite.py), runs the real
assembler (LVM_AS, or the first `as` on PATH that is not this wrapper), passes its
output and exit status through, and then disassembles the object it produced with
`lvm check`: an interesting instruction that escaped rewriting (`.byte`, `.insn`, a
macro whose mnemonic is a parameter) fails the assembly, and no object is left.

Settings (environment, or the same-named options, which are removed before as runs):
  LVM_MODE=call|trap     --lvm-mode=...   rewriting mode (default call)
          |user                           user code in a kernel (signal trampolines, the
                                          vDSO: code the kernel maps into its processes,
                                          which run it in ring 3): assembled as written
                                          but for `sysenter`, which becomes a far call to
                                          lvm's user system-call gate (templates/
                                          user_gate.j2); its code sections marked
                                          __lvm_user_begin/_end for the check
  LVM_CHECK=1|0|code16   --lvm-check=...  run the check; `code16` accepts 16-bit code
  LVM_KEEP_ASM=1|DIR     keep the rewritten source (next to the object, or in DIR)
"""
import os
import sys

from .errors import AsmError, LvmError
from .toolpath import expand_response_files, find_real_tool

# as options whose value is the next argument.
_WITH_ARG = {"-o", "-I", "--defsym", "--MD", "--debug-prefix-map", "-MD", "--gdwarf-cie-version",
             "-march", "-mtune"}
_INFO_ONLY = {"--version", "-v", "-V", "--help", "--target-help"}


def _parse(args):
    """Split as's arguments into (options with inputs replaced by None slots, inputs)."""
    opts, inputs, out, include, i = [], [], None, [], 0
    syntax = "att"
    while i < len(args):
        a = args[i]
        if a in _WITH_ARG and i + 1 < len(args):
            opts += [a, args[i + 1]]
            if a == "-o":
                out = args[i + 1]
            elif a == "-I":
                include.append(args[i + 1])
            i += 2
            continue
        if a.startswith("-o") and len(a) > 2:
            out = a[2:]
        elif a.startswith("-I") and len(a) > 2:
            include.append(a[2:])
        elif a in ("-msyntax=intel", "-mmnemonic=intel"):
            syntax = "intel"
        if a == "-" or not a.startswith("-"):
            inputs.append(a)
            opts.append(None)
        else:
            opts.append(a)
        i += 1
    return opts, inputs, out or "a.out", include, syntax


def _settings(args):
    mode = os.environ.get("LVM_MODE", "call")
    check = os.environ.get("LVM_CHECK", "1")
    rest = []
    for a in args:
        if a.startswith("--lvm-mode="):
            mode = a.split("=", 1)[1]
        elif a.startswith("--lvm-check="):
            check = a.split("=", 1)[1]
        else:
            rest.append(a)
    if mode not in ("call", "trap", "user"):
        raise LvmError("LVM_MODE must be `call`, `trap` or `user`, not %r" % mode)
    if check not in ("0", "1", "code16"):
        raise LvmError("LVM_CHECK must be 0, 1 or code16, not %r" % check)
    return mode, check, rest


def read_source(name):
    """(text, name to show) of an input: its bytes as UTF-8, any other byte kept as a
    surrogate escape (so binary junk is text to the rewriter, and comes back unchanged)."""
    if name == "-":
        return sys.stdin.buffer.read().decode("utf-8", "surrogateescape"), "{standard input}"
    try:
        with open(name, "rb") as f:
            return f.read().decode("utf-8", "surrogateescape"), name
    except OSError as e:
        raise LvmError("can't open %s for reading: %s" % (name, e.strerror))


def rewrite_inputs(inputs, mode, include, syntax):
    """Rewrite every input; returns one text, each part introduced by a line marker."""
    from .rewrite import Rewriter
    parts, rw = [], None
    for name in inputs or ["-"]:
        text, shown = read_source(name)
        if rw is None:
            rw = Rewriter(mode, shown, include, syntax)
        rw.next_input(shown)                   # one stream, as gas reads its inputs
        parts.append('# 1 "%s"\n%s' % (shown.replace('"', '\\"'), rw.rewrite(text).text))
    text = "\n".join(parts)
    runtime = rw.runtime_text()
    return text + "\n" + runtime if runtime else text


def _keep(text, out):
    where = os.environ.get("LVM_KEEP_ASM")
    if not where or where == "0":
        return
    if os.path.isdir(where):
        dest = os.path.join(where, os.path.basename(out) + ".lvm.s")
    else:
        dest = out + ".lvm.s"
    with open(dest, "w", errors="surrogateescape") as f:
        f.write(text)


def _check(out, policy):
    if policy == "0" or not os.path.isfile(out):
        return 0
    from .check import check_file, format_finding
    findings = check_file(out, allow_code16=(policy == "code16"))
    if policy == "code16" and not findings:
        return _accept_code16(out)
    for f in findings:
        sys.stderr.write("lvm-as: error: %s\n" % format_finding(f))
    if findings:
        sys.stderr.write("lvm-as: %d interesting instruction(s) escaped rewriting; %s removed "
                         "(LVM_CHECK=0 disables this check, LVM_CHECK=code16 accepts 16-bit code)\n"
                         % (len(findings), out))
        os.unlink(out)
        return 1
    return 0


def _accept_code16(out):
    """Record in the object that its 16-bit code was accepted (LVM_CHECK=code16), so
    that `lvm check` on a kernel linked from it accepts it too: a file-local symbol."""
    from .check import CODE16_ACCEPTED, CODE16_BEGIN
    from . import elfread
    data = elfread.read_file(out)
    _, secs = elfread.sections(out, data)
    _, syms = elfread.symbols(data, secs)
    if not any(s.name.startswith(CODE16_BEGIN) for s in syms):
        return 0
    rc = _call([find_real_tool("objcopy", "LVM_OBJCOPY"), "--add-symbol",
                "%s=0,local" % CODE16_ACCEPTED, out])
    if rc != 0:
        os.unlink(out)
    return rc


def _mark_user_code(out):
    """Label every code section of `out` from its start to its end as user code, which
    `lvm check` does not decode (here, and in the kernel linked from it)."""
    from . import elfread
    from .check import SHF_EXECINSTR, SHT_PROGBITS, USER_BEGIN, USER_END
    data = elfread.read_file(out)
    _, secs = elfread.sections(out, data)
    args = []
    for sec in secs:
        if sec.type == SHT_PROGBITS and sec.flags & SHF_EXECINSTR and sec.size:
            args += ["--add-symbol", "%s%d=%s:0,local" % (USER_BEGIN, sec.index, sec.name),
                     "--add-symbol", "%s%d=%s:%d,local" % (USER_END, sec.index, sec.name, sec.size)]
    if not args:
        return 0
    rc = _call([find_real_tool("objcopy", "LVM_OBJCOPY")] + args + [out])
    if rc != 0:
        os.unlink(out)
    return rc


# lvm-as runs once per object of a build, so it avoids the imports it can: subprocess
# and tempfile cost ~10 ms each, more than rewriting a typical object.
def _call(argv):
    """subprocess.call(argv): run with our stdio, wait, return the exit status (-N: signal N)."""
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ)
    except OSError as e:
        raise LvmError("cannot run %s: %s" % (argv[0], e.strerror))
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _temp_source(text):
    """Write text to a new private file in $TMPDIR (or /tmp); returns its name."""
    tmpdir = os.environ.get("TMPDIR") or "/tmp"
    for n in range(1000):
        name = os.path.join(tmpdir, "lvm-as-%d-%d.s" % (os.getpid(), n))
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        except OSError as e:
            raise LvmError("cannot create a temporary file in %s: %s" % (tmpdir, e.strerror))
        with open(fd, "w", errors="surrogateescape") as f:
            f.write(text)
        return name
    raise LvmError("cannot create a temporary file in %s" % tmpdir)


def run(argv):
    args = expand_response_files(argv)
    mode, policy, args = _settings(args)
    real = find_real_tool("as", "LVM_AS")
    if not args or set(args) & _INFO_ONLY and not [a for a in args if not a.startswith("-")]:
        return _call([real] + args)
    if "--32" not in args:
        # Not assembling for i386 (as defaults to 64-bit here): nothing of ours applies.
        return _call([real] + args)
    opts, inputs, out, include, syntax = _parse(args)
    try:
        text = rewrite_inputs(inputs, mode, include, syntax)
    except LvmError:
        if os.path.isfile(out) and out not in inputs:
            os.unlink(out)  # like as: a failed assembly leaves no (stale) object
        raise
    _keep(text, out)
    tmp = _temp_source(text)
    try:
        rc = _call([real] + [a for a in opts if a is not None] + [tmp])
    finally:
        os.unlink(tmp)
    if rc != 0:
        return rc
    if mode == "user":
        return _mark_user_code(out)
    return _check(out, policy)


def main(argv=None):
    try:
        sys.exit(run(sys.argv[1:] if argv is None else argv))
    except AsmError as e:
        sys.stderr.write("%s\n" % e)
        sys.exit(1)
    except LvmError as e:
        sys.stderr.write("lvm-as: error: %s\n" % e)
        sys.exit(1)


def shim_main():
    """main() for the `as` shim (libexec/as).  It starts Python with -I -S (no site, ~3 ms
    a run, and nothing from the environment or the current directory on sys.path), so
    the directories lvm-cc found its modules in, LVM_SYS_PATH, are added here, where
    capstone, jinja2... are imported from; without it, site does what it would have done."""
    extra = os.environ.get("LVM_SYS_PATH")
    if extra is None:
        import site
        site.main()
    else:
        sys.path += [p for p in extra.split(os.pathsep) if p and p not in sys.path]
    main()


if __name__ == "__main__":
    main()
