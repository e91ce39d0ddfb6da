#!/usr/bin/env python3
"""Build NetBSD/i386 for lvm: `make netbsd` (this script) -> out/netbsd/<mode>/netbsd.

From a NetBSD source tree (--src, NETBSD_SRC, default ../shared/netbsd/src: `sys`,
`common`, `share/mk`, `usr.bin/config`, `usr.bin/genassym`, `usr.bin/cksum/crc.c`), for
each mode (default: call, trap, native):

  source   a copy of the tree made of hard links, with patches/netbsd/*.patch applied
           (each patch says why); the tree itself is never changed.  One copy per
           state of the tree (its files' count and newest mtime) and set of patches.
  tools    the host tools NetBSD's build makes for itself (its build.sh "tools"),
           here only what a kernel needs: config(1) from usr.bin/config, compiled
           against glibc with libbsd and patches/netbsd/host/ (nbtool_config.h,
           efun(3), crc.c's header); genassym(1) (a shell script); lorder(1) for the
           library rules; Debian's bmake reads the tree's share/mk (-m).
  config   config(1) on patches/netbsd/LVM into the mode's build directory
  kernel   `make`, CC="scripts/netbsd-cc MODE" (lvm-cc for call and trap, gcc for
           native: see that script for what a Linux-hosted gcc needs to build NetBSD)
  root     out/netbsd/root.img: FFS (makefs) with the project's /sbin/init
           (guests/netbsd/init, host gcc), Debian's static busybox and the device
           nodes of patches/netbsd/root.spec; see root_image().  --root-only makes
           only this.

Caching.  Each mode builds in <cache>/netbsd-build/<mode>-<key> (<cache>: LVM_CACHE or
~/.cache/lvm), <key> hashing the state of the tree (its files' count and newest mtime),
the patches, the kernel configuration, this recipe and, for call and trap, lvm's
rewriting inputs (toolchain/lvm, runtime/guest, runtime/include/lvm, scripts/netbsd-cc):
a change to any of them gives a new directory, where every object is compiled again
through ccache (<cache>/ccache), which hashes each preprocessed source: what an edit
did not touch is a hit.  (No `make depend`: NetBSD's mk files want NetBSD's mkdep, and
a new directory per state of the tree needs no header dependencies.)  The full output of make goes to
<dir>/build.log; on failure its path and last lines are printed.

Environment: NETBSD_SRC, LVM_CACHE, CCACHE_DISABLE=1, NETBSD_JOBS.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guestbuild  # noqa: E402
from guestbuild import (ROOT, BuildError, Say, cache_root, ccache_stats, ccache_summary,  # noqa: E402
                        cpu_children, install, lvm_digest, patched_copy, patches_digest, prune)

PATCHES = ROOT / "patches" / "netbsd"
KERNCONF = PATCHES / "LVM"
HOST = PATCHES / "host"
MODES = ("call", "trap", "native")
RECIPE = "5"               # bump when the way a kernel is built here changes
# The parts of a NetBSD tree a kernel build reads.
PARTS = ("sys", "common", "share/mk", "usr.bin/config", "usr.bin/genassym", "usr.bin/cksum")
CONFIG_SRCS = ("files", "hash", "lint", "main", "mkdevsw", "mkheaders", "mkioconf", "mkmakefile",
               "mkswap", "pack", "sem", "util")
ENV_KEEP_OUT = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS", ".MAKE.LEVEL.ENV")


def netbsd_tree(arg):
    tree = Path(arg or os.environ.get("NETBSD_SRC") or ROOT.parent / "shared" / "netbsd" / "src")
    missing = [p for p in PARTS[:-1] if not (tree / p).is_dir()]
    if missing:
        raise BuildError("%s is not a NetBSD source tree (no %s): point NETBSD_SRC at the `src` "
                         "directory of one" % (tree, ", ".join(missing)))
    return tree.resolve()


def tree_state(tree):
    """A cheap fingerprint of the tree: its path, how many files it has, the newest
    mtime (an edit, a new file or an update all change it)."""
    count, newest = 0, 0
    for part in PARTS:
        for top, dirs, files in os.walk(str(tree / part)):
            for f in files:
                count += 1
                try:
                    newest = max(newest, os.lstat(os.path.join(top, f)).st_mtime_ns)
                except OSError:
                    pass
    return hashlib.sha256(("%s\0%d\0%d" % (tree, count, newest)).encode()).hexdigest()


def patch_files():
    return sorted(PATCHES.glob("*.patch"))


def source_copy(say, tree, state):
    files = patch_files()
    name = "%s-%s" % (state[:12], patches_digest(files)[:12])
    base = cache_root() / "netbsd-src"
    dst = patched_copy(say, [(p, tree / p) for p in PARTS if (tree / p).exists()], base / name, files)
    prune(base, "", dst)
    return dst


def run(cmd, log, cwd=None, env=None):
    with open(log, "a") as f:
        f.write("\n$ %s\n" % " ".join(cmd))
        f.flush()
        return subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL).returncode


def tail(log, n=40):
    lines = Path(log).read_text(errors="replace").splitlines()
    return "\n".join("    " + l for l in lines[-n:])


def host_tools(say, src):
    """<cache>/netbsd-tools/<key>/bin with config, genassym, lorder."""
    h = hashlib.sha256(RECIPE.encode())
    genassym = src / "usr.bin" / "genassym" / "genassym.sh"
    for p in sorted((src / "usr.bin" / "config").iterdir()) + sorted(HOST.iterdir()) + [
            src / "usr.bin" / "cksum" / "crc.c", genassym]:
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    base = cache_root() / "netbsd-tools"
    out = base / h.hexdigest()[:12]
    bindir = out / "bin"
    if (bindir / "config").is_file():
        say("tools: built before (%s)" % bindir)
        return bindir
    t0 = time.monotonic()
    shutil.rmtree(out, ignore_errors=True)
    work = out / "config"
    work.mkdir(parents=True)
    bindir.mkdir()
    log = out / "build.log"
    cdir = src / "usr.bin" / "config"
    for tool, args in (("byacc", ["-d", "-o", "gram.c", str(cdir / "gram.y")]),
                       ("flex", ["-o", "scan.c", str(cdir / "scan.l")])):
        if not shutil.which(tool):
            raise BuildError("tools: %s is missing (run `make setup`)" % tool)
        if run([tool] + args, log, cwd=str(work)):
            raise BuildError("tools: %s failed:\n%s" % (tool, tail(log)))
    cflags = ["-O1", "-fcommon", "-DYYDEBUG=1", "-DHAVE_NBTOOL_CONFIG_H=1", "-include",
              str(HOST / "nbtool_config.h"), "-I%s" % HOST, "-I%s" % cdir, "-I.",
              "-isystem", "/usr/include/bsd", "-DLIBBSD_OVERLAY"]
    sources = [cdir / (s + ".c") for s in CONFIG_SRCS] + [
        work / "gram.c", work / "scan.c", src / "usr.bin" / "cksum" / "crc.c", HOST / "efun.c"]
    objs = []
    for s in sources:
        o = work / (s.stem + ".o")
        if run(["gcc"] + cflags + ["-c", str(s), "-o", str(o)], log, cwd=str(work)):
            raise BuildError("tools: compiling %s failed (libbsd-dev installed?):\n%s" % (s, tail(log)))
        objs.append(str(o))
    if run(["gcc", "-o", str(bindir / "config")] + objs + ["-lbsd"], log, cwd=str(work)):
        raise BuildError("tools: linking config failed:\n%s" % tail(log))
    # genassym(1) is a shell script run with awk: copied, not referred to, since the
    # tools outlive the patched source copy they were built from (a patch change
    # makes a new copy and prunes the old one; the tools' key does not change).
    # lorder(1) lists which objects of a library need which: NetBSD's library rules
    # sort the archive by it (tsort).  GNU ld reads an archive by its symbol index
    # whatever the order, so each object depends only on itself here.
    shutil.copyfile(str(genassym), str(bindir / "genassym"))
    (bindir / "lorder").write_text('#!/bin/sh\n# lvm: every object on its own (see netbsd-build.py)\n'
                                   'for f; do echo "$f $f"; done\n')
    for t in ("genassym", "lorder"):
        (bindir / t).chmod(0o755)
    prune(base, "", out)
    say("tools: config, genassym, lorder (%.1fs)" % (time.monotonic() - t0))
    return bindir


def make_env(bindir, extra):
    env = dict(os.environ, LC_ALL="C")
    for var in ENV_KEEP_OUT:
        env.pop(var, None)
    env["PATH"] = os.pathsep.join([str(bindir), str(ROOT / ".venv" / "bin"), env.get("PATH", "")])
    env.update(extra)
    return env


_STEP = re.compile(r"^#\s+(compile|create|link|build)\s+(\S+)")


def bmake(say, stage, src, out, variables, env, targets, log, jobs):
    cmd = ["bmake", "-m", str(src / "share" / "mk"), "-j%d" % jobs] + [
        "%s=%s" % kv for kv in variables.items()] + targets
    t0 = last = time.monotonic()
    steps, latest, tail_lines = 0, "", []
    with open(log, "a") as f:
        f.write("\n$ %s\n" % " ".join(cmd))
        f.flush()
        p = subprocess.Popen(cmd, cwd=str(out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, errors="replace", env=env, stdin=subprocess.DEVNULL)
        for line in p.stdout:
            f.write(line)
            tail_lines.append(line)
            if len(tail_lines) > 400:
                del tail_lines[:200]
            m = _STEP.match(line)
            if m:
                steps += 1
                latest = m.group(2)
            now = time.monotonic()
            if now - last >= 60:
                say("%s: %d steps so far (%s)" % (stage, steps, latest))
                last = now
        rc = p.wait()
    if rc:
        refused = [l.rstrip() for l in tail_lines if l.startswith("lvm-as:") or ": error:" in l]
        raise BuildError("%s: make failed (exit %d); full log: %s\n%s\nlast lines of the log:\n%s" % (
            stage, rc, log, "\n".join(refused[-20:]),
            "\n".join("    " + l.rstrip("\n") for l in tail_lines[-40:])))
    return steps, time.monotonic() - t0


def build(mode, src, state, tools, lvm, args):
    say = Say("netbsd", mode)
    use_ccache = shutil.which("ccache") is not None and os.environ.get("CCACHE_DISABLE") != "1"
    conf = KERNCONF.read_bytes()
    h = hashlib.sha256()
    for part in (RECIPE, mode, state, patches_digest(patch_files()), hashlib.sha256(conf).hexdigest(),
                 lvm if mode != "native" else "-"):
        h.update(part.encode() + b"\0")
    base = cache_root() / "netbsd-build"
    out = base / ("%s-%s" % (mode, h.hexdigest()[:12]))
    out.mkdir(parents=True, exist_ok=True)
    os.utime(out)
    log = out / "build.log"
    log.write_text("")
    gcc = "ccache gcc" if use_ccache else "gcc"
    extra = {"NETBSD_GCC": gcc, "LVM_CC": gcc}
    if mode != "native":
        lvm_cc = ROOT / ".venv" / "bin" / "lvm-cc"
        if not os.access(str(lvm_cc), os.X_OK):
            raise BuildError("%s is missing: run `make setup`" % lvm_cc)
        extra["LVM_CCACHE_STAMP"] = lvm[:16]
    if use_ccache:
        extra.update(CCACHE_DIR=str(cache_root() / "ccache"), CCACHE_BASEDIR=str(cache_root()))
    env = make_env(tools, extra)
    say("O=%s" % out)
    before = ccache_stats(env) if use_ccache else None
    total, cpu_total = time.monotonic(), cpu_children()

    # config(1): again when the configuration or the source copy changed
    stamp = out / ".lvm-config"
    want = "%s\n%s\n" % (src, hashlib.sha256(conf).hexdigest())
    if not stamp.is_file() or stamp.read_text() != want or not (out / "Makefile").is_file():
        t0 = time.monotonic()
        confdir = out / "conf"
        confdir.mkdir(exist_ok=True)
        shutil.copyfile(KERNCONF, confdir / "LVM")
        if run([str(tools / "config"), "-b", str(out), "-s", str(src / "sys"), str(confdir / "LVM")],
               log, cwd=str(src / "sys" / "arch" / "i386" / "conf"), env=env):
            raise BuildError("config: config(1) failed on %s:\n%s" % (KERNCONF.relative_to(ROOT), tail(log)))
        stamp.write_text(want)
        say("config: %s (%.1fs)" % (KERNCONF.relative_to(ROOT), time.monotonic() - t0))
    variables = {
        "NETBSDSRCDIR": str(src),
        "CC": "%s %s" % (ROOT / "scripts" / "netbsd-cc", mode),
        "LD": "ld -m elf_i386", "AS": "as --32", "NM": "nm", "OBJCOPY": "objcopy",
        "SIZE": "size", "STRIP": "strip", "TSORT": "tsort", "HOST_SH": "/bin/sh",
        # gcc 12 warns where the 2015 gcc 4.8 did not (~750 times): not errors here
        "NOGCCERROR": "yes",
    }
    cpu0 = cpu_children()
    steps, secs = bmake(say, "kernel", src, out, variables, env, ["netbsd"], log, args.jobs)
    say("kernel: %d steps (%.1fs, %.1fs CPU)" % (steps, secs, cpu_children() - cpu0))
    dest = Path(args.out) / mode
    install([(out / "netbsd", "netbsd")], dest)
    prune(base, mode + "-", out)
    say("done: %s/netbsd (%.1fs, %.1fs CPU%s)" % (dest, time.monotonic() - total,
                                                  cpu_children() - cpu_total,
                                                  ccache_summary(before, ccache_stats(env) if before else None)))


INIT = ROOT / "guests" / "netbsd" / "init"
ROOT_SPEC = PATCHES / "root.spec"
ROOT_RECIPE = "3"          # bump when the way the image is made changes
NETBSD_VERSION = "799000400"  # __NetBSD_Version__ of the tree (sys/sys/param.h), for init's note
INIT_CFLAGS = ["-m32", "-Os", "-static", "-nostdlib", "-ffreestanding", "-fno-pie", "-no-pie",
               "-fno-stack-protector", "-fno-builtin", "-fcf-protection=none",
               "-fno-asynchronous-unwind-tables", "-Wall", "-Werror",
               "-DNETBSD_VERSION=" + NETBSD_VERSION,
               # exec_elf.c reads every SHT_NOTE section: a GNU build-id note (type 3)
               # would read as a malformed PaX note and fail the exec
               "-Wl,--build-id=none"]


def busybox():
    """Debian's static i386 busybox (scripts/i386-debs.py, as the Linux initramfs)."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "i386-debs.py"), "busybox-static"],
                       stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    path = Path(r.stdout.split()[-1]) / "bin" / "busybox" if r.returncode == 0 and r.stdout.split() else None
    if path is None or not path.is_file():
        raise BuildError("root: fetching busybox-static:i386 failed (scripts/i386-debs.py)")
    return path


def applets(bb):
    """busybox's applet names (`busybox --list`, run on the host: a static i386 binary
    runs on an x86-64 Linux), for /bin's links: `busybox --install -s` on the guest
    would link to /proc/self/exe.  None if the host cannot run it."""
    try:
        r = subprocess.run([str(bb), "--list"], capture_output=True, text=True, timeout=30)
    except OSError:
        return []
    return sorted(a for a in r.stdout.split() if "/" not in a and a not in ("busybox",)) if r.returncode == 0 else []


def root_image(say, out):
    """out/root.img: the root file system on lvm's IDE disk, FFS (version 1, little
    endian) made by Debian's makefs from a staged tree: patches/netbsd/root, the
    project's /sbin/init (guests/netbsd/init, compiled here with the host gcc) and
    Debian's static busybox as /bin/busybox and its applets' links, with the device nodes and /tmp of
    patches/netbsd/root.spec (makefs -F: no root needed).  Made again when any of
    these, gcc's version or this recipe changes (out/root.img.key)."""
    t0 = time.monotonic()
    tree = PATCHES / "root"
    img = Path(out) / "root.img"
    bb = busybox()
    gcc_version = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout
    h = hashlib.sha256((ROOT_RECIPE + "\0" + " ".join(INIT_CFLAGS) + "\0" + gcc_version).encode())
    for base in (tree, INIT):
        for p in sorted(base.rglob("*")):
            h.update(str(p.relative_to(base)).encode() + b"\0" + (p.read_bytes() if p.is_file() else b"/"))
    h.update(ROOT_SPEC.read_bytes() + b"\0" + bb.read_bytes())
    stamp = Path(out) / "root.img.key"
    if img.is_file() and stamp.is_file() and stamp.read_text() == h.hexdigest():
        say("root: %s made before" % img)
        return
    makefs = shutil.which("makefs") or "/usr/sbin/makefs"
    if not os.access(makefs, os.X_OK):
        raise BuildError("root: makefs is missing (run `make setup`)")
    Path(out).mkdir(parents=True, exist_ok=True)
    stage = Path(out) / "root.stage"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(tree, stage, ignore=shutil.ignore_patterns(".keep"))
    for d in ("sbin", "bin"):
        (stage / d).mkdir(exist_ok=True)
    srcs = sorted(str(p) for p in INIT.iterdir() if p.suffix in (".c", ".S"))
    r = subprocess.run(["gcc"] + INIT_CFLAGS + ["-o", str(stage / "sbin" / "init")] + srcs,
                       capture_output=True, text=True)
    if r.returncode:
        raise BuildError("root: compiling init failed:\n%s" % (r.stdout + r.stderr))
    shutil.copyfile(bb, stage / "bin" / "busybox")
    (stage / "bin" / "busybox").chmod(0o755)
    for applet in applets(bb):
        if not (stage / "bin" / applet).exists():
            os.symlink("busybox", str(stage / "bin" / applet))
    tmp = img.with_suffix(".tmp")
    r = subprocess.run([makefs, "-t", "ffs", "-B", "le", "-s", "16m", "-o", "version=1",
                        "-F", str(ROOT_SPEC), str(tmp), str(stage)], capture_output=True, text=True)
    if r.returncode:
        raise BuildError("root: makefs failed:\n%s" % (r.stdout + r.stderr))
    tmp.rename(img)
    shutil.rmtree(stage, ignore_errors=True)
    stamp.write_text(h.hexdigest())
    say("root: %s (%.1fs)" % (img, time.monotonic() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modes", nargs="*", default=list(MODES), help="call trap native (default: all)")
    ap.add_argument("--src", help="NetBSD source tree (default: NETBSD_SRC, else ../shared/netbsd/src)")
    ap.add_argument("--out", default=str(ROOT / "out" / "netbsd"))
    ap.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("NETBSD_JOBS") or os.cpu_count() or 2))
    ap.add_argument("--root-only", action="store_true", help="only out/netbsd/root.img (no kernels)")
    args = ap.parse_args()
    modes = guestbuild.modes(ap, args.modes, MODES)
    say = Say("netbsd", "-")
    try:
        if args.root_only:
            root_image(say, args.out)
            return 0
        if not shutil.which("bmake"):
            raise BuildError("bmake is missing (run `make setup`)")
        tree = netbsd_tree(args.src)
        state = tree_state(tree)
        src = source_copy(say, tree, state)
        tools = host_tools(say, src)
        lvm = lvm_digest(["scripts/netbsd-cc"]) if set(modes) - {"native"} else ""
        for mode in modes:
            build(mode, src, state, tools, lvm, args)
        root_image(say, args.out)
    except BuildError as e:
        sys.stderr.write("netbsd-build: error: %s\n" % e)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
