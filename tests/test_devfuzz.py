"""Random device programming (tests/kernels/devfuzz): from a seed, thousands of
random port and MMIO accesses to every device, with interrupts on.  Whatever the
guest does to its devices, lvm must end the run as the guest asks (its exit, or a
reset), never crash, hang, report a host bug or a guest error; one-line
complaints about nonsense programming are fine.

`make test` runs a few seeds, among them those that found bugs; `make fuzz` runs
many (LVM_FUZZ_SEEDS=FIRST-LAST, LVM_FUZZ_OPS operations each).
"""
import os
import subprocess

import pytest

from test_kernels import LVM, OUT, built  # noqa: F401 (fixture)

# Seeds that found bugs (the regression cases), then a few more.
FOUND = {
    4: "local APIC: an Error LVT with a vector below 16 raised errors for ever (hang)",
    5: "8254: counter 2 gated on before any count was written divided by 0 (SIGFPE)",
}
SEEDS = list(FOUND) + [1, 2, 3]
HANG = 30


def fuzz(mode, seed, tmp_path, extra="", ops=None):
    disk = tmp_path / ("disk-%s-%d.img" % (mode, seed))
    with open(disk, "wb") as f:
        f.truncate(1 << 20)                  # the IDE commands have a disk to work on
    words = "seed=%d%s%s" % (seed, " ops=%d" % ops if ops else "", extra)
    argv = [str(LVM), "run", str(OUT / mode / "devfuzz.elf"), "-hda", str(disk), "-append", words]
    try:
        r = subprocess.run(argv, capture_output=True, timeout=HANG, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        tail = (e.stderr or b"").decode(errors="replace")[-2000:]
        pytest.fail("%s seed %d%s: no end after %d s (a hang)\n%s" % (mode, seed, extra, HANG, tail))
    finally:
        disk.unlink()
    err = r.stderr.decode(errors="replace")
    assert "internal error" not in err and "guest error" not in err, err[-3000:]
    assert b"devfuzz done" in r.stdout, (r.returncode, r.stdout[-300:], err[-2000:])
    reset = r.returncode == 0 and "lvm: guest reset" in err
    assert r.returncode == 1 or reset, (r.returncode, err[-2000:])


@pytest.mark.parametrize("mode", ["call", "trap"])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_device_programming_never_breaks_lvm(built, tmp_path, mode, seed):
    fuzz(mode, seed, tmp_path)


@pytest.mark.parametrize("mode", ["call", "trap"])
def test_random_device_programming_with_paging(built, tmp_path, mode):
    fuzz(mode, 6, tmp_path, " paging")


# `make fuzz` only: defined when LVM_FUZZ_SEEDS names a range (e.g. 1-300), so that
# `make test` neither runs nor reports it.
if os.environ.get("LVM_FUZZ_SEEDS"):
    _first, _, _last = os.environ["LVM_FUZZ_SEEDS"].partition("-")

    @pytest.mark.parametrize("extra", ["", " paging"])
    @pytest.mark.parametrize("mode", ["call", "trap"])
    @pytest.mark.parametrize("seed", range(int(_first), int(_last or _first) + 1))
    def test_many_seeds(built, tmp_path, mode, seed, extra):
        fuzz(mode, seed, tmp_path, extra, int(os.environ.get("LVM_FUZZ_OPS", "50000")))
