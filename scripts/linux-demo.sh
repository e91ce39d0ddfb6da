#!/bin/sh
# `make demo`'s last step: Linux (out/linux/call/bzImage) to a busybox shell.
#
# On a terminal: the shell is yours (Ctrl-A x quits lvm, Ctrl-A h for help; `exit`
# reboots, which ends lvm).  In a pipe or from a file: the commands given on stdin
# run as a script and the guest then reboots, which ends lvm.  They reach the guest
# on a disk image (lvm's IDE, /dev/sda), not typed on the serial line: bytes that
# arrive on a serial line before Linux opens it are lost, as on a real one.
set -eu
cd "$(dirname "$0")/.."
LVM=.venv/bin/lvm
KERNEL=${LINUX_KERNEL:-out/linux/call/bzImage}
INITRD=out/linux/initramfs.cpio.gz
APPEND="console=ttyS0 panic=-1"
if [ -t 0 ]; then
	echo "== Linux under lvm: a busybox shell (Ctrl-A x quits, 'exit' reboots and ends lvm)"
	exec $LVM run "$KERNEL" -m 256M -initrd "$INITRD" -append "$APPEND"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/commands"
# a whole number of sectors, the padding one line of blanks (after a newline if
# the input did not end with one)
printf '\n' >> "$tmp/commands"
size=$(wc -c < "$tmp/commands")
pad=$(( (512 - size % 512) % 512 ))
[ "$pad" -eq 0 ] || printf "%$((pad - 1))s\n" '' | head -c "$pad" >> "$tmp/commands"
echo "== Linux under lvm: running the $size bytes of commands from stdin, then rebooting"
$LVM run "$KERNEL" -m 256M -initrd "$INITRD" -hda "$tmp/commands" -append "$APPEND lvm.run=/dev/sda"
