# lvm: top-level build.  `make demo` and `make test` work on a fresh machine.
VENV    := .venv
BIN     := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
OUT     := out
PYTEST_ARGS ?=

.PHONY: all setup demo test bench clean kernels
all: setup kernels

setup:
	@scripts/setup.sh

# Sample kernels, built with lvm-cc in both modes and with plain gcc (the QEMU reference).
kernels: setup
	@$(MAKE) --no-print-directory -C tests/kernels OUT=$(CURDIR)/$(OUT)/kernels

demo: kernels
	@echo "== lvm check of the sample kernel, call mode"
	@$(BIN)/lvm check --summary $(OUT)/kernels/call/hello.elf
	@echo "== lvm check of the sample kernel, trap mode"
	@$(BIN)/lvm check --summary $(OUT)/kernels/trap/hello.elf
	@echo "== lvm check of the same kernel built with plain gcc (expected to fail)"
	@! $(BIN)/lvm check --summary $(OUT)/kernels/native/hello.elf
	@echo "demo: OK"

test: setup
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	@$(BIN)/python bench/build_speed.py

clean:
	rm -rf $(OUT)
