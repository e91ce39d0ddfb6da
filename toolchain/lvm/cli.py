"""The `lvm` command: check, rewrite, rules, layout (and, later, run)."""
import sys

import click

from .errors import AsmError, LvmError

# `lvm check` exit statuses besides 0 (2 is also click's status for a usage error).
CHECK_FINDINGS, CHECK_TROUBLE = 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lvm")
def main():
    """lvm: run 32-bit x86 kernels as Linux processes by partial emulation."""


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--allow-code16", is_flag=True, help="Accept interesting instructions in 16-bit code.")
@click.option("--summary", is_flag=True, help="Print a one-line summary per file.")
def check(files, allow_code16, summary):
    """List interesting instructions left outside the runtime.

    FILES are ELF objects, executables or ar archives (IA-32).  Exit status, as for
    cmp and diff: 0 nothing found, 1 findings, 2 trouble (a file missing or not an
    IA-32 ELF, reported as `lvm: error: ...`; the other files are still checked)."""
    from .check import check_file, format_finding
    total, failed = 0, False
    for path in files:
        try:
            findings = check_file(path, allow_code16=allow_code16)
        except LvmError as e:
            click.echo("lvm: error: %s" % e, err=True)
            failed = True
            continue
        for f in findings:
            click.echo(format_finding(f))
        total += len(findings)
        if summary:
            click.echo("%s: %s" % (path, "%d finding(s)" % len(findings) if findings
                                   else "clean: no interesting instruction outside the runtime"))
    sys.exit(CHECK_TROUBLE if failed else CHECK_FINDINGS if total else 0)


@main.command()
@click.argument("source", default="-")
@click.option("--mode", type=click.Choice(["call", "trap"]), default="call", show_default=True)
@click.option("--no-runtime", is_flag=True, help="Do not append the guest subroutines.")
def rewrite(source, mode, no_runtime):
    """Print SOURCE (AT&T assembly) rewritten, as lvm-as would assemble it."""
    from .asdriver import read_source
    from .rewrite import Rewriter
    try:
        text, shown = read_source(source)        # bytes as lvm-as reads them: any file is text
        rw = Rewriter(mode, shown)
        res = rw.rewrite(text)
    except AsmError as e:
        click.echo(str(e), err=True)             # file:line: error: ..., as lvm-as and gas say it
        sys.exit(1)
    except LvmError as e:
        click.echo("lvm: error: %s" % e, err=True)
        sys.exit(1)
    out = res.text if no_runtime else res.text + rw.runtime_text()
    sys.stdout.flush()
    sys.stdout.buffer.write(out.encode("utf-8", "surrogateescape"))   # the input's bytes back
    sys.stdout.flush()
    click.echo("# lvm: %d instruction(s) rewritten, %d left to the check (lines %s)"
               % (res.rewritten, len(res.undecided), ",".join(map(str, res.undecided)) or "-"),
               err=True)


_QEMU_OPTION = "--lvm-qemu-option="


def _protect_qemu_option(arg):
    """QEMU spells its options with one dash and a word (-hda, -drive, -serial,
    -nographic); click would read -hda as -h -d -a.  Such words are wrapped so that
    click passes them to the monitor untouched; -m64 and -m 64 stay click's."""
    if (len(arg) > 2 and arg[0] == "-" and arg[1].isalpha() and arg[1:].replace("-", "").isalnum()
            and not (arg[1] in "ma" and not arg[2].isalpha())):
        return _QEMU_OPTION + arg
    return arg


class _RunCommand(click.Command):
    def parse_args(self, ctx, args):
        return super().parse_args(ctx, [_protect_qemu_option(a) for a in args])


@main.command(cls=_RunCommand, context_settings={"ignore_unknown_options": True})
@click.argument("kernel", type=click.Path(dir_okay=False))
@click.option("-m", "--memory", metavar="SIZE", help="Guest memory (MiB or K/M/G suffix; default 128M).")
@click.option("-append", "--append", metavar="CMDLINE", help="Kernel command line (Multiboot).")
@click.option("--no-check", is_flag=True, help="Boot even if `lvm check` finds unrewritten instructions.")
@click.option("--isolate", is_flag=True, envvar="LVM_ISOLATE",
              help="Isolated mode: guest code runs in processes that can make no host system "
                   "call (for kernels you do not trust; slower). Also LVM_ISOLATE=1.")
@click.argument("monitor_args", nargs=-1, type=click.UNPROCESSED)
def run(kernel, memory, append, no_check, isolate, monitor_args):
    """Boot KERNEL (Multiboot ELF32 built with lvm-cc) as this process; serial on stdio.

    QEMU-style options after KERNEL go to the monitor: -hda FILE, -hdb FILE,
    -drive file=FILE,format=raw,index=N (IDE disks), -initrd FILE (Linux bzImage),
    -no-reboot, -serial stdio, -nographic, -trusted-user; a debugger: -s (gdb on
    tcp::1234), -gdb tcp::PORT or -gdb unix:PATH, -S (wait for it before the first
    instruction).  Exit status: the guest's through port 0xf4 ((value << 1) | 1), 0 on power-off,
    3 for a kernel that cannot boot, 4 for a guest error (triple fault, not emulated).
    """
    import os
    from . import runner
    if kernel.startswith(_QEMU_OPTION):
        click.echo("lvm: %s before KERNEL: name the kernel first (lvm run KERNEL %s ...)"
                   % ((kernel[len(_QEMU_OPTION):],) * 2), err=True)
        sys.exit(runner.EXIT_USAGE)
    monitor_args = [a[len(_QEMU_OPTION):] if a.startswith(_QEMU_OPTION) else a for a in monitor_args]
    if not os.path.exists(kernel):
        click.echo("lvm: %s: no such file" % kernel, err=True)
        sys.exit(runner.EXIT_BAD_KERNEL)
    if not no_check:
        problem = runner.preflight(kernel)
        if problem:
            click.echo("lvm: " + problem, err=True)
            sys.exit(runner.EXIT_BAD_KERNEL)
    argv = runner.monitor_argv(kernel, memory, append, monitor_args)
    if isolate:
        argv.insert(1, "-lvm-isolate")
    if not os.access(argv[0], os.X_OK):
        raise click.ClickException("%s is missing: run `make monitor` in %s" % (argv[0], runner.ROOT))
    sys.stdout.flush()
    os.execv(argv[0], argv)


@main.command()
def rules():
    """Print the rules table: interesting instructions, families, reasons."""
    from . import isa
    for r in isa.RULES:
        forms = "" if r.operands in ("any", "sel_read") else " (%s operands)" % r.operands
        click.echo("%-10s %-10s %s%s -- %s" % (r.name, r.family, " ".join(r.spellings), forms, r.why))
    click.echo("\nNative on purpose:")
    for n in isa.NATIVE:
        click.echo("%-24s %s" % (" ".join(n.spellings), n.why))


@main.command()
@click.option("--c-header", is_flag=True, help="Emit a C/assembly header of offsets (generated code).")
def layout(c_header):
    """Print the vCPU page layout derived from runtime/include/lvm/vcpu.h."""
    from . import vcpu
    lay = vcpu.layout()
    items = sorted(lay.offsets.items(), key=lambda kv: kv[1])
    if c_header:
        click.echo("/* Generated by `lvm layout --c-header` from lvm/vcpu.h with pycparser. Do not edit. */")
        click.echo("#ifndef LVM_VCPU_OFFSETS_H\n#define LVM_VCPU_OFFSETS_H")
        for name, off in items:
            click.echo("#define VCPU_%s %d" % (name.replace(".", "_").upper(), off))
        click.echo("#define VCPU_SIZE %d" % lay.sizes["__struct__"])
        click.echo("#endif")
        return
    for name, off in items:
        click.echo("%#010x  +%-5d %-22s %d bytes" % (lay.base + off, off, name, lay.sizes[name]))
