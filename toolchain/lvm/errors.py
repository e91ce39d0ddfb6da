"""The toolchain's exceptions: one base class, one per kind of user-facing failure."""


class LvmError(Exception):
    """Anything the user can act on; the CLI prints it and exits non-zero."""


class AsmError(LvmError):
    """A problem in an assembly source, reported as `file:line: error: message`."""

    def __init__(self, filename, line, message):
        super().__init__("%s:%d: error: %s" % (filename, line, message))
        self.filename, self.line, self.message = filename, line, message


class CheckFailed(LvmError):
    """`lvm check` found interesting instructions outside the runtime."""

    def __init__(self, findings):
        super().__init__("%d interesting instruction(s) left unrewritten" % len(findings))
        self.findings = findings
