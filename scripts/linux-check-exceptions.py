#!/usr/bin/env python3
"""linux-check-exceptions.py OBJECT: `lvm check` OBJECT against patches/linux/check-exceptions.

Run by scripts/linux-cc on an object lvm-as refused, after building it again without
the check.  Every finding must match an entry of the list; if one does not, the
unmatched findings are printed as lvm-as prints them, the object is removed and the
exit status is 1.  Otherwise one line says how many findings which entries accepted
(it goes to Kbuild's log; scripts/linux-build.py sums them up), and the status is 0.

The list's format, one entry a line (`#` starts a comment; the comment on an entry's
own line is its reason, which is required):

    OBJECTS  SECTION  SYMBOLS  RULES  # why, and the design fix that removes the entry

OBJECTS is a glob over the object's path in the build directory (`*` any), SECTION the
section name (`*` any), SYMBOLS the comma-separated symbols the findings are reported
at (`lvm check`'s <symbol>; `*` any), RULES the comma-separated rule names (`lvm rules`).
LVM_CHECK_EXCEPTIONS names another list (tests; a kernel of one's own).
"""
import fnmatch
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIST = Path(os.environ.get("LVM_CHECK_EXCEPTIONS") or ROOT / "patches" / "linux" / "check-exceptions")
sys.path.insert(0, str(ROOT / "toolchain"))


def load(path=LIST):
    entries = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        body, _, why = line.partition("#")
        words = body.split()
        if not words:
            continue
        if len(words) != 4 or not why.strip():
            raise SystemExit("%s:%d: want `OBJECTS SECTION SYMBOLS RULES # why`" % (path, n))
        objs, sec, syms, rules = words
        entries.append((n, objs, sec, None if syms == "*" else set(syms.split(",")),
                        set(rules.split(","))))
    return entries


def accepts(entry, obj, f):
    _, objs, sec, syms, rules = entry
    return (fnmatch.fnmatchcase(obj, objs) and (sec == "*" or f.section == sec)
            and (syms is None or f.symbol in syms) and f.rule in rules)


def main():
    from lvm.check import check_file, format_finding
    from lvm.errors import LvmError
    obj = sys.argv[1]
    entries = load()
    try:
        findings = check_file(obj, allow_code16=os.environ.get("LVM_CHECK") == "code16")
    except LvmError as e:
        sys.stderr.write("lvm-as: error: %s\n" % e)
        return 1
    used, left = {}, []
    for f in findings:
        e = next((e for e in entries if accepts(e, obj, f)), None)
        if e is None:
            left.append(f)
        else:
            used[e[0]] = used.get(e[0], 0) + 1
    rel = os.path.relpath(LIST, ROOT)
    if left:
        for f in left:
            sys.stderr.write("lvm-as: error: %s\n" % format_finding(f))
        sys.stderr.write("lvm-as: %d interesting instruction(s) escaped rewriting; %s removed "
                         "(%d more accepted by %s)\n" % (len(left), obj, len(findings) - len(left), rel))
        os.unlink(obj)
        return 1
    sys.stderr.write("linux-cc: %s: %d finding(s) accepted by %s: %s\n"
                     % (obj, len(findings), rel,
                        ", ".join("line %d: %d" % kv for kv in sorted(used.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
