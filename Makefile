# lvm: top-level build.  `make demo` and `make test` work on a fresh machine.
VENV    := .venv
BIN     := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
OUT     := out
PYTEST_ARGS ?=

.PHONY: all setup setup-bench demo demo-netbsd test bench bench-os bench-os-profile clean kernels monitor linux initramfs fuzz netbsd
all: setup monitor kernels

# The monitor: 64-bit C, one binary.  vcpu-offsets.h is generated from lvm/vcpu.h.
MON_SRC  := $(wildcard runtime/host/*.c runtime/host/mmu/*.c runtime/host/devices/*.c runtime/host/boot/*.c) runtime/host/switch.S runtime/host/isostub.S runtime/host/usergate.S
MON_HDR  := $(wildcard runtime/host/*.h runtime/host/mmu/*.h runtime/host/devices/*.h runtime/host/boot/*.h runtime/include/lvm/*.h)
MON_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11 -fno-stack-protector -mgeneral-regs-only \
              -Iruntime/include -Iruntime/host -I$(OUT)/gen
monitor: setup $(OUT)/bin/lvm-monitor

$(OUT)/gen/vcpu-offsets.h: runtime/include/lvm/vcpu.h toolchain/lvm/vcpu.py
	@mkdir -p $(@D)
	$(BIN)/lvm layout --c-header > $@.tmp && mv $@.tmp $@

# The guest subroutines' machine code, for the monitor to recognize (singlestep.c).
$(OUT)/gen/guest-code.h: scripts/guest-code-header.py $(wildcard runtime/guest/*.j2) runtime/include/lvm/vcpu.h toolchain/lvm/render.py toolchain/lvm/guestcode.py toolchain/lvm/vcpu.py
	@mkdir -p $(@D)
	$(BIN)/python scripts/guest-code-header.py > $@.tmp && mv $@.tmp $@

$(OUT)/bin/lvm-monitor: $(MON_SRC) $(MON_HDR) $(OUT)/gen/vcpu-offsets.h $(OUT)/gen/guest-code.h
	@mkdir -p $(@D)
	gcc $(MON_CFLAGS) -o $@ $(MON_SRC)

setup:
	@scripts/setup.sh

# setup plus the benchmarks' own Python packages (pyproject's "bench" extra: matplotlib).
setup-bench:
	@scripts/setup.sh bench

# Sample kernels, built with lvm-cc in both modes and with plain gcc (the QEMU reference).
kernels: setup
	@$(MAKE) --no-print-directory -C tests/kernels OUT=$(CURDIR)/$(OUT)/kernels

# The default guest is Linux (call mode): a busybox shell on a terminal; from a pipe,
# stdin's commands (scripts/linux-demo.sh).  The sample kernel comes first.
# Only the last step reads stdin: the sample kernel's console would take the commands.
demo: monitor kernels initramfs
	@LINUX_MODES=call $(MAKE) --no-print-directory linux < /dev/null
	@echo "== lvm check of the sample kernel (call and trap mode builds)"
	@$(BIN)/lvm check --summary $(OUT)/kernels/call/hello.elf $(OUT)/kernels/trap/hello.elf
	@echo "== the same kernel built with plain gcc is refused by lvm run:"
	@! $(BIN)/lvm run $(OUT)/kernels/native/hello.elf < /dev/null
	@echo "== lvm run, call mode"
	@$(BIN)/lvm run $(OUT)/kernels/call/hello.elf < /dev/null; test $$? -eq 1
	@echo "== lvm run, trap mode"
	@$(BIN)/lvm run $(OUT)/kernels/trap/hello.elf < /dev/null; test $$? -eq 1
	@scripts/linux-demo.sh

# The Linux guest's tests (tests/test_linux.py) need its three kernels: `make linux`
# (cached; ~20 min cold on 2 cores).
test: setup monitor kernels linux initramfs netbsd
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# Longer random runs than `make test` has time for: one command per fuzzer.
fuzz: setup monitor kernels netbsd
	LVM_FUZZ_SEEDS=1-300 $(BIN)/python -m pytest -q tests/test_devfuzz.py -k many_seeds
	LVM_FUZZ_FILES=5000 $(BIN)/python -m pytest -q tests/test_rewrite_files.py -k whole_files \
		--hypothesis-show-statistics
	LVM_NETBSD_BOOTS=20 $(BIN)/python -m pytest -q -s tests/test_netbsd.py -k deterministic

bench: setup monitor kernels
	@$(BIN)/python bench/ops.py
	@$(BIN)/python bench/mmu.py
	@$(BIN)/python bench/irq.py
	@$(BIN)/python bench/disk.py
	@$(BIN)/python bench/build_speed.py

# The guest OS benchmark suite (bench/os.py): Linux under lvm call/trap and QEMU TCG
# against the same i386 binaries on the host; out/bench/os.{md,json,png}.  RUNS=3.
bench-os: setup-bench monitor linux
	@$(BIN)/python bench/os.py

# Why each row of that suite costs what it does: the monitor's counters per operation
# (bench/osprofile.py; out/bench/osprofile.md).  And a change measured: this tree's
# monitor against another build's, side by side (`bench/osab.py OTHER_MONITOR`).
bench-os-profile: setup-bench monitor linux
	@$(BIN)/python bench/osprofile.py

# Linux i386 for lvm: out/linux/<mode>/{bzImage,vmlinux} for each of LINUX_MODES, from
# LINUX_SRC (default: the tree scripts/linux-source.sh fetches) with tinyconfig and
# patches/linux/lvm.config.  Cached: see scripts/linux-build.py.
LINUX_SRC   ?=
LINUX_MODES ?= call trap native
linux: setup
	@$(BIN)/python scripts/linux-build.py $(if $(LINUX_SRC),--linux $(LINUX_SRC)) $(LINUX_MODES)

# NetBSD/i386 for lvm: out/netbsd/<mode>/netbsd for each of NETBSD_MODES and the root
# disk out/netbsd/root.img, from NETBSD_SRC (default ../shared/netbsd/src) with
# patches/netbsd.  Cached: see scripts/netbsd-build.py.
NETBSD_SRC   ?=
NETBSD_MODES ?= call trap native
netbsd: setup
	@$(BIN)/python scripts/netbsd-build.py $(if $(NETBSD_SRC),--src $(NETBSD_SRC)) $(NETBSD_MODES)

# NetBSD on the terminal: lvm's call kernel on a copy of the root disk (the project's
# init runs its system-call suite, then a shell; `exit` reboots, which ends lvm).
demo-netbsd: monitor
	@NETBSD_MODES=call $(MAKE) --no-print-directory netbsd
	@cp $(OUT)/netbsd/root.img $(OUT)/netbsd/demo-root.img
	@$(BIN)/lvm run $(OUT)/netbsd/call/netbsd -hda $(OUT)/netbsd/demo-root.img

# The Linux guest's initramfs: busybox-static from Debian's i386 package as /init's
# shell (scripts/linux-initramfs.py; rewritten only when its bytes change).
initramfs: setup
	@$(BIN)/python scripts/linux-initramfs.py

clean:
	rm -rf $(OUT)
