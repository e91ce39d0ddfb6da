"""The `lvm` command: check, rewrite, rules, layout (and, later, run)."""
import sys

import click

from .errors import LvmError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lvm")
def main():
    """lvm: run 32-bit x86 kernels as Linux processes by partial emulation."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--allow-code16", is_flag=True, help="Accept interesting instructions in 16-bit code.")
@click.option("--summary", is_flag=True, help="Print a one-line summary per file.")
def check(files, allow_code16, summary):
    """List interesting instructions left outside the runtime (exit 1 if any)."""
    from .check import check_file, format_finding
    total = 0
    for path in files:
        try:
            findings = check_file(path, allow_code16=allow_code16)
        except LvmError as e:
            raise click.ClickException(str(e))
        for f in findings:
            click.echo(format_finding(f))
        total += len(findings)
        if summary:
            click.echo("%s: %s" % (path, "%d finding(s)" % len(findings) if findings
                                   else "clean: no interesting instruction outside the runtime"))
    sys.exit(1 if total else 0)


@main.command()
@click.argument("source", type=click.File("r"), default="-")
@click.option("--mode", type=click.Choice(["call", "trap"]), default="call", show_default=True)
@click.option("--no-runtime", is_flag=True, help="Do not append the guest subroutines.")
def rewrite(source, mode, no_runtime):
    """Print SOURCE (AT&T assembly) rewritten, as lvm-as would assemble it."""
    from .rewrite import Rewriter, render_runtime
    rw = Rewriter(mode, source.name)
    try:
        res = rw.rewrite(source.read())
    except LvmError as e:
        raise click.ClickException(str(e))
    click.echo(res.text, nl=False)
    if res.runtime - rw.present and not no_runtime:
        click.echo(render_runtime(res.runtime - rw.present), nl=False)
    click.echo("# lvm: %d instruction(s) rewritten, %d left to the check (lines %s)"
               % (res.rewritten, len(res.undecided), ",".join(map(str, res.undecided)) or "-"),
               err=True)


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
def layout():
    """Print the vCPU page layout derived from runtime/include/lvm/vcpu.h."""
    from . import vcpu
    lay = vcpu.layout()
    for name, off in sorted(lay.offsets.items(), key=lambda kv: kv[1]):
        click.echo("%#010x  +%-5d %-22s %d bytes" % (lay.base + off, off, name, lay.sizes[name]))
