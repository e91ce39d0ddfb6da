#!/usr/bin/env python3
"""Build the Linux guest's initramfs: busybox as /init's shell, from Debian's i386 package.

    scripts/linux-initramfs.py [-o out/linux/initramfs.cpio.gz] [--add SRC=DEST ...]

The archive (newc cpio, gzip) holds busybox-static's /bin/busybox (fetched by
scripts/i386-debs.py, never installed), patches/linux/init as /init, the directories
init mounts on, /dev/console (the kernel opens it for init's stdin/stdout before any
devtmpfs is mounted) and whatever --add names (a file or a directory, copied as
DEST).  Written by Python, so no cpio(1) or root is needed for the device node;
deterministic (mtimes 0, sorted), so an unchanged input gives the same bytes and the
file is rewritten only when they differ.
"""
import argparse
import gzip
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "patches" / "linux" / "init"
DIRS = ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "mnt", "root",
        "etc", "var")


class Cpio:
    """newc ("070701") writer: headers of 13 eight-digit hex fields, names and data
    padded to 4 bytes, closed by TRAILER!!!."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 0x1000
        self.seen = set()

    def entry(self, name, mode, data=b"", rdev=(0, 0)):
        name = name.strip("/")
        if name in self.seen:
            return
        self.seen.add(name)
        self.ino += 1
        fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
        self._put(hdr + name.encode() + b"\0")
        self._put(data)

    def _put(self, b):
        self.buf.write(b)
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def dir(self, name):
        self.entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o644):
        self.entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self.entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, mode=0o600):
        self.entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def tree(self, src, dest):
        """A host file or directory, as DEST (parents created)."""
        parts = Path(dest.strip("/")).parts
        for i in range(1, len(parts)):
            self.dir("/".join(parts[:i]))
        src = Path(src)
        items = [src] + (sorted(src.rglob("*")) if src.is_dir() else [])
        for p in items:
            rel = "/".join(parts + p.relative_to(src).parts) if p != src else "/".join(parts)
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                self.symlink(rel, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                self.dir(rel)
            elif stat.S_ISREG(st.st_mode):
                self.file(rel, p.read_bytes(), st.st_mode & 0o777)

    def close(self):
        self.entry("TRAILER!!!", 0)
        return self.buf.getvalue()


def busybox():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "i386-debs.py"), "busybox-static"],
                       stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    if r.returncode:
        raise SystemExit("linux-initramfs: fetching busybox-static:i386 failed")
    path = Path(r.stdout.split()[-1]) / "bin" / "busybox"
    if not path.is_file():
        raise SystemExit("linux-initramfs: %s missing from busybox-static" % path)
    return path


def package_closure(pkg):
    """pkg and what it depends on, recursively (i386), as apt sees it."""
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", pkg + ":i386"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    names = sorted({l.strip()[:-5] for l in r.stdout.splitlines()
                    if l and not l[0].isspace() and l.strip().endswith(":i386") and not l.startswith("<")})
    if pkg not in names:
        raise SystemExit("linux-initramfs: apt does not know %s:i386" % pkg)
    return names


def needed(path):
    r = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True)
    return [l.split("[", 1)[1].split("]", 1)[0] for l in r.stdout.splitlines() if "(NEEDED)" in l]


def dynamic_program(c, pkg, program):
    """A Debian i386 program with its shared libraries, as Debian lays them out:
    the libraries its NEEDED entries reach, in /lib/i386-linux-gnu, ld.so in /lib."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "i386-debs.py"), *package_closure(pkg)],
                       stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    if r.returncode:
        raise SystemExit("linux-initramfs: fetching %s:i386 and its dependencies failed" % pkg)
    roots = [Path(d) for d in r.stdout.split()]
    libs = {}
    for d in roots:
        for sub in ("lib/i386-linux-gnu", "usr/lib/i386-linux-gnu"):
            for f in sorted((d / sub).glob("*.so*")) if (d / sub).is_dir() else []:
                libs.setdefault(f.name, f)
    prog = next((d / program for d in roots if (d / program).is_file()), None)
    if prog is None:
        raise SystemExit("linux-initramfs: %s not in %s:i386" % (program, pkg))
    c.file(program, prog.read_bytes(), 0o755)
    todo, done = needed(prog) + ["ld-linux.so.2"], set()
    c.dir("lib")
    c.dir("lib/i386-linux-gnu")
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        if name not in libs:
            raise SystemExit("linux-initramfs: %s needs %s, in none of its packages" % (program, name))
        real = libs[name].resolve()
        c.file("lib/i386-linux-gnu/" + name, real.read_bytes(), 0o755)
        todo += needed(real)
    c.symlink("lib/ld-linux.so.2", "i386-linux-gnu/ld-linux.so.2")


def build(adds, programs=()):
    c = Cpio()
    for d in DIRS:
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)
    c.file("bin/busybox", busybox().read_bytes(), 0o755)
    c.symlink("bin/sh", "busybox")
    c.file("init", INIT.read_bytes(), 0o755)
    c.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    c.file("etc/group", b"root:x:0:\n")
    for pkg, program in programs:
        dynamic_program(c, pkg, program)
    for spec in adds:
        src, sep, dest = spec.partition("=")
        if not sep or not Path(src).exists():
            raise SystemExit("linux-initramfs: --add %s: expected an existing SRC=DEST" % spec)
        c.tree(src, dest)
    raw = c.close()
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as z:
        z.write(raw)
    return out.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default=str(ROOT / "out" / "linux" / "initramfs.cpio.gz"))
    ap.add_argument("--add", action="append", default=[], metavar="SRC=DEST",
                    help="a host file or directory to put at DEST")
    ap.add_argument("--stress-ng", action="store_true",
                    help="Debian's stress-ng for i386 and its shared libraries")
    args = ap.parse_args()
    data = build(args.add, [("stress-ng", "usr/bin/stress-ng")] if args.stress_ng else [])
    out = Path(args.output)
    if out.is_file() and out.read_bytes() == data:
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.rename(out)
    sys.stderr.write("linux-initramfs: %s (%d KiB)\n" % (out, len(data) // 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
