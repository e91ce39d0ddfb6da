#!/usr/bin/env python3
"""Fetch Debian i386 packages for guest user space, unpacked, never installed.

    scripts/i386-debs.py busybox-static [PKG...]    -> prints one directory per package

Each package is `apt-get download PKG:i386` into <cache>/downloads and `dpkg -x` into

    <cache>/i386/<package>_<version>/          (<cache>: LVM_CACHE or ~/.cache/lvm)

which exists only once complete (unpacked beside it, then renamed).  Nothing is
installed system-wide: i386 is added to dpkg's foreign architectures only so that
apt knows the i386 package lists (`dpkg --add-architecture i386`, then one
`apt-get update`), as Debian's multiarch documentation asks for a download.

Idempotent and quiet when everything is cached (one apt-cache look-up per package;
with no apt lists at all, the newest cached version is used).  Works without a
terminal (CI), as root or through `sudo -n`.  Progress goes to stderr.
"""
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path


def cache_root():
    return Path(os.environ.get("LVM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or
                                                        Path.home() / ".cache") / "lvm")


def say(msg):
    sys.stderr.write("i386-debs: %s\n" % msg)


class Error(Exception):
    pass


def as_root(argv):
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise Error("%s needs root (no sudo here)" % " ".join(argv))
        argv = ["sudo", "-n"] + argv
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode:
        raise Error("%s failed:\n%s" % (" ".join(argv), r.stderr.strip()))


_candidates = {}


def load_candidates(pkgs):
    """apt's candidate versions of all `pkgs` (i386) in one apt-cache call: one per
    package costs ~2 s each."""
    r = subprocess.run(["apt-cache", "policy"] + [p + ":i386" for p in pkgs], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL)
    pkg = None
    for line in r.stdout.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            pkg = line.rstrip()[:-1].rsplit(":", 1)[0]
        elif pkg and "Candidate:" in line:
            v = line.split()[1]
            _candidates[pkg] = None if v == "(none)" else v
    for p in pkgs:
        _candidates.setdefault(p, None)


def candidate(pkg):
    if pkg not in _candidates:
        load_candidates([pkg])
    return _candidates[pkg]


def ensure_lists(pkgs):
    """i386 known to dpkg, and apt lists that know every package (one update at most)."""
    archs = subprocess.run(["dpkg", "--print-foreign-architectures"], capture_output=True,
                           text=True).stdout.split()
    if "i386" not in archs:
        say("dpkg --add-architecture i386 (package lists only: nothing is installed)")
        as_root(["dpkg", "--add-architecture", "i386"])
    if all(candidate(p) for p in pkgs):
        return
    say("apt-get update")
    as_root(["apt-get", "update", "-qq"])
    _candidates.clear()
    load_candidates(pkgs)


def newest_cached(pkg):
    dirs = sorted((d for d in (cache_root() / "i386").glob(pkg + "_*") if (d / ".complete").is_file()),
                  key=lambda d: d.stat().st_mtime)
    return dirs[-1] if dirs else None


def unpacked(pkg, ver):
    return cache_root() / "i386" / ("%s_%s" % (pkg, ver.replace(":", "%3a")))


def cached(pkg):
    """The unpacked package apt would fetch now, or the newest one if apt does not know it."""
    ver = candidate(pkg)
    if ver is None:
        return newest_cached(pkg)
    dest = unpacked(pkg, ver)
    return dest if (dest / ".complete").is_file() else None


def fetch(pkg):
    have = cached(pkg)
    if have:
        return have
    ver = candidate(pkg)
    if ver is None:
        raise Error("no package %s:i386 in the apt lists, even after apt-get update" % pkg)
    dest = unpacked(pkg, ver)
    dl = cache_root() / "downloads"
    dl.mkdir(parents=True, exist_ok=True)
    quoted = ver.replace(":", "%3a")
    debs = [d for d in dl.glob("%s_%s_i386.deb" % (pkg, quoted))]
    if not debs:
        say("downloading %s:i386 %s" % (pkg, ver))
        r = subprocess.run(["apt-get", "download", "-q", "%s:i386=%s" % (pkg, ver)], cwd=str(dl),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode:
            raise Error("apt-get download %s:i386=%s failed:\n%s" % (pkg, ver, r.stderr.strip()))
        debs = list(dl.glob("%s_%s_i386.deb" % (pkg, quoted)))
        if not debs:
            raise Error("apt-get download %s:i386 left no .deb in %s" % (pkg, dl))
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    r = subprocess.run(["dpkg", "-x", str(debs[0]), str(tmp)], capture_output=True, text=True)
    if r.returncode:
        raise Error("dpkg -x %s failed:\n%s" % (debs[0], r.stderr.strip()))
    (tmp / ".complete").write_text(ver + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def main(argv):
    pkgs = argv[1:]
    if not pkgs:
        sys.stderr.write(__doc__)
        return 2
    try:
        (cache_root() / "i386").mkdir(parents=True, exist_ok=True)
        with open(cache_root() / ".i386-debs.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            load_candidates(pkgs)
            if not all(cached(p) for p in pkgs):
                ensure_lists(pkgs)
            for p in pkgs:
                print(fetch(p))
    except Error as e:
        say("error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
