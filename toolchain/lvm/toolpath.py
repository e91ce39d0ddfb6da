"""Finding the real tools behind the wrappers, and command-line plumbing they share.

Both wrappers must never end up calling themselves (directly, through a shim on
PATH, or through LVM_AS/LVM_CC pointing back at a wrapper): every candidate is
checked for the shim marker, and an environment variable counts nesting so that a
loop fails at once with a clear message instead of forking forever.
"""
import os

from .errors import LvmError

SHIM_MARKER = b"lvm-wrapper-shim"
LIBEXEC = os.path.join(os.path.dirname(os.path.realpath(__file__)), "libexec")
_WRAPPERS = {"lvm-as", "lvm-cc", "lvm"}


def _is_wrapper(path):
    real = os.path.realpath(path)
    if (os.path.basename(path) in _WRAPPERS or os.path.basename(real) in _WRAPPERS
            or os.path.dirname(real) == LIBEXEC):
        return True
    try:
        with open(path, "rb") as f:
            return SHIM_MARKER in f.read(512)
    except OSError:
        return False


def find_real_tool(name, env_var):
    """The real `name`: $env_var if set, else the first `name` on PATH that is not ours."""
    depth = int(os.environ.get("LVM_WRAPPER_DEPTH", "0"))
    if depth > 4:
        raise LvmError("wrapper loop: %s keeps calling itself (check %s and PATH)" % (name, env_var))
    os.environ["LVM_WRAPPER_DEPTH"] = str(depth + 1)
    override = os.environ.get(env_var)
    if override:
        import shutil
        found = shutil.which(override)
        if not found:
            raise LvmError("%s=%s: no such program" % (env_var, override))
        if _is_wrapper(found):
            raise LvmError("%s=%s points back to an lvm wrapper" % (env_var, override))
        return found
    for d in os.environ.get("PATH", "").split(os.pathsep):
        cand = os.path.join(d or ".", name)
        if os.path.isfile(cand) and os.access(cand, os.X_OK) and not _is_wrapper(cand):
            return cand
    raise LvmError("cannot find the real `%s` on PATH (set %s)" % (name, env_var))


def expand_response_files(args, _depth=0):
    """Expand `@file` arguments the way gcc and binutils do (nested, quoted)."""
    out = []
    for a in args:
        if a.startswith("@") and len(a) > 1 and os.path.isfile(a[1:]) and _depth < 10:
            import shlex                 # not at the top: every lvm-cc/lvm-as run imports us
            with open(a[1:], errors="surrogateescape") as f:
                text = f.read()
            try:
                words = shlex.split(text)
            except ValueError as e:      # an unclosed quote: we cannot know what the tool sees
                raise LvmError("response file %s: %s" % (a[1:], e))
            out += expand_response_files(words, _depth + 1)
        else:
            out.append(a)
    return out
