"""The platform as a whole: the multitasking kernel (tests/kernels/multitask) runs
1000 PIT ticks (10 s of guest time) of a round-robin scheduler over three user
processes, logging to an IDE disk.  lvm must keep time (a lost tick would make the
run longer, a spurious one shorter), leave the host idle while the guest halts,
and leave the log on the disk image."""
import re
import resource
import subprocess
import time

import pytest

from test_kernels import LVM, OUT, built  # noqa: F401  (fixture)


def run_multitask(kernel, image):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    r = subprocess.run([str(LVM), "run", str(kernel), "-hda", str(image)], capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r, wall, cpu


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_multitasking_kernel_keeps_time_and_logs_to_disk(built, tmp_path, mode):
    image = tmp_path / "log.img"
    image.write_bytes(bytes(1 << 20))
    r, wall, cpu = run_multitask(OUT / mode / "multitask.elf", image)
    out = r.stdout.decode()
    assert r.returncode == 1, out + r.stderr.decode()
    m = re.search(r"ticks (\d+), records (\d+) \(process 1: (\d+), process 2: (\d+)\), "
                  r"disk interrupts (\d+)", out)
    assert m, out
    ticks, records, p1, p2, irqs = map(int, m.groups())
    assert ticks == 1000
    assert (p1, p2) == (100, 40), "sleeping 10 and 25 ticks over 1000 ticks"
    assert irqs == records + 1, "one completion interrupt per sector written"
    # 1000 ticks at 100 Hz: 10 s, plus start-up.  Lost ticks would stretch it.
    assert 9.9 <= wall <= 10.8, "%.2f s for 1000 ticks" % wall
    assert cpu < 0.25 * wall, "%.2f s of CPU in %.2f s: the halted guest must sleep" % (cpu, wall)
    disk = image.read_bytes()
    header = disk[:512].rstrip(b"\0").decode()
    assert header.startswith("lvm multitask log: %d records, 1000 ticks" % records), header
    lines = [disk[512 * i:512 * (i + 1)].rstrip(b"\0").decode() for i in range(1, records + 1)]
    seen = {1: [], 2: []}
    last_tick = 0
    for line in lines:
        t, p, c = map(int, re.fullmatch(r"tick (\d+) process (\d) count (\d+)\n", line).groups())
        assert t >= last_tick
        last_tick = t
        seen[p].append(c)
    assert seen[1] == list(range(100)) and seen[2] == list(range(40))
    assert disk[512 * (records + 1):].count(0) == len(disk) - 512 * (records + 1)


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_nonsense_programming_is_said_and_survived(built, mode):
    from test_kernels import lvm, qemu
    want = qemu(OUT / "native" / "oddities.elf")
    status, out, err = lvm(OUT / mode / "oddities.elf")
    assert (status, out) == want, err
    err = err.decode()
    for line in ("lvm: 8254: the guest loaded a count of 1 in mode 2 or 3",
                 "lvm: not emulated yet (ignored): 8254 modes 1, 4, 5",
                 "lvm: 8042: controller command 0xc5 not emulated",
                 "lvm: local APIC: the guest wrote a register that does not exist",
                 "lvm: I/O APIC: the guest routed an input to a reserved vector"):
        assert err.count(line) == 1, err


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_tsc_calibrates_against_the_pit(built, mode):
    # Linux's calibration loop (counter 2 through port 0x61 for 50 ms, TSC cycles
    # counted): lvm's PIT runs on host time and the TSC is the host's, so the rate
    # must agree with what the same kernel measures under QEMU (also the host TSC).
    from test_kernels import lvm, qemu

    def khz(out):
        m = re.search(rb"tsc (\d+) kHz", out)
        assert m, out
        return int(m.group(1))
    want = khz(qemu(OUT / "native" / "pit.elf", "-append", "show-tsc")[1])
    status, out, err = lvm(OUT / mode / "pit.elf", "-append", "show-tsc")
    assert status == 1, err
    assert abs(khz(out) - want) < want * 0.01, (khz(out), want)
