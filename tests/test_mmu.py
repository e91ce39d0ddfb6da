"""MMU facts the QEMU transcript cannot show: what lvm's shadow does (LVM_STATS),
page tables pointing outside guest memory, pages below vm.mmap_min_addr, and
guest memory sizes.  Kernels are built by test_kernels' `built` fixture."""
import os
import re
import shutil

import pytest

from test_kernels import OUT, built, lvm, qemu  # noqa: F401  (fixture)

MODES = ["call", "trap"]


def stats(err):
    m = re.search(rb"lvm stats: (.*)", err)
    assert m, err
    return {k.decode(): int(v) for k, v in re.findall(rb"(\w+) (\d+)", m.group(1))}


def run_with_stats(kernel, *args):
    os.environ["LVM_STATS"] = "1"
    try:
        return lvm(kernel, *args)
    finally:
        del os.environ["LVM_STATS"]


@pytest.mark.parametrize("mode", MODES)
def test_global_pages_survive_cr3_loads(built, mode):
    # 1000 CR3 loads, each followed by reads of 8 global pages: without global
    # pages kept, that is >= 8000 shadow fills.
    status, out, err = run_with_stats(OUT / mode / "global.elf")
    assert status == 1 and b"done" in out, err
    s = stats(err)
    assert s["cr3_loads"] >= 1000
    assert s["fills"] < 200, s


@pytest.mark.parametrize("mode", MODES)
def test_device_register_reads_do_not_trap(built, mode):
    # The mmio kernel reads the local APIC ID 100000 times: from the mirror page,
    # natively; only its stores and a few dozen other accesses are emulated.
    status, out, err = run_with_stats(OUT / mode / "mmio.elf")
    assert status == 1 and b"100000 id reads: 0" in out, err
    s = stats(err)
    assert 0 < s["device_insns"] < 500, s
    assert s["mirror_fills"] >= 2, s


@pytest.mark.parametrize("mode", MODES)
def test_user_fault_retry_is_filled_before_it_runs(built, mode):
    # pfretry's seven user #PFs: four are fixed and retried at the same instruction
    # in the same address space, and lvm maps those pages before the retry runs (no
    # second host fault); the two left unfixed and the one resumed elsewhere are
    # not (the transcript, QEMU's, shows their A/D bits: test_kernels).
    status, out, err = run_with_stats(OUT / mode / "pfretry.elf")
    assert status == 1 and b"done" in out, err
    assert stats(err)["retry_fills"] == 4, stats(err)


# --- page tables pointing where there is nothing: a clear report, status 4 --------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case, message", [
    ("cr3-outside", b"page directory entry for 0x"),
    ("pde-outside", b"page table entry for 0x800000 lies outside guest memory"),
    ("pte-outside", b"physical 0xf0000000 is outside guest memory"),
    ("kernel-top", b"write to 0xffffe010: the top 8 KiB of the address space are lvm's"),
])
def test_tables_outside_guest_memory(built, mode, case, message):
    status, out, err = lvm(OUT / mode / "badmmu.elf", "-append", case)
    assert status == 4, (out, err)
    assert message in err and b"lvm: guest error" in err


@pytest.mark.parametrize("mode", MODES)
def test_user_code_cannot_reach_the_vcpu_page(built, mode):
    # The guest maps 0xfffff000 for its user program, which writes it.  There is
    # lvm's vCPU page: the guest is stopped with a report; the monitor's state is
    # not corrupted (the user limit always stops below it; a user process has no
    # such page either).
    for userproc in ("off", "on"):
        status, out, err = lvm(OUT / mode / "badmmu.elf", "-lvm-userproc", userproc, "-append", "user-top")
        assert status == 4, (userproc, out, err)
        assert b"user code accessed 0xfffff000" in err and b"lvm's (the vCPU page" in err, (userproc, err)


@pytest.mark.parametrize("mode", MODES)
def test_reserved_bit_in_a_4m_entry(built, mode):
    # lvm's CPUID has no PSE-36, so bit 13 of a 4 MiB entry is reserved: #PF with
    # P and RSVD (err 9) at the address.  (QEMU's default CPU has PSE-36: there the
    # bit is a physical address bit, so this case is not differential.)
    status, out, err = lvm(OUT / mode / "badmmu.elf", "-append", "pde-reserved")
    assert b"vector 14 err 9 cr2 c00000" in out, (out, err)


@pytest.mark.parametrize("mode", MODES)
def test_cr3_low_bits_ignored_as_qemu(built, mode):
    want = qemu(OUT / "native" / "badmmu.elf", "-append", "cr3-low-bits")
    status, out, err = lvm(OUT / mode / "badmmu.elf", "-append", "cr3-low-bits")
    assert (status, out) == want, err


# --- page 0: vm.mmap_min_addr -------------------------------------------------------

def mmap_min_addr():
    with open("/proc/sys/vm/mmap_min_addr") as f:
        return int(f.read())


def unprivileged():
    """A prefix that runs lvm without CAP_SYS_RAWIO (what an ordinary user has), or
    () if we are that user already."""
    if os.geteuid() != 0:
        return ()
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot drop CAP_SYS_RAWIO")
    return ("setpriv", "--bounding-set", "-sys_rawio")


def lvm_unprivileged(kernel, *args):
    import subprocess
    from test_kernels import LVM, TIMEOUT
    r = subprocess.run([*unprivileged(), str(LVM), "run", str(kernel), *args],
                       capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("mode", MODES + ["call-isolated", "trap-isolated"])
@pytest.mark.parametrize("case", ["page0", "user-page0"])
def test_data_below_mmap_min_addr_is_emulated(built, mode, case):
    if mmap_min_addr() == 0:
        pytest.skip("this host lets anyone map page 0")
    want = qemu(OUT / "native" / "badmmu.elf", "-append", case)
    assert want[0] == 1 and b"done" in want[1]
    base, _, isolated = mode.partition("-")
    status, out, err = lvm_unprivileged(OUT / base / "badmmu.elf", *(["--isolate"] if isolated else []),
                                        "-append", case)
    assert (status, out) == want, err


@pytest.mark.parametrize("mode", MODES + ["call-isolated", "trap-isolated"])
def test_code_below_mmap_min_addr_is_reported(built, mode):
    if mmap_min_addr() == 0:
        pytest.skip("this host lets anyone map page 0")
    base, _, isolated = mode.partition("-")
    status, out, err = lvm_unprivileged(OUT / base / "badmmu.elf", *(["--isolate"] if isolated else []),
                                        "-append", "user-code0")
    assert status == 4, (out, err)
    assert b"executes code at 0x100, below this host's vm.mmap_min_addr" in err
    assert b"sysctl -w vm.mmap_min_addr=0" in err


@pytest.mark.parametrize("mode", MODES)
def test_code_at_page_0_runs_with_privilege(built, mode):
    if os.geteuid() != 0 and mmap_min_addr() != 0:
        pytest.skip("needs CAP_SYS_RAWIO or vm.mmap_min_addr=0")
    want = qemu(OUT / "native" / "badmmu.elf", "-append", "user-code0")
    status, out, err = lvm(OUT / mode / "badmmu.elf", "-append", "user-code0")
    assert (status, out) == want, err


# --- memory sizes -------------------------------------------------------------------

@pytest.mark.parametrize("size", ["16M", "2G"])
@pytest.mark.parametrize("kernel", ["paging", "cow", "mmio"])
def test_memory_sizes(built, size, kernel):
    want = qemu(OUT / "native" / (kernel + ".elf"), "-m", size)
    status, out, err = lvm(OUT / "call" / (kernel + ".elf"), "-m", size)
    assert (status, out) == want, err


@pytest.mark.parametrize("mode", MODES)
def test_kernel_pages_are_revoked_wherever_they_are(built, mode):
    # The same kernel and user program (bench/kernels/kabove, kbelow), the user
    # part below or above the kernel: either way the kernel's pages are unmapped on
    # each of the 4000 returns to user mode (segment limits alone would let user
    # code that reloads DS with the host's flat 0x2b reach them: test_hardening).
    # With user code in a process of its own there is nothing to revoke: that
    # process never maps them (test_hardening runs the attacks both ways).
    for kernel in ("kabove", "kbelow"):
        status, out, err = run_with_stats(OUT / mode / (kernel + ".elf"), "-lvm-userproc", "off")
        assert status == 1 and b"op user-syscall-kernel-" in out, err
        assert stats(err)["revoked"] > 4000, (kernel, stats(err))
        status, out, err = run_with_stats(OUT / mode / (kernel + ".elf"), "-lvm-userproc", "on")
        assert status == 1 and b"op user-syscall-kernel-" in out, err
        assert stats(err)["revoked"] == 0, (kernel, stats(err))


@pytest.mark.parametrize("mode", MODES)
def test_fault_around_refills_runs(built, mode):
    # pfbench re-touches, after CR3 loads, pages it used before, physically
    # contiguous: most of them must come in with a neighbour's fill.  (That no
    # page comes in early without its A bit, or writable without D, is the
    # paging kernel's differential case.)
    status, out, err = run_with_stats(OUT / mode / "pfbench.elf")
    assert status == 1 and b"done" in out, err
    s = stats(err)
    assert s["around"] > 4 * s["fills"], s


@pytest.mark.parametrize("mode", MODES)
def test_cr3_reloads_keep_what_did_not_change(built, mode):
    # The aspaces kernel ends with 1000 reloads of one unchanged directory, each
    # followed by reads of 16 pages: a shadow thrown away at each load would be
    # >= 16000 fills (its transcript, with every change a CR3 load must show, is
    # compared with QEMU's by test_kernels).
    status, out, err = run_with_stats(OUT / mode / "aspaces.elf")
    assert status == 1 and b"done" in out, err
    s = stats(err)
    assert s["cr3_loads"] >= 1000 + 240, s
    assert s["fills"] < 1000, s


@pytest.mark.parametrize("mode", MODES)
def test_switches_among_recent_address_spaces_keep_their_mappings(built, mode):
    # uspaces runs user code in 12 address spaces, 1000 switches among them at the
    # end.  With a user process for each (-lvm-aspaces 16) a switch back keeps what
    # the space had mapped: ~100 fills in all; with one (the refill design), every
    # switch refills its data, stack and code pages.  What each switch must show is
    # compared with QEMU's transcript by test_kernels and below.
    kept = stats(run_with_stats(OUT / mode / "uspaces.elf", "-lvm-aspaces", "16")[2])
    one = stats(run_with_stats(OUT / mode / "uspaces.elf", "-lvm-aspaces", "1")[2])
    assert kept["aspace_switches"] >= 1000 and kept["aspace_misses"] <= 12, kept
    assert kept["fills"] < 300 and one["fills"] > 2000, (kept, one)


@pytest.mark.parametrize("mode", MODES)
def test_kernel_touches_after_a_switch_are_mapped_again_exactly(built, mode):
    # khot: a system call in each of 3 spaces reads the same user pages from the
    # kernel, round robin; lvm maps them again at the CR3 load (runtime/host/mmu/khot.c).
    # What each touch sees (a page moved, A/D/P/W cleared, a frame reused while its
    # space was not current) is QEMU's transcript, compared by test_kernels; here,
    # that the refills happen, so that transcript tests them.
    status, out, err = run_with_stats(OUT / mode / "khot.elf")
    assert status == 1 and b"300 right, 0 wrong" in out, err
    s = stats(err)
    assert s["kernel_refills"] >= 300, s


@pytest.mark.parametrize("mode", MODES)
def test_host_page_tables_are_kept_by_anchors(built, mode):
    # anchors: user code and the kernel touch both ends of 2 MiB ranges, where lvm
    # keeps a PROT_NONE page per range so the host keeps its page table there
    # (runtime/host/mmu/anchor.c); each touch of such a page while the guest has not
    # mapped it must be the guest's fault, and a page the guest maps there takes the
    # anchor's place (QEMU's transcript, test_kernels).  Here: that anchors are
    # placed, in both views, so that the transcript tests them.
    status, out, err = run_with_stats(OUT / mode / "anchors.elf")
    assert status == 1 and out.endswith(b"done\r\n"), (out, err)
    assert stats(err)["anchors"] >= 8, err


@pytest.mark.parametrize("mode", MODES)
def test_a_fault_that_nothing_fixes_is_a_loop_reported(built, mode):
    # pfsweep's sweep (one store faulting on 25,000 fresh pages, more than the loop
    # limit) is compared with QEMU by test_kernels: faults at one EIP that make
    # progress run.  With `loop` its handler fixes nothing: the same fault from the
    # same registers, which lvm ends with a report (QEMU would spin for ever).
    status, out, err = lvm(OUT / mode / "pfsweep.elf", "-append", "loop")
    assert status == 4 and b"fixes nothing" in out and b"not fixed" not in out, (out, err)
    assert b"exception loop: #14 (error code 0x2, cr2 0x40000000) raised 20000 times" in err, err
    assert b"eip=" in err and b"last events" in err, err


@pytest.mark.parametrize("kernel,aspaces", [("uspaces", "1"), ("uspaces", "3"), ("uspaces", "16"),
                                            ("khot", "1"), ("khot", "2"),
                                            ("userfpu", "1"), ("userfpu", "2")])
@pytest.mark.parametrize("mode", MODES)
def test_address_spaces_beyond_the_cap_are_exact(built, mode, kernel, aspaces):
    # Fewer user processes than address spaces (1, 3; khot's and userfpu's 3 in 1
    # or 2: one process then holds the x87/SSE state of several spaces), and more
    # (16): the least recently used process goes to another directory (and its hot
    # pages are forgotten); its snapshot comparison keeps it exact, so the
    # transcript is QEMU's whatever the cap.
    from test_kernels import reference
    want_status, want = reference(kernel)
    status, got, err = lvm(OUT / mode / (kernel + ".elf"), "-lvm-aspaces", aspaces)
    assert (status, got) == (want_status, want), err
