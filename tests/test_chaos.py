"""Random user programs (tests/kernels/chaos): 150 programs of 48 random bytes per
seed, run single-stepped at CPL 3 under paging, the user part below the kernel (as
Linux, xv6: lvm guards the kernel with segment limits) or above it (revocation).

* Seeds checked to agree with the hardware-faithful parts of QEMU: the transcript
  (which exception ended each program, where, with which error code and CR2) must
  be QEMU's, in call and trap mode.  The seeds left out branch on flags the
  architecture leaves undefined, or hit the QEMU differences the kernel lists.
* More seeds, lvm only: whatever random user code does, the run ends normally (the
  guest's own exit or a guest-error report), never with a host bug, a crash or a
  hang.
"""
import pytest

from test_kernels import OUT, built, lvm, qemu  # noqa: F401  (fixture)

AGREEING = [1, 2, 3, 4, 6, 7, 9, 10]


@pytest.mark.parametrize("layout", ["", " above"])
@pytest.mark.parametrize("mode", ["call", "trap"])
@pytest.mark.parametrize("seed", AGREEING)
def test_random_user_programs_match_qemu(built, mode, seed, layout):
    # The user part below the kernel (segment limits guard it) or above (revocation).
    args = ("-append", "seed=%d%s" % (seed, layout))
    want = qemu(OUT / "native" / "chaos.elf", *args)
    assert want[0] == 1 and want[1].count(b"\n") > 150, want
    status, out, err = lvm(OUT / mode / "chaos.elf", *args)
    assert (status, out) == want, err


@pytest.mark.parametrize("layout", ["", " above"])
@pytest.mark.parametrize("mode", ["call", "trap"])
@pytest.mark.parametrize("seed", range(100, 130))
def test_random_user_programs_never_break_lvm(built, mode, seed, layout):
    status, out, err = lvm(OUT / mode / "chaos.elf", "-append", "seed=%d%s" % (seed, layout))
    assert b"internal error" not in err, err
    assert status in (1, 0xff) and (out.endswith(b"done\r\n") or b"kernel fault" in out), \
        (status, out[-300:], err[-500:])
