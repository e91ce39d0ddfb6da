#!/bin/sh
# Fetch Debian's linux-source-6.1 without installing it, and unpack the kernel tree
# into a cache directory keyed by the package version:
#
#     ${LVM_CACHE:-${XDG_CACHE_HOME:-~/.cache}/lvm}/linux-<package version>
#
# e.g. ~/.cache/lvm/linux-6.1.192-2.  Prints that directory (the top of the kernel
# tree: Makefile, arch/, kernel/, ...) on stdout; progress goes to stderr.
#
# How: `apt-get download linux-source-6.1` into <cache>/downloads, `dpkg -x` the
# .deb into a scratch directory, extract usr/src/linux-source-6.1.tar.xz from it
# into <dir>.tmp, then rename to <dir>: a tree exists only once it is complete.
# The .deb and the scratch directory are deleted afterwards (the tree is ~1.4 GB,
# the .deb ~140 MB).
#
# Idempotent: a second call finds the tree and returns at once.  `apt-get update`
# runs only if the package cannot be found or downloaded (no or stale lists).  With
# no package lists at all and a tree already cached, the newest cached tree is used.
# Safe without a terminal (CI), as root or not (sudo is used for `apt-get update`
# only), and against concurrent callers (flock).
#
# Environment: LVM_CACHE (cache root), LVM_LINUX_PKG (default linux-source-6.1).
set -eu

PKG=${LVM_LINUX_PKG:-linux-source-6.1}
BASE=${LVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lvm}

say() { echo "linux-source: $*" >&2; }
die() { say "error: $*"; exit 1; }

candidate() {
	# The version apt would install, or nothing if the lists do not know the package.
	apt-cache policy "$PKG" 2>/dev/null </dev/null |
		awk '/Candidate:/ { if ($2 != "(none)") print $2; exit }'
}

apt_update() {
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || die "apt-get update needs root (no sudo here)"
		SUDO="sudo -n"
	fi
	say "running apt-get update"
	$SUDO apt-get update -qq </dev/null >&2 || die "apt-get update failed"
}

newest_cached() {
	# The newest complete tree in the cache, if any.
	for d in "$BASE"/linux-*; do
		[ -f "$d/.lvm-source-complete" ] && echo "$d"
	done | sort -V | tail -n 1
}

mkdir -p "$BASE"

# Fast path: no lock, no apt work beyond one apt-cache look-up.
ver=$(candidate)
if [ -z "$ver" ]; then
	cached=$(newest_cached)
	if [ -n "$cached" ]; then
		echo "$cached"
		exit 0
	fi
fi
if [ -n "$ver" ] && [ -f "$BASE/linux-$ver/.lvm-source-complete" ]; then
	echo "$BASE/linux-$ver"
	exit 0
fi

# Slow path: one caller at a time.
exec 9>"$BASE/.linux-source.lock"
if ! flock -n 9; then
	say "another linux-source.sh is fetching; waiting for it"
	flock 9
fi

if [ -z "$ver" ]; then
	apt_update
	ver=$(candidate)
	[ -n "$ver" ] || die "no package $PKG in the apt lists, even after apt-get update"
fi
DEST="$BASE/linux-$ver"
if [ -f "$DEST/.lvm-source-complete" ]; then   # done by the caller we waited for
	echo "$DEST"
	exit 0
fi

DL="$BASE/downloads"
mkdir -p "$DL"
deb=$(ls "$DL"/"${PKG}"_*.deb 2>/dev/null | grep -F "_$(echo "$ver" | sed 's/:/%3a/')_" | head -n 1 || true)
if [ -z "$deb" ]; then
	say "downloading $PKG $ver (about 140 MB)"
	start=$(date +%s)
	# apt-get download writes into the current directory.  As root it warns that
	# the download is unsandboxed (the _apt user cannot write here): harmless.
	if ! (cd "$DL" && apt-get download -q "$PKG=$ver" </dev/null >&2 2>"$DL/apt.err"); then
		cat "$DL/apt.err" >&2
		say "download failed; refreshing the package lists and retrying"
		apt_update
		ver=$(candidate)
		[ -n "$ver" ] || die "no package $PKG in the apt lists after apt-get update"
		DEST="$BASE/linux-$ver"
		(cd "$DL" && apt-get download -q "$PKG=$ver" </dev/null >&2) ||
			die "apt-get download $PKG=$ver failed"
	else
		grep -v -e 'unsandboxed' -e "^W: *$" "$DL/apt.err" >&2 || true
	fi
	rm -f "$DL/apt.err"
	deb=$(ls -t "$DL"/"${PKG}"_*.deb | head -n 1)
	say "downloaded $(basename "$deb") ($(du -m "$deb" | cut -f1) MB) in $(($(date +%s) - start)) s"
fi

SCRATCH="$BASE/linux-$ver.deb.tmp"
TMP="$DEST.tmp"
rm -rf "$SCRATCH" "$TMP"
trap 'rm -rf "$SCRATCH" "$TMP" "$TMP.rc"' EXIT
trap 'exit 130' INT TERM HUP
say "unpacking $(basename "$deb")"
dpkg -x "$deb" "$SCRATCH"
tarball=$(ls "$SCRATCH"/usr/src/linux-source-*.tar.* | head -n 1)
[ -f "$tarball" ] || die "no usr/src/linux-source-*.tar.* in $(basename "$deb")"

say "extracting $(basename "$tarball") into $DEST (about 1.4 GB; progress every ~100 MB)"
start=$(date +%s)
mkdir -p "$TMP"
# One checkpoint per 10240-byte record: 10000 records = ~100 MB of tar stream.  dash
# has no pipefail, so tar's status comes back through a file.
{
	tar -x -f "$tarball" -C "$TMP" --strip-components=1 --no-same-owner \
		--checkpoint=10000 --checkpoint-action="echo=extracted %{}T" 2>&1
	echo $? >"$TMP.rc"
} | sed -u 's/^tar: /linux-source: /' >&2
rc=$(cat "$TMP.rc"); rm -f "$TMP.rc"
[ "$rc" = 0 ] || die "tar failed (status $rc)"
[ -f "$TMP/Makefile" ] && [ -d "$TMP/arch/x86" ] || die "extraction produced no kernel tree"
rm -rf "$SCRATCH"
echo "$PKG $ver" >"$TMP/.lvm-source-complete"
mv "$TMP" "$DEST"
trap - EXIT
rm -f "$deb"
say "done in $(($(date +%s) - start)) s: $DEST"
echo "$DEST"
