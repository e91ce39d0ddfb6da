#!/usr/bin/env python3
"""How much slower is a build through lvm-cc than through plain gcc?

Two cases, each run with CC=gcc and with CC=lvm-cc, CCACHE_DISABLE=1:

  kernel  Linux (Debian's linux-source-6.1, fetched by scripts/linux-source.sh)
          ARCH=i386 tinyconfig, -j2, each compiler from a clean O= directory with the
          same .config: first `make .` (every object and built-in.a of the kernel: the
          compile phase), then `make vmlinux` (the link).  The lvm-cc build runs with -k, so an
          object that lvm-as refuses (the check found an instruction that escaped
          rewriting) is listed and the rest of the build still counts; the link phase is
          then skipped and the ratio covers the compile phase only.
  micro   one mid-sized kernel C file (default kernel/signal.c, ~4800 lines, ~40 rewritten
          sites) compiled N times (default 50) with Kbuild's own command line, one at a
          time; and an empty C file N times, which shows the fixed cost per invocation.

Reported: wall time, CPU time (user+sys of all child processes, from getrusage) and
the ratio lvm-cc/gcc of each.  Goal: ratio <= 1.2.  No timing is asserted; this only
measures.  Progress goes to stderr, the table to stdout (and --json FILE).

    .venv/bin/python bench/build_speed.py            # or: make bench
    .venv/bin/python bench/build_speed.py --micro-only --reps 20
    .venv/bin/python bench/build_speed.py --kernel-only --jobs 4

The page cache is warmed (the source tree read once) before timing so that the first
build does not pay for the disk.  The machine should be otherwise idle.
"""
import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T0 = time.monotonic()


def say(msg):
    sys.stderr.write("[bench %6.1fs] %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Timer:
    """Wall and CPU (user+sys of reaped children) of a block."""

    def __enter__(self):
        self.w0, self.c0 = time.monotonic(), cpu_children()
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.w0
        self.cpu = cpu_children() - self.c0


def cache_root():
    return Path(os.environ.get("LVM_CACHE") or
                Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lvm")


def find_lvm_cc():
    for cand in (ROOT / ".venv" / "bin" / "lvm-cc", shutil.which("lvm-cc")):
        if cand and os.access(str(cand), os.X_OK):
            return str(cand)
    sys.exit("bench: lvm-cc not found (run `make setup`)")


def linux_tree(arg):
    if arg:
        return Path(arg)
    say("fetching the Linux source (scripts/linux-source.sh)")
    r = subprocess.run([str(ROOT / "scripts" / "linux-source.sh")], stdout=subprocess.PIPE,
                       text=True, stdin=subprocess.DEVNULL)
    if r.returncode:
        sys.exit("bench: scripts/linux-source.sh failed (exit %d)" % r.returncode)
    return Path(r.stdout.strip().splitlines()[-1])


def build_env(extra=None):
    env = dict(os.environ, CCACHE_DISABLE="1", LC_ALL="C", KBUILD_BUILD_TIMESTAMP="@0",
               KBUILD_BUILD_USER="lvm", KBUILD_BUILD_HOST="lvm")
    env["PATH"] = str(ROOT / ".venv" / "bin") + os.pathsep + env.get("PATH", "")
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(var, None)
    env.update(extra or {})
    return env


_OBJ = re.compile(r"^  (CC|AS)\s+(\S+\.o)$")
_REFUSED = re.compile(r"^lvm-as: (\d+) interesting instruction\(s\) escaped rewriting; (\S+) removed")


def make(linux, out, cc, targets, jobs, log, label, expect=0, keep_going=False, env=None):
    """Run Kbuild, streaming into `log`; progress every 15 s.  Returns a result dict."""
    cmd = ["make", "-C", str(linux), "O=%s" % out, "ARCH=i386", "CC=%s" % cc, "-j%d" % jobs]
    cmd += (["-k"] if keep_going else []) + targets
    objs, refused, last, latest = 0, [], time.monotonic(), ""
    with open(log, "a") as f, Timer() as t:
        f.write("$ %s\n" % " ".join(cmd))
        f.flush()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", env=build_env(env), stdin=subprocess.DEVNULL)
        for line in p.stdout:
            f.write(line)
            m = _OBJ.match(line)
            if m:
                objs += 1
                latest = m.group(2)
            m = _REFUSED.match(line)
            if m:
                refused.append((m.group(2), int(m.group(1))))
            now = time.monotonic()
            if now - last >= 15:
                pct = " (%d%%)" % min(99, 100 * objs // expect) if expect else ""
                say("%s: %s: %d objects%s, now %s" % (label, " ".join(targets), objs, pct, latest))
                last = now
        rc = p.wait()
    say("%s: %s: %s, %d objects, %.1f s wall, %.1f s CPU"
        % (label, " ".join(targets), "ok" if rc == 0 else "exit %d" % rc, objs, t.wall, t.cpu))
    return {"rc": rc, "objects": objs, "refused": refused, "wall": t.wall, "cpu": t.cpu}


def warm_page_cache(linux):
    say("warming the page cache (reading the source tree once)")
    n = 0
    for dirpath, dirnames, files in os.walk(linux):
        dirnames[:] = [d for d in dirnames if d not in ("Documentation", ".git", "tools")]
        for name in files:
            if name.endswith((".c", ".h", ".S", ".lds", "Makefile", "Kbuild", "Kconfig", ".sh")):
                try:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        while f.read(1 << 20):
                            pass
                    n += 1
                except OSError:
                    pass
    say("read %d files" % n)


def kernel_case(args, linux, work, compilers):
    config_dir = work / "config"
    shutil.rmtree(config_dir, ignore_errors=True)
    config_dir.mkdir(parents=True)
    r = make(linux, config_dir, "gcc", ["tinyconfig"], args.jobs, work / "config.log", "config")
    if r["rc"]:
        sys.exit("bench: make tinyconfig failed; see %s" % (work / "config.log"))
    config = (config_dir / ".config").read_text()
    results, expect = {}, 0
    for name, cc in compilers:
        out = work / name
        log = work / ("%s.log" % name)
        say("%s: clean O=%s, same .config; log %s" % (name, out, log))
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        (out / ".config").write_text(config)
        log.write_text("")
        compile_ = make(linux, out, cc, ["."], args.jobs, log, name, expect=expect,
                        keep_going=(name != "gcc"))
        expect = expect or compile_["objects"]
        res = {"compile": compile_, "config_same": (out / ".config").read_text() == config}
        if compile_["rc"] == 0:
            res["link"] = make(linux, out, cc, ["vmlinux"], args.jobs, log, name)
        results[name] = res
        if not res["config_same"]:
            say("%s: WARNING: Kconfig rewrote .config differently (probes disagree?)" % name)
    return results


def kbuild_command(o_dir, rel_obj):
    """Kbuild's saved command line for an object (from its .cmd file), as argv."""
    path = o_dir / os.path.dirname(rel_obj) / (".%s.cmd" % os.path.basename(rel_obj))
    for line in path.read_text().splitlines():
        for key in ("savedcmd_%s := " % rel_obj, "cmd_%s := " % rel_obj):
            if line.startswith(key):
                return shlex.split(line[len(key):])
    raise SystemExit("bench: no command for %s in %s" % (rel_obj, path))


def micro_case(args, work, compilers, linux):
    o_dir = work / "gcc"
    rel_obj = args.micro_file[:-2] + ".o"
    if not (o_dir / rel_obj).is_file():
        say("micro: %s not built in %s yet; building it with gcc" % (rel_obj, o_dir))
        if not (o_dir / ".config").is_file():
            o_dir.mkdir(parents=True, exist_ok=True)
            make(linux, o_dir, "gcc", ["tinyconfig"], args.jobs, work / "micro.log", "micro")
        r = make(linux, o_dir, "gcc", [rel_obj], args.jobs, work / "micro.log", "micro")
        if r["rc"]:
            sys.exit("bench: cannot build %s; see %s" % (rel_obj, work / "micro.log"))
    base = kbuild_command(o_dir, rel_obj)
    tmp = Path(tempfile.mkdtemp(prefix="lvm-bench-"))
    out_o, dep = tmp / "out.o", tmp / "out.d"
    argv, i = [], 1
    while i < len(base):                     # drop the compiler, -Wp,-MMD and -o; re-add ours
        a = base[i]
        if a == "-o":
            i += 2
            continue
        if not a.startswith("-Wp,-MMD,"):
            argv.append(a)
        i += 1
    empty = tmp / "empty.c"
    empty.write_text("int lvm_bench_empty(void) { return 0; }\n")
    cases = [("micro: %s x%d" % (args.micro_file, args.reps),
              lambda cc: [cc, "-Wp,-MMD,%s" % dep] + argv + ["-o", str(out_o)], o_dir),
             ("micro: empty.c x%d (fixed cost)" % args.reps,
              lambda cc: [cc, "-m32", "-O2", "-c", str(empty), "-o", str(out_o)], tmp)]
    results = {}
    for label, cmdline, cwd in cases:
        results[label] = {}
        for name, cc in compilers:
            cmd = cmdline(cc)
            r = subprocess.run(cmd, cwd=cwd, env=build_env(), capture_output=True, text=True)
            if r.returncode:                 # also warms caches (cc-kind, .pyc)
                sys.exit("bench: %s failed:\n%s\n%s" % (" ".join(cmd[:3]), r.stderr[-3000:], cmd))
            with Timer() as t:
                for k in range(args.reps):
                    subprocess.run(cmd, cwd=cwd, env=build_env(), check=True,
                                   stdout=subprocess.DEVNULL)
                    if (k + 1) % 10 == 0:
                        say("%s: %s: %d/%d" % (label, name, k + 1, args.reps))
            results[label][name] = {"wall": t.wall, "cpu": t.cpu}
            say("%s: %s: %.3f s wall, %.3f s CPU per compile"
                % (label, name, t.wall / args.reps, t.cpu / args.reps))
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def table(rows):
    head = ("case", "gcc wall", "lvm-cc wall", "ratio", "gcc CPU", "lvm-cc CPU", "ratio")
    lines = ["%-40s %10s %12s %6s %10s %11s %6s" % head]
    for label, g, l in rows:
        lines.append("%-40s %9.1fs %11.1fs %5.2fx %9.1fs %10.1fs %5.2fx"
                     % (label, g["wall"], l["wall"], l["wall"] / g["wall"], g["cpu"], l["cpu"],
                        l["cpu"] / g["cpu"]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--linux", help="kernel tree (default: scripts/linux-source.sh)")
    ap.add_argument("--work", help="build directory (default: <cache>/lvm/bench)")
    ap.add_argument("--jobs", "-j", type=int, default=2)
    ap.add_argument("--reps", type=int, default=50, help="micro case repetitions")
    ap.add_argument("--micro-file", default="kernel/signal.c")
    ap.add_argument("--kernel-only", action="store_true")
    ap.add_argument("--micro-only", action="store_true")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--lvm-cc", help="the lvm-cc to measure (default: .venv/bin/lvm-cc)")
    args = ap.parse_args()

    linux = linux_tree(args.linux)
    work = Path(args.work) if args.work else cache_root() / "bench"
    work.mkdir(parents=True, exist_ok=True)
    compilers = [("gcc", "gcc"), ("lvm-cc", args.lvm_cc or find_lvm_cc())]
    if not args.lvm_cc:
        # An installed lvm has its bytecode compiled; a checkout gets it on first import,
        # unless PYTHONDONTWRITEBYTECODE is set: then every lvm-as run would compile lvm's
        # modules again (~10 ms).  Measure lvm as installed.
        say("compiling lvm's bytecode (python -m compileall toolchain/lvm)%s"
            % ("; PYTHONDONTWRITEBYTECODE is set here" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "toolchain" / "lvm")],
                       check=True)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), platform.processor())
    gcc_version = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    info = {"date": time.strftime("%Y-%m-%d"), "linux": linux.name, "cpus": os.cpu_count(),
            "cpu": cpu, "gcc": gcc_version, "jobs": args.jobs, "python": platform.python_version()}
    say("Linux %s, %s CPUs (%s), %s, -j%d" % (linux.name, os.cpu_count(), cpu, gcc_version, args.jobs))

    rows, kernel, micro = [], None, None
    if not args.micro_only:
        warm_page_cache(linux)
        kernel = kernel_case(args, linux, work, compilers)
        g, l = kernel["gcc"], kernel["lvm-cc"]
        rows.append(("kernel: make . (compile)", g["compile"], l["compile"]))
        if "link" in g and "link" in l:
            rows.append(("kernel: make vmlinux (link)", g["link"], l["link"]))
            rows.append(("kernel: total", *[{k: r["compile"][k] + r["link"][k] for k in ("wall", "cpu")}
                                            for r in (g, l)]))
    if not args.kernel_only:
        micro = micro_case(args, work, compilers, linux)
        for label, r in micro.items():
            rows.append((label, r["gcc"], r["lvm-cc"]))

    print("\nbuild_speed: %(date)s, Linux %(linux)s i386 tinyconfig, %(cpus)s CPUs (%(cpu)s), "
          "%(gcc)s, -j%(jobs)d, CCACHE_DISABLE=1" % info)
    print(table(rows))
    if kernel:
        for name, r in kernel.items():
            c = r["compile"]
            if c["refused"]:
                print("%s: %d object(s) refused by lvm-as (escaped instructions); link skipped:"
                      % (name, len(c["refused"])))
                for obj, n in c["refused"]:
                    print("    %-50s %d finding(s)" % (obj, n))
            elif c["rc"]:
                print("%s: make . failed (exit %d); see %s" % (name, c["rc"], work / (name + ".log")))
            if not r["config_same"]:
                print("%s: .config after the build differs from the one given" % name)
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "kernel": kernel, "micro": micro},
                                              indent=1))


if __name__ == "__main__":
    main()
