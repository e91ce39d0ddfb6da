# Linux's x86 selftests, the 32-bit builds (scripts/linux-selftests.py), one after
# another: each one's output, then `X <name> rc=<status>` (a test killed after 120 s
# by SIGKILL shows rc=137).  stdout is a file, so a crash loses what was buffered.
for t in /lvmtest/x86/*_32; do
  n=${t##*/}
  echo "== $n"
  timeout -s KILL 120 $t > /tmp/out 2>&1
  rc=$?
  cat /tmp/out
  echo "X $n rc=$rc"
done
