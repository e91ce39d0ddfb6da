"""The machine code of lvm's guest subroutines (runtime/guest/*.s.j2), as assembled.

The monitor recognizes these bytes in a rewritten kernel (scripts/guest-code-header.py
puts them in a C header for it) and `lvm run`'s bzImage preflight recognizes
call-mode markers by the routine they call (runner.py).  Both take them from here:
rendered as lvm-as renders them, assembled with `as --32`, cached by the rendered
text's hash.
"""
import hashlib
import os
import subprocess
import tempfile

from .render import render_runtime
from .vcpu import CACHE


def code(name):
    """The bytes of the guest subroutine `name` (e.g. "emulate")."""
    text = render_runtime([name])
    path = os.path.join(CACHE, "guest-%s-%s.bin" % (name, hashlib.sha256(text.encode()).hexdigest()[:16]))
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        src, obj, binary = (os.path.join(tmp, "g" + ext) for ext in (".s", ".o", ".bin"))
        with open(src, "w") as f:
            f.write(text)
        subprocess.run(["as", "--32", "-o", obj, src], check=True)
        subprocess.run(["objcopy", "-O", "binary", "--only-section=.text", obj, binary], check=True)
        with open(binary, "rb") as f:
            data = f.read()
    os.makedirs(CACHE, exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    return data
