# A kernel panic (tests/test_linux.py): must end the emulator with status 3
# (patches/linux/0002-panic-ends-the-emulator.patch), with the panic on the console.
echo "T panicking"
echo c > /proc/sysrq-trigger
echo "T still alive"
