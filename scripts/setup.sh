#!/bin/sh
# Install what lvm needs on a fresh Debian machine: system packages (only those
# missing) and the Python package, editable, in .venv.  Idempotent and quiet when
# everything is there already; safe with no terminal (CI).
set -eu
cd "$(dirname "$0")/.."
# flex bison bc xz-utils: building Linux (tests/test_kbuild.py, bench/build_speed.py)
# e2fsprogs: the Linux guest's disk images (mke2fs -d, debugfs: tests/test_linux.py); git: patches/linux
# bmake byacc libbsd-dev makefs: the NetBSD guest (its config(1), its make rules, its FFS root)
# gdb: tests/test_gdb.py drives it against lvm run -gdb and QEMU's gdbstub
PKGS="gcc gcc-multilib binutils make clang ccache qemu-system-x86 gdb flex bison bc xz-utils e2fsprogs git bmake byacc libbsd-dev makefs"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing system packages:$missing"
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
	echo "setup: creating .venv"
	$PY -m venv .venv
fi
extras=test stamp=.venv/.lvm-installed
if [ "${1:-}" = bench ]; then
	extras=test,bench stamp=.venv/.lvm-installed-bench
fi
if [ ! -f $stamp ] || [ pyproject.toml -nt $stamp ]; then
	echo "setup: installing the lvm package (editable) and its $extras dependencies"
	.venv/bin/pip install -q --disable-pip-version-check -e ".[$extras]"
	touch $stamp .venv/.lvm-installed      # bench includes test
fi
