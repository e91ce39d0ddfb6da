"""The vCPU layout derived by pycparser equals what gcc -m32 computes (offsetof)."""
import struct
import subprocess

from conftest import ROOT
from lvm import vcpu


def test_offsets_and_constants_match_gcc(tmp_path):
    data = vcpu.compute()
    names = sorted(data["offsets"])
    # a member of an array's element: offsetof() wants its first element named
    c_names = [n.split(".")[0] + "[0]." + n.split(".", 1)[1] if "." in n and n.split(".")[0] + "[]" in
               data["sizes"] else n for n in names]
    consts = sorted(data["consts"])
    src = tmp_path / "off.c"
    src.write_text(
        '#include <stddef.h>\n#include "lvm/vcpu.h"\n'
        "unsigned int all[] = {%s, sizeof(struct lvm_vcpu), %s};\n"
        % (", ".join("offsetof(struct lvm_vcpu, %s)" % n for n in c_names), ", ".join(consts)))
    obj = tmp_path / "off.o"
    subprocess.run(["gcc", "-m32", "-c", "-I", str(ROOT / "runtime" / "include"), "-o", str(obj), str(src)],
                   check=True)
    raw = tmp_path / "data.bin"
    subprocess.run(["objcopy", "-O", "binary", "-j", ".data", str(obj), str(raw)], check=True)
    words = struct.unpack("<%dI" % (len(raw.read_bytes()) // 4), raw.read_bytes())
    n = len(names)
    assert dict(zip(names, words[:n])) == data["offsets"]
    assert words[n] == data["sizes"]["__struct__"]
    assert dict(zip(consts, words[n + 1:])) == {k: v & 0xFFFFFFFF for k, v in data["consts"].items()}


def test_layout_fits_in_one_page_and_is_cached():
    lay = vcpu.layout()
    assert lay.base == 0xFFFFF000
    assert lay.sizes["__struct__"] <= 4096
    assert lay.addr("cr", 3) == lay.base + lay.offsets["cr"] + 12
    assert lay.addr("sel", 7) == lay.base + lay.offsets["sel"] + 28
