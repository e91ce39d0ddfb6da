"""lvm: run 32-bit x86 kernels as Linux processes by partial emulation (toolchain)."""
__version__ = "0.1.0"
