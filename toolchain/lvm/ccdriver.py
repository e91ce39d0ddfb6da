"""lvm-cc: a drop-in for gcc and clang whose compilations assemble with lvm-as.

Why it exists: a kernel's build system knows how to call a C compiler, not a
rewriter.  Interesting instructions come from C (inline asm, builtins), from .S files
and from .s files alike, and the one place all of them pass through is the assembler.
So lvm-cc, like ccache or AFL++'s afl-cc, takes the compiler's command line unchanged
and runs the real compiler (LVM_CC, default `gcc`) with `-B <libexec>/` added, where
an `as` shim runs lvm-as; for clang it also appends `-fno-integrated-as`, last, so it
wins over a `-fintegrated-as` from the build.  `CC=lvm-cc make` then rewrites every
object of the build, and the compiler's stdout, stderr, exit status and dependency
files are its own (lvm-cc ends by exec'ing the compiler).

Calls that never assemble run the compiler untouched (no -B): -E, -M/-MM without
-MD/-MMD, -fsyntax-only, --version, --help, -dumpversion/-dumpfullversion/-dumpmachine/
-dumpspecs, -print-*, -### and calls without a source input (link-only, or only -v).
So `-print-prog-name=as` prints the real as, and `-###` shows no shim.  Kbuild's
`-Wp,-MMD,file` is an ordinary compile.  What stays different: COLLECT_GCC (in -v
output) is the real compiler's full path; with clang, lvm-cc is `clang
-fno-integrated-as`, so `-c -o -` fails as it does with gcc (GNU as cannot write an
object to stdout) and `-Wa,--version` prints GNU as's version.

`-S` writes the compiler's assembly *unrewritten*, i.e. exactly what lvm-as gets in
a `-c`, so `lvm-cc -S x.c; lvm-cc -c x.s` gives the same object as `lvm-cc -c x.c`
(-save-temps keeps the same unrewritten .s).  To see the rewritten text, use
--lvm-keep-asm or `lvm-as`.

Our own options (a value follows `=`, never a space), removed before the compiler runs and
handed to lvm-as as environment:
  --lvm-mode=call|trap|user LVM_MODE       --lvm-check=0|1|code16   LVM_CHECK
  --lvm-keep-asm[=DIR]      LVM_KEEP_ASM   (the rewritten .s next to the object, or in DIR)
`@file` response files are expanded to look at the arguments; the compiler gets the
original arguments unless a response file holds one of our options.

ccache: `CC="ccache lvm-cc"` works (`lvm-cc --version` is the compiler's, -E passes
through), but ccache hashes lvm-cc's arguments and mtime, not the environment: give
the mode as --lvm-mode=... in CFLAGS, not as LVM_MODE, and run `ccache -C` after
upgrading lvm.  `LVM_CC="ccache gcc"` works too and is keyed correctly: lvm-cc adds
the mode, the check policy and a stamp of the lvm sources to CCACHE_NAMESPACE.
LVM_CC is `[ccache|sccache] compiler [extra args...]`.
"""
import os
import sys

from .errors import LvmError
from .toolpath import LIBEXEC, expand_response_files, find_real_tool

_OWN = {"--lvm-mode": "LVM_MODE", "--lvm-check": "LVM_CHECK", "--lvm-keep-asm": "LVM_KEEP_ASM"}
_CHOICES = {"LVM_MODE": ("call", "trap", "user"), "LVM_CHECK": ("0", "1", "code16")}
_NO_ASSEMBLY = {"-E", "-fsyntax-only", "--version", "--help", "--target-help", "-###",
                "-dumpversion", "-dumpfullversion", "-dumpmachine", "-dumpspecs"}
# Options whose value is the next argument (gcc and clang); the value is not an input.
_WITH_ARG = {"-o", "-x", "-I", "-D", "-U", "-include", "-imacros", "-isystem", "-idirafter",
             "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-isysroot", "-imultilib",
             "-iquote", "-MF", "-MT", "-MQ", "-L", "-l", "-Xlinker", "-Xassembler",
             "-Xpreprocessor", "-Xclang", "-Xanalyzer", "-mllvm", "-aux-info", "-T", "-u",
             "-e", "-z", "--param", "-B", "-target", "-arch", "-dumpdir", "-dumpbase",
             "-dumpbase-ext", "-wrapper", "--sysroot", "-gcc-toolchain", "-resource-dir",
             "-include-pch", "-iframework", "-F", "-MJ", "-ivfsoverlay", "-isystem-after",
             "-cxx-isystem", "-working-directory", "--serialize-diagnostics", "-specs"}
# Inputs the driver compiles or assembles (without -x); anything else goes to the linker.
_SOURCES = set("c i ii h cc cp cxx cpp CPP c++ C hh H hp hxx hpp HPP h++ tcc m mi mm M mii "
               "s S sx f for ftn F FOR FTN fpp FPP f90 f95 f03 f08 F90 F95 F03 F08 go d di dd "
               "ads adb ll bc cu cl".split())
_LAUNCHERS = {"ccache", "sccache"}


def split_own(args):
    """Remove our options; returns ({env var: value}, the other arguments)."""
    env, rest = {}, []
    for a in args:
        name, eq, value = a.partition("=")
        if name in _OWN and not eq and name != "--lvm-keep-asm":
            # `--lvm-mode trap` would hand `trap` to the compiler as an input file
            raise LvmError("%s needs a value: %s=%s" % (name, name, "|".join(_CHOICES[_OWN[name]])))
        if name in _OWN and (eq or name == "--lvm-keep-asm"):
            if name == "--lvm-keep-asm":
                value = os.path.abspath(value) if eq and value not in ("0", "1") else value or "1"
            env[_OWN[name]] = value
        else:
            rest.append(a)
    return env, rest


def needs_lvm_as(args):
    """True if this compiler call may assemble something (the rest passes through)."""
    lang, sources, i = None, 0, 0
    if "-M" in args or "-MM" in args:
        if "-MD" not in args and "-MMD" not in args:
            return False
    while i < len(args):
        a = args[i]
        if a in _NO_ASSEMBLY or a.startswith(("-print-", "--print-")):
            return False
        if a in _WITH_ARG:
            if a == "-x" and i + 1 < len(args):
                lang = None if args[i + 1] == "none" else args[i + 1]
            i += 2
            continue
        if a.startswith("-x") and len(a) > 2:
            lang = None if a[2:] == "none" else a[2:]
        elif a == "-" or (not a.startswith("-") and (lang or a.rpartition(".")[2] in _SOURCES
                                                      and "." in os.path.basename(a))):
            sources += 1
        i += 1
    return sources > 0


def _which(word, spec):
    import shutil
    found = shutil.which(word)
    if not found:
        raise LvmError("LVM_CC=%s: no such program" % spec)
    return found


def real_compiler():
    """The command that runs the real compiler: [launcher...] compiler [extra args...]."""
    spec = os.environ.get("LVM_CC", "").strip()
    if not spec:
        return [], find_real_tool("gcc", "LVM_CC"), []
    import shlex
    words = shlex.split(spec)
    launcher = []
    if len(words) > 1 and os.path.basename(words[0]) in _LAUNCHERS:
        launcher = [_which(words[0], spec)]
        words = words[1:]
    os.environ["LVM_CC"] = words[0]
    try:
        compiler = find_real_tool("gcc", "LVM_CC")
    except LvmError as e:
        raise LvmError(str(e).replace("LVM_CC=%s" % words[0], "LVM_CC=%s" % spec))
    finally:
        os.environ["LVM_CC"] = spec
    return launcher, compiler, words[1:]


def _cache_dir():
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lvm")


def is_clang(path, extra=()):
    """Is `path` clang?  By its (resolved) name, else by `--version`, cached per path+mtime."""
    name = os.path.basename(os.path.realpath(path))
    if "clang" in name:
        return True
    if "gcc" in name or "g++" in name:
        return False
    cache = os.path.join(_cache_dir(), "cc-kind")
    key = "%s\t%d\t" % (path, os.stat(path).st_mtime_ns)
    try:
        with open(cache) as f:
            for line in f:
                if line.startswith(key):
                    return line[len(key):].strip() == "clang"
    except OSError:
        pass
    import subprocess
    try:
        out = subprocess.run([path, *extra, "--version"], stdin=subprocess.DEVNULL,
                             capture_output=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        out = b""
    kind = "clang" if b"clang" in out else "gcc"
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(cache, "a") as f:
            f.write(key + kind + "\n")
    except OSError:
        pass
    return kind == "clang"


# `lvm run`'s code: it decides nothing about an object (scripts/linux-build.py too)
_NOT_STAMPED = ("runner.py",)


def _stamp():
    """Changes whenever the lvm sources do (for CCACHE_NAMESPACE): the newest mtime of
    the rewriter, its templates, the guest subroutines and the vCPU page's headers,
    or LVM_CCACHE_STAMP if the caller hashed their contents (scripts/linux-build.py)."""
    from . import __version__
    given = os.environ.get("LVM_CCACHE_STAMP")
    if given:
        return "%s.%s" % (__version__, given)
    here = os.path.dirname(os.path.abspath(__file__))
    # runtime/include/lvm: vcpu.h is the vCPU page layout the templates are rendered with
    dirs = [here, os.path.join(here, "templates"), os.path.join(here, "..", "..", "runtime", "guest"),
            os.path.join(here, "..", "..", "runtime", "include", "lvm")]
    newest = 0
    for d in dirs:
        try:
            newest = max([newest] + [e.stat().st_mtime_ns for e in os.scandir(d)
                                     if e.is_file() and e.name not in _NOT_STAMPED])
        except OSError:
            pass
    return "%s.%x" % (__version__, newest)


def plan(argv):
    """What to run: (argv of the compiler, environment to add)."""
    own, view = split_own(expand_response_files(argv))
    rest = split_own(argv)[1]
    if expand_response_files(rest) != view:
        rest = view                           # a response file holds one of our options
    launcher, compiler, extra = real_compiler()
    if not needs_lvm_as(view):
        return launcher + [compiler] + extra + rest, {}
    env = {}
    for var in ("LVM_MODE", "LVM_CHECK", "LVM_KEEP_ASM"):
        value = own.get(var, os.environ.get(var))
        if value is None:
            continue
        if var in _CHOICES and value not in _CHOICES[var]:
            raise LvmError("%s must be %s, not %r" % (var, ", ".join(_CHOICES[var][:-1]) + " or " + _CHOICES[var][-1], value))
        env[var] = value
    keep = env.get("LVM_KEEP_ASM")
    if keep and keep not in ("0", "1"):
        try:
            os.makedirs(keep, exist_ok=True)
        except OSError as e:
            raise LvmError("--lvm-keep-asm=%s: %s" % (keep, e.strerror))
    shim = os.path.join(LIBEXEC, "as")
    if not os.access(shim, os.X_OK):
        raise LvmError("%s is missing or not executable: the compiler would use the real as" % shim)
    # The shim starts lvm-as with this interpreter, isolated and without site (-I -S),
    # so it is told where our dependencies are: this process's sys.path.
    env["LVM_PYTHON"] = sys.executable
    env["LVM_SYS_PATH"] = os.pathsep.join(sys.path)
    if launcher and os.path.basename(launcher[0]) == "ccache":
        ns = "lvm-%s-%s-%s" % (env.get("LVM_MODE", "call"), env.get("LVM_CHECK", "1"), _stamp())
        old = os.environ.get("CCACHE_NAMESPACE")
        env["CCACHE_NAMESPACE"] = ns + ("-" + old if old else "")
        # The -B path is where this checkout is: not part of the key (the namespace
        # stands for lvm's sources), so another checkout of the same lvm gets the hits.
        ignore = os.environ.get("CCACHE_IGNOREOPTIONS")
        env["CCACHE_IGNOREOPTIONS"] = "-B*" + (" " + ignore if ignore else "")
    cmd = launcher + [compiler] + extra + ["-B" + LIBEXEC + os.sep] + rest
    if is_clang(compiler, extra):
        cmd.append("-fno-integrated-as")
    return cmd, env


def main(argv=None):
    try:
        cmd, env = plan(sys.argv[1:] if argv is None else argv)
    except LvmError as e:
        sys.stderr.write("lvm-cc: error: %s\n" % e)
        sys.exit(1)
    os.environ.update(env)
    try:
        os.execv(cmd[0], cmd)
    except OSError as e:
        sys.stderr.write("lvm-cc: error: cannot run %s: %s\n" % (cmd[0], e.strerror))
        sys.exit(127)


if __name__ == "__main__":
    main()
