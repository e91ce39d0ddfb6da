"""What the guest builds (scripts/linux-build.py, scripts/netbsd-build.py) share: the
cache's place, one progress line per stage with its elapsed time, content digests of
lvm's rewriting inputs, a patched copy of a source tree made of hard links, ccache's
counters, and pruning of old build directories."""
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What lvm-as's output depends on (every guest build's call and trap key)...
LVM_INPUTS = ("toolchain/lvm", "toolchain/bin", "runtime/guest", "runtime/include/lvm")
# ...but not `lvm run`'s own code nor the `lvm` command's (help texts, options), which
# decide nothing about a kernel's objects.
LVM_NOT_INPUTS = ("toolchain/lvm/runner.py", "toolchain/lvm/cli.py")


class BuildError(Exception):
    pass


def cache_root():
    return Path(os.environ.get("LVM_CACHE") or
                Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lvm")


class Say:
    """say(msg): `GUEST MODE  ELAPSED  msg` on stdout, at once."""

    def __init__(self, guest, mode):
        self.guest, self.mode = guest, mode
        self.t0 = time.monotonic()

    def __call__(self, msg):
        sys.stdout.write("%s %-6s %6.1fs  %s\n" % (self.guest, self.mode, time.monotonic() - self.t0, msg))
        sys.stdout.flush()


def files_digest(paths, exclude=()):
    """Content hash of files and directories under ROOT (not mtimes: a checkout or a
    fresh clone of the same sources keeps its build directory)."""
    h = hashlib.sha256()
    for top in paths:
        base = ROOT / top
        files = [base] if base.is_file() else sorted(
            p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            and not p.name.endswith((".pyc", ".pyo")) and not p.name.startswith(".")
            and str(p.relative_to(ROOT)) not in exclude)
        for p in files:
            h.update(b"%s\0%s\0" % (str(p.relative_to(ROOT)).encode(),
                                     hashlib.sha256(p.read_bytes()).hexdigest().encode()))
    return h.hexdigest()


def lvm_digest(extra=()):
    return files_digest(LVM_INPUTS + tuple(extra), LVM_NOT_INPUTS)


def patches_digest(files):
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def prune(base, prefix, keep):
    """Remove the directories `base/prefix*` but `keep` and the newest other one."""
    dirs = sorted((d for d in base.glob(prefix + "*") if d.is_dir() and d != keep),
                  key=lambda d: d.stat().st_mtime, reverse=True)
    for d in dirs[1:]:
        shutil.rmtree(d, ignore_errors=True)


def patched_copy(say, sources, dst, patches):
    """dst/NAME for each (NAME, directory) of sources (NAME None: dst itself), as hard links (a real copy across
    file systems), with the patches applied (`git apply`, which writes each file it
    changes anew: the link breaks and the original stays as it was).  Made once: a
    finished copy has dst/.lvm-patched."""
    if (dst / ".lvm-patched").is_file():
        os.utime(dst)
        return dst
    t0 = time.monotonic()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, src in sources:
        where = tmp / name if name else tmp          # no name: the copy is the tree itself
        where.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["cp", "-al", str(src), str(where)], capture_output=True, text=True)
        if r.returncode:                              # another file system: a real copy
            shutil.rmtree(where, ignore_errors=True)
            r = subprocess.run(["cp", "-a", str(src), str(where)], capture_output=True, text=True)
            if r.returncode:
                raise BuildError("copying %s failed: %s" % (src, r.stderr.strip()))
    for p in patches:
        # as patch(1) would, even if the cache lies inside some git work tree
        env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(tmp.parent))
        r = subprocess.run(["git", "apply", "-p1", str(p)], cwd=str(tmp), capture_output=True,
                           text=True, env=env)
        if r.returncode:
            raise BuildError("%s does not apply:\n%s" % (p.relative_to(ROOT), r.stderr.strip()))
    (tmp / ".lvm-patched").write_text("".join(p.name + "\n" for p in patches))
    tmp.rename(dst)
    say("patches: %d applied to a copy (%.1fs)" % (len(patches), time.monotonic() - t0))
    return dst


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ccache_stats(env):
    """(hits, misses) of the cache, or None without ccache."""
    try:
        r = subprocess.run(["ccache", "--print-stats"], capture_output=True, text=True, env=env)
    except OSError:
        return None
    if r.returncode:
        return None
    stats = dict(line.split("\t", 1) for line in r.stdout.splitlines() if "\t" in line)
    num = lambda k: int(stats.get(k, "0"))
    return (num("direct_cache_hit") + num("preprocessed_cache_hit"), num("cache_miss"))


def ccache_summary(before, after):
    if before is None or not after:
        return ""
    hits, misses = after[0] - before[0], after[1] - before[1]
    out = ", ccache %d hits / %d misses" % (hits, misses)
    return out + (" (%.0f%%)" % (100.0 * hits / (hits + misses)) if hits + misses else "")


def install(files, dest):
    """Copy (src, name) pairs into dest atomically, each by a rename."""
    dest.mkdir(parents=True, exist_ok=True)
    for src, name in files:
        tmp = dest / (name + ".tmp")
        shutil.copyfile(src, tmp)
        tmp.rename(dest / name)


def modes(ap, words, known):
    """The modes named on the command line (`call trap`, `call,trap`), each checked."""
    out = [m for arg in words for m in arg.replace(",", " ").split()]
    for m in out:
        if m not in known:
            ap.error("unknown mode %r (%s)" % (m, ", ".join(known)))
    return out
