# A shell session in the Linux guest (tests/test_linux.py): each check prints one
# line starting with "T ", the same under lvm and under QEMU with the native kernel.
echo "T uname $(uname -srm)"
echo "T cpus $(grep -c ^processor /proc/cpuinfo)"
echo "T pipe $(seq 1 20000 | awk '{ s += $1 } END { print s }')"
echo "T subshell $( (sleep 0.1; echo done) )"
sh -c 'kill -TERM $$'
echo "T killed by TERM: status $?"
trap 'echo "T trapped USR1"' USR1
kill -USR1 $$
i=0
while [ $i -lt 100 ]; do /bin/true; i=$((i + 1)); done
echo "T 100 fork+exec"
sleep 1 &
wait $!
echo "T background job: status $?"
dd if=/dev/urandom of=/tmp/r bs=1k count=2048 2>/dev/null
cp /tmp/r /tmp/r2
cmp /tmp/r /tmp/r2 && echo "T tmpfs copy of 2 MiB identical"
echo "T meminfo $(grep -c -E '^(MemTotal|MemFree):' /proc/meminfo)"
echo "T self $(readlink /proc/self/exe)"
echo "T sysfs $(cat /sys/class/tty/console/active)"
ls /dev/null /dev/zero /dev/ttyS0 >/dev/null && echo "T devtmpfs"
if [ -b /dev/sda ]; then
	mount -t ext2 /dev/sda /mnt && echo "T disk says $(cat /mnt/hello)"
	seq 1 5000 > /mnt/out
	sync
	umount /mnt && echo "T disk written and unmounted"
else
	echo "T no disk"
fi
if dmesg | grep -E -i -q 'oops|warning|bug:|call trace|lvm:'; then
	echo "T dmesg has warnings:"
	dmesg | grep -E -i -A3 'oops|warning|bug:|call trace|lvm:'
else
	echo "T dmesg clean"
fi
