"""Guest code attacking lvm's own state (tests/kernels/hostile): user programs
that reload segment registers with the host's flat selectors to reach the vCPU
page, the entry stub and their kernel's memory, a kernel that scribbles over the
vCPU page, user code that jumps to the host's 64-bit selector.  QEMU has no vCPU
page, so these are lvm's own assertions; the kernel's-half accesses through flat
selectors are also in the userlimit kernel, compared with QEMU.  Each user case
runs with user code in the monitor's process and in a process of its own
(-lvm-userproc off/on): where they differ, both outcomes are written here."""
import pytest

from lvm import vcpu
from test_kernels import OUT, built, lvm  # noqa: F401  (fixture)

LAYOUT = vcpu.layout()

MODES = ["call", "trap"]
USERPROC = ["off", "on"]


def run(mode, case, userproc="off"):
    status, out, err = lvm(OUT / mode / "hostile.elf", "-lvm-userproc", userproc, "-append", case)
    lines = out.decode().splitlines()
    assert lines[:1] == ["case " + case], (out, err)
    return status, lines[1:], err


@pytest.mark.parametrize("userproc", USERPROC)
@pytest.mark.parametrize("mode", MODES)
def test_user_cannot_make_itself_cpl0(built, mode, userproc):
    # cpl = 0 and vif = 0 written on the vCPU page through DS = 0x2b: out, mov from
    # CR0, cli and hlt are still the #GP(0) of CPL 3, and nothing else happens.
    status, lines, err = run(mode, "user-cpl", userproc)
    assert status == 1, (lines, err)
    writes = [] if userproc == "off" else ["#PF cr2 fffff014 err 6 at cpl 3",
                                           "#PF cr2 fffff008 err 6 at cpl 3"]
    assert lines == ["entering user mode"] + writes + ["#GP err 0 at cpl 3"] * 4 + ["done"], err


@pytest.mark.parametrize("userproc", USERPROC)
@pytest.mark.parametrize("mode", MODES)
def test_user_sees_no_kernel_state_on_the_vcpu_page(built, mode, userproc):
    # In the monitor's process: the registers saved at the last monitor entry (the
    # kernel's, at its iret), CR3 and DR7 all read as 0 from user mode.  In a user
    # process there is no vCPU page: each read is the #PF of the guest's tables.
    status, lines, err = run(mode, "user-peek", userproc)
    assert status == 1, (lines, err)
    reads = (["user read 0"] * 3 if userproc == "off" else
             ["#PF cr2 %x err 4 at cpl 3" % a for a in (LAYOUT.addr("saved"), LAYOUT.addr("cr", 3),
                                                         LAYOUT.addr("dr", 7))])
    assert lines == ["entering user mode"] + reads + ["done"], err


@pytest.mark.parametrize("userproc", USERPROC)
@pytest.mark.parametrize("mode", MODES)
def test_user_cannot_mask_interrupts(built, mode, userproc):
    # Writing vif = 0 in a loop: the PIT still interrupts the user program.
    status, lines, err = run(mode, "user-vif", userproc)
    assert status == 1, (lines, err)
    assert lines[-2:] == ["3 timer interrupts in user mode, last at cpl 3", "done"], err


@pytest.mark.parametrize("userproc", USERPROC)
@pytest.mark.parametrize("mode", MODES)
def test_flat_selectors_do_not_reach_the_kernel(built, mode, userproc):
    # DS, SS and CS reloaded with 0x2b/0x23 (no lvm limit bounds them): every
    # access to the kernel's half is the #PF the guest's tables give.
    status, lines, err = run(mode, "user-kernel", userproc)
    assert status == 1, (lines, err)
    assert lines == ["entering user mode", "#PF cr2 c0000000 err 5 at cpl 3",
                     "#PF cr2 c0000004 err 7 at cpl 3", "#PF cr2 c000000c err 7 at cpl 3",
                     "#PF cr2 c0000100 err 5 at cpl 3", "user read 11", "done"], err


@pytest.mark.parametrize("userproc", USERPROC)
@pytest.mark.parametrize("mode", MODES)
def test_user_call_into_the_entry_stub_is_cpl3(built, mode, userproc):
    # A forged "emulate this" frame through lvm's entry stub: emulated with the
    # rights of CPL 3.  A user process has no stub: 64-bit code there is the
    # guest's error (the far jump test below).
    status, lines, err = run(mode, "user-stub", userproc)
    if userproc == "on":
        assert status == 4, (lines, err)
        assert b"guest code switched to the host's 64-bit code segment" in err
        return
    assert status == 1, (lines, err)
    assert lines == ["entering user mode", "#GP err 0 at cpl 3", "user read 22", "done"], err


@pytest.mark.parametrize("mode", MODES)
def test_kernel_scribbling_on_the_vcpu_page_breaks_nothing(built, mode):
    # The monitor keeps its own copy: control registers, port I/O, interrupts and
    # paging go on; the far pointer that used to be there is not followed.
    status, lines, err = run(mode, "kernel-scribble")
    assert status == 1, (lines, err)
    assert lines == ["after the scribble: cr0 kept, cr3 kept", "kernel half after a CR3 load: c0c0",
                     "user read 5c", "user read 5d", "done"], err


@pytest.mark.parametrize("userproc", USERPROC)
@pytest.mark.parametrize("mode", MODES)
def test_user_jump_to_64bit_code_is_a_guest_error(built, mode, userproc):
    status, lines, err = run(mode, "user-far64", userproc)
    assert status == 4, (lines, err)
    assert b"lvm: guest error: guest code switched to the host's 64-bit code segment" in err
    assert b"internal error" not in err


@pytest.mark.parametrize("mode", MODES)
def test_multiboot_starts_with_grubs_selectors(built, mode):
    # CS 0x08, DS 0x10 as GRUB leaves them: a kernel whose GDT has that layout and
    # that never reloads CS survives its first iret (tests/kernels/bootsel).
    status, out, err = lvm(OUT / mode / "bootsel.elf")
    assert (status, out.decode().splitlines()) == (1, [
        "at entry: cs 8 ds 10", "after an interrupt and iret: cs 8, 1 interrupt"]), err
