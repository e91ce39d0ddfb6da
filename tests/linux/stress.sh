# Debian's stress-ng (dynamically linked: ld.so, shared libraries, TLS) in the guest
# (tests/test_linux.py): each stressor, one instance, a fixed number of operations
# (the same work under lvm and QEMU), --verify where it has one; one T line each.
# Not sigsegv: its prctl(PR_SET_TSC) sets CR4.TSD, which lvm does not emulate (#GP:
# the kernel oopses).  A user rdtsc cannot be made to fault in-process without the
# monitor's own rdtsc faulting too.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
cd /tmp
n=0
for spec in fork:20 vfork:20 clone:20 exec:10 spawn:10 wait:20 zombie:20 \
	pipe:2000 sockpair:200 sock:20 udp:200 \
	signal:2000 sigq:2000 sigchld:20 sigpipe:200 sigsuspend:200 kill:500 \
	futex:2000 sem:2000 \
	mmap:5 mprotect:200 mremap:20 madvise:20 msync:10 brk:200 fault:20 stack:10 \
	timer:200 itimer:200 timerfd:200 nanosleep:20 \
	hdd:20 dentry:5 tmpfs:5 eventfd:2000 poll:200 epoll:20 \
	switch:2000 yield:2000 malloc:2000 memcpy:5 getrandom:200; do
	s=${spec%%:*} ops=${spec#*:}
	if stress-ng --$s 1 --$s-ops $ops --timeout 10s --verify -q >/tmp/out.$s 2>&1; then
		echo "T stress-ng $s: pass"
	else
		echo "T stress-ng $s: FAIL"
		tail -5 /tmp/out.$s
	fi
	n=$((n + 1))
done
echo "T stress-ng ran $n stressors"
