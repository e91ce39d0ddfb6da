#!/usr/bin/env python3
"""Build Linux i386 for lvm: `make linux` (this script) -> out/linux/<mode>/{bzImage,vmlinux}.

For each mode (default: call, trap, native):

  call, trap  CC="scripts/linux-cc MODE": lvm-cc --lvm-mode=MODE (every privileged
              instruction rewritten), except the vDSO (user code) and the bzImage's
              real-mode setup, and with refusals compared against
              patches/linux/check-exceptions (see scripts/linux-cc).  LVM_CC="ccache gcc":
              lvm-cc keys ccache on the mode, the check policy and a stamp of lvm's
              sources (CCACHE_NAMESPACE), which `CC="ccache lvm-cc"` would not.
  native      CC="ccache gcc": the same kernel unrewritten, the reference QEMU boots.

from Debian's linux-source-6.1 tree (--linux, LINUX_SRC, else scripts/linux-source.sh)
with patches/linux/*.patch applied to a copy of it (each patch says why; the copy is
hard links but for the patched files, <cache>/linux-src/<tree>-<patches' hash>: the
tree itself is never changed, whoever owns it), `make ARCH=i386 tinyconfig`,
patches/linux/lvm.config merged over it
(scripts/kconfig/merge_config.sh -m, `make olddefconfig`; every line of the fragment is
then checked against the .config), `make vmlinux` and `make bzImage`.

Caching.  Each build has its own O= directory,

    <cache>/linux-build/<tree>-<mode>-<key>     (<cache>: LVM_CACHE or ~/.cache/lvm)

where <key> hashes the tree's version, the patches, the fragment, the build recipe and, for call
and trap, the contents of everything that decides what lvm-as emits (toolchain/lvm:
the rules, rewriter, templates, check; runtime/guest: the guest subroutines;
runtime/include/lvm: the vCPU page layout) and which objects are accepted
(scripts/linux-cc, patches/linux/check-exceptions).  A change to any of those gives a
new directory, so every object is rebuilt (any object may hold an instruction a new
rule makes interesting); Kbuild's own dependencies cover the rest within one directory.
The monitor (runtime/host) is not part of the key: it does not change the kernel.
The two newest directories per tree and mode are kept.  Objects are cached by ccache
in <cache>/ccache (CCACHE_BASEDIR makes the key independent of the directory name,
so a new directory whose inputs did not change, e.g. only the fragment did, hits).

Output: one line per stage with the elapsed time, a progress line every 60 s, and
ccache's hits/misses for the build.  Kbuild's whole output goes to <O=>/build.log;
on failure its path and last lines are printed (and lvm-as's refusals, by object).

Environment: LINUX_SRC, LVM_CACHE, CCACHE_DISABLE=1 (no ccache), LINUX_JOBS.
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
from guestbuild import BuildError, Say, cache_root, ccache_stats, cpu_children, prune  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FRAGMENT = ROOT / "patches" / "linux" / "lvm.config"
PATCHES = ROOT / "patches" / "linux"
MODES = ("call", "trap", "native")
# Bump when the way a kernel is built here changes (targets, make variables, flags):
# it is part of every build directory's key.
RECIPE = "1"
# With lvm's rewriting inputs (guestbuild.LVM_INPUTS), what decides which objects are
# accepted (scripts/linux-cc and its exception list), for the key of call and trap builds.
LINUX_INPUTS = ("scripts/linux-cc", "scripts/linux-check-exceptions.py", "patches/linux/check-exceptions")
ENV_KEEP_OUT = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS")
T0 = time.monotonic()


def linux_tree(arg):
    tree = arg or os.environ.get("LINUX_SRC")
    if not tree:
        r = subprocess.run([str(ROOT / "scripts" / "linux-source.sh")], stdout=subprocess.PIPE,
                           text=True, stdin=subprocess.DEVNULL)
        if r.returncode:
            raise BuildError("scripts/linux-source.sh failed (exit %d)" % r.returncode)
        tree = r.stdout.strip().splitlines()[-1]
    tree = Path(tree).resolve()
    if not (tree / "Makefile").is_file() or not (tree / "arch" / "x86").is_dir():
        raise BuildError("%s is not a Linux source tree" % tree)
    return tree


def tree_version(tree):
    stamp = tree / ".lvm-source-complete"
    if stamp.is_file():
        return stamp.read_text().strip()
    r = subprocess.run(["make", "-s", "-C", str(tree), "kernelversion"], capture_output=True,
                       text=True, env=kbuild_env())
    return r.stdout.strip() or tree.name


def lvm_digest():
    """Content hash of what lvm-as's output depends on, and of what decides which
    objects are accepted here."""
    return guestbuild.lvm_digest(LINUX_INPUTS)


def patch_files():
    return sorted(PATCHES.glob("*.patch"))


def patches_digest():
    return guestbuild.patches_digest(patch_files())


def patched_tree(say, tree, digest):
    """The tree with patches/linux/*.patch applied, as a copy of hard links: `git apply`
    writes each file it changes anew, which breaks the link, so the tree stays as it
    was.  Made once per tree and set of patches; the two newest are kept."""
    files = patch_files()
    if not files:
        return tree
    base = cache_root() / "linux-src"
    dst = base / ("%s-%s" % (tree.name, digest[:12]))
    guestbuild.patched_copy(say, [(None, tree)], dst, files)
    prune(base, tree.name + "-", dst)
    return dst


def build_key(mode, version, fragment, lvm, patches=""):
    h = hashlib.sha256()
    for part in (RECIPE, mode, version, patches, hashlib.sha256(fragment).hexdigest(),
                 lvm if mode != "native" else "-"):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:12]


def kbuild_env(extra=None):
    env = dict(os.environ, LC_ALL="C", KBUILD_BUILD_TIMESTAMP="@0", KBUILD_BUILD_USER="lvm",
               KBUILD_BUILD_HOST="lvm")
    for var in ENV_KEEP_OUT:             # when run from `make linux`: our -j, not make's jobserver
        env.pop(var, None)
    env["PATH"] = str(ROOT / ".venv" / "bin") + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env


def compilers(mode, use_ccache, lvm="", out=None):
    """(make variables, extra environment) for a mode.  `lvm`: the content digest of
    lvm's rewriting inputs, which lvm-cc puts in CCACHE_NAMESPACE instead of its
    mtime stamp (a checkout or merge that touches files without changing them keeps
    its ccache hits).  `out`: the build directory, where CC is a link to this
    checkout's scripts/linux-cc: Kbuild records CC in every object's command line, and
    the checkout's own path there made another checkout of the same lvm rebuild all."""
    ccache = ["ccache"] if use_ccache else []
    gcc = " ".join(ccache + ["gcc"])
    if mode == "native":
        return {"CC": gcc, "HOSTCC": gcc}, {}
    lvm_cc = ROOT / ".venv" / "bin" / "lvm-cc"
    if not os.access(str(lvm_cc), os.X_OK):
        raise BuildError("%s is missing: run `make setup`" % lvm_cc)
    # scripts/linux-cc: lvm-cc --lvm-mode=MODE, but the vDSO (user code) with --lvm-mode=user and
    # the real-mode blob checked with LVM_CHECK=code16; refusals against the exception list.
    cc = ROOT / "scripts" / "linux-cc"
    if out is not None:
        link = Path(out) / "lvm-bin" / "linux-cc"
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name("linux-cc.tmp")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(cc)
        tmp.rename(link)
        cc = link
    return ({"CC": "%s %s" % (cc, mode), "HOSTCC": gcc},
            {"LVM_CC": gcc, "LINUX_CC_PYTHON": sys.executable, "LVM_CCACHE_STAMP": lvm[:16]})


_STAGE_LINE = re.compile(r"^  ([A-Z][A-Z0-9_-]*)\s+(\S+)")
_ACCEPTED = re.compile(r"^linux-cc: (\S+): (\d+) finding\(s\) accepted by")
_REFUSED = re.compile(r"^lvm-as: (\d+) interesting instruction\(s\) escaped rewriting; (\S+) removed")


def run_make(say, stage, tree, out, variables, env, targets, log, jobs, keep_going=False):
    cmd = ["make", "-C", str(tree), "O=%s" % out, "ARCH=i386", "-j%d" % jobs]
    cmd += ["-k"] if keep_going else []
    cmd += ["%s=%s" % kv for kv in variables.items()] + targets
    t0 = last = time.monotonic()
    steps, latest, tail, refused, accepted = 0, "", [], [], []
    with open(log, "a") as f:
        f.write("\n$ %s\n" % " ".join(cmd))
        f.flush()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", env=env, stdin=subprocess.DEVNULL)
        for line in p.stdout:
            f.write(line)
            tail.append(line)
            if len(tail) > 400:
                del tail[:200]
            m = _STAGE_LINE.match(line)
            if m:
                steps += 1
                latest = "%s %s" % m.groups()
            m = _REFUSED.match(line)
            if m:
                refused.append((m.group(2), int(m.group(1))))
            m = _ACCEPTED.match(line)
            if m:
                accepted.append((m.group(1), int(m.group(2))))
            now = time.monotonic()
            if now - last >= 60:
                say("%s: %d steps so far (%s)" % (stage, steps, latest))
                last = now
        rc = p.wait()
    return rc, steps, time.monotonic() - t0, tail, refused, accepted


def check_config(config, fragment):
    """Lines of the fragment the merged .config does not honour."""
    have = {}
    for line in config.splitlines():
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line) or re.match(r"^# (CONFIG_\w+) is not set$", line)
        if m:
            have[m.group(1)] = m.group(2) if m.lastindex == 2 else "n"
    bad = []
    for n, line in enumerate(fragment.splitlines(), 1):
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line) or re.match(r"^# (CONFIG_\w+) is not set$", line)
        if not m:
            continue
        want = m.group(2) if m.lastindex == 2 else "n"
        got = have.get(m.group(1), "n")      # absent: not visible, i.e. not set
        if got != want:
            bad.append("%s:%d: %s=%s requested, .config has %s" % (FRAGMENT.relative_to(ROOT), n,
                                                                  m.group(1), want, got))
    return bad


def failure(say, stage, log, rc, tail, refused):
    lines = ["%s: make failed (exit %d); full log: %s" % (stage, rc, log)]
    if refused:
        lines.append("lvm-as refused %d object(s) (instructions that escaped rewriting):" % len(refused))
        lines += ["    %s (%d)" % r for r in refused]
    lines.append("last lines of the log:")
    lines += ["    " + l.rstrip("\n") for l in tail[-40:]]
    return BuildError("\n".join(lines))


def build(mode, tree, version, fragment, lvm, args):
    say = Say("linux", mode)
    use_ccache = shutil.which("ccache") is not None and os.environ.get("CCACHE_DISABLE") != "1"
    digest = patches_digest()
    key = build_key(mode, version, fragment, lvm, digest)
    name = tree.name
    tree = patched_tree(say, tree, digest)
    base = cache_root() / "linux-build"
    out = base / ("%s-%s-%s" % (name, mode, key))
    out.mkdir(parents=True, exist_ok=True)
    os.utime(out)
    log = out / "build.log"
    log.write_text("")
    variables, extra = compilers(mode, use_ccache, lvm, out)
    cdir = cache_root() / "ccache"
    if use_ccache:
        extra.update(CCACHE_DIR=str(cdir), CCACHE_BASEDIR=str(cache_root()))
    env = kbuild_env(extra)
    say("%s, O=%s" % (version, out))
    before = ccache_stats(env) if use_ccache else None
    total, cpu_total = time.monotonic(), cpu_children()

    stamp = out / ".lvm-config"
    if not stamp.is_file():
        t0 = time.monotonic()
        for targets in (["tinyconfig"], None, ["olddefconfig"]):
            if targets is None:
                r = subprocess.run([str(tree / "scripts" / "kconfig" / "merge_config.sh"), "-m",
                                    "-O", str(out), str(out / ".config"), str(FRAGMENT)],
                                   cwd=str(out), capture_output=True, text=True, env=env)
                with open(log, "a") as f:
                    f.write(r.stdout + r.stderr)
                if r.returncode:
                    raise BuildError("config: merge_config.sh failed; log %s:\n%s" % (log, r.stderr[-3000:]))
                continue
            rc, _, _, tail, refused, _ = run_make(say, "config", tree, out, variables, env, targets,
                                               log, args.jobs)
            if rc:
                raise failure(say, "config (%s)" % targets[0], log, rc, tail, refused)
        bad = check_config((out / ".config").read_text(), fragment.decode())
        if bad:
            raise BuildError("config: the merged .config does not honour the fragment "
                             "(a dependency missing or a misspelt name?):\n  " + "\n  ".join(bad))
        stamp.write_text(key + "\n")
        say("config: tinyconfig + %s (%.1fs)" % (FRAGMENT.relative_to(ROOT), time.monotonic() - t0))
    else:
        say("config: done before")

    for stage, targets in (("vmlinux", ["vmlinux"]), ("bzImage", ["bzImage"])):
        cpu0 = cpu_children()
        rc, steps, secs, tail, refused, accepted = run_make(
            say, stage, tree, out, variables, env, targets, log, args.jobs, keep_going=args.keep_going)
        if accepted:
            say("%s: %d finding(s) in %d object(s) accepted by patches/linux/check-exceptions"
                % (stage, sum(n for _, n in accepted), len(accepted)))
        if rc:
            raise failure(say, stage, log, rc, tail, refused)
        say("%s: %d steps (%.1fs, %.1fs CPU)" % (stage, steps, secs, cpu_children() - cpu0))

    dest = Path(args.out) / mode
    dest.mkdir(parents=True, exist_ok=True)
    for src, name in ((out / "arch" / "x86" / "boot" / "bzImage", "bzImage"),
                      (out / "vmlinux", "vmlinux"), (out / ".config", "config")):
        tmp = dest / (name + ".tmp")
        shutil.copyfile(src, tmp)
        tmp.rename(dest / name)
    prune(base, "%s-%s-" % (name, mode), out)
    cc = guestbuild.ccache_summary(before, ccache_stats(env) if before is not None else None)
    say("done: %s/{bzImage,vmlinux,config} (%.1fs, %.1fs CPU%s)"
        % (dest, time.monotonic() - total, cpu_children() - cpu_total, cc))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modes", nargs="*", default=list(MODES), help="call trap native (default: all)")
    ap.add_argument("--linux", help="kernel tree (default: LINUX_SRC, else scripts/linux-source.sh)")
    ap.add_argument("--out", default=str(ROOT / "out" / "linux"))
    ap.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("LINUX_JOBS") or os.cpu_count() or 2))
    ap.add_argument("-k", "--keep-going", action="store_true",
                    help="make -k: build what can be built, list every object lvm-as refuses")
    args = ap.parse_args()
    modes = guestbuild.modes(ap, args.modes, MODES)
    try:
        tree = linux_tree(args.linux)
        version = tree_version(tree)
        fragment = FRAGMENT.read_bytes()
        lvm = lvm_digest() if set(modes) - {"native"} else ""
        for mode in modes:
            build(mode, tree, version, fragment, lvm, args)
    except BuildError as e:
        sys.stderr.write("linux-build: error: %s\n" % e)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
