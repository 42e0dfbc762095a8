"""The ctypes mirrors of the Python package against the C compiler's view of include/ddgan/ddgan.h.

The C side comes from tests/python/struct_layout.c: the program CMake builds beside the library under test
(<build>/bin/ddgan_py_struct_layout), or, outside a build tree, compiled here with the system C compiler.
The field lists are also read from the header itself, so a field appended into trailing padding (which
leaves sizeof unchanged) is caught too.
"""

import ctypes
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from ddgan_env import HEADER, HERE, import_ddgan

ddgan = import_ddgan()
_lib = ddgan._lib


def layout_program(tmp_path):
    libpath = os.environ.get("DDGAN_LIBRARY")
    if libpath:
        built = pathlib.Path(libpath).resolve().parent.parent / "bin" / "ddgan_py_struct_layout"
        if built.is_file():
            return built
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no struct layout program built and no C compiler to build one")
    exe = tmp_path / "struct_layout"
    subprocess.run([cc, "-std=c11", "-I", str(HEADER.parent.parent), str(HERE / "struct_layout.c"), "-o", str(exe)],
                   check=True)
    return exe


def c_layouts(exe):
    structs = {}
    for line in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines():
        kind, name, *rest = line.split()
        if kind == "S":
            structs[name] = {"size": int(rest[0]), "align": int(rest[1]), "fields": {}}
        else:
            field, off, size = rest
            structs[name]["fields"][field] = (int(off), int(size))
    return structs


def header_structs():
    """{struct name: [field names in order]} of every typedef struct in the header that has a body."""
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    out = {}
    for m in re.finditer(r"typedef struct (ddgan_\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
        body = re.sub(r"\[[^\]]*\]", "", m.group(2))
        fields = []
        for stmt in body.split(";"):
            if not stmt.strip():
                continue
            for part in stmt.split(","):
                fields.append(re.findall(r"[A-Za-z_]\w*", part)[-1])
        out[m.group(3)] = fields
    return out


def test_mirrors_match_the_c_layout(tmp_path):
    c = c_layouts(layout_program(tmp_path))
    mirrors = {cname: cls for cls, (_init, cname, _defaults) in _lib.STRUCTS.items()}
    assert set(mirrors) == set(c), "struct_layout.c and the package disagree on the list of structs"
    for cname, cls in mirrors.items():
        want = c[cname]
        assert ctypes.sizeof(cls) == want["size"], cname
        assert ctypes.alignment(cls) == want["align"], cname
        names = [n for n, _ in cls._fields_]
        assert names == list(want["fields"]), cname
        for n in names:
            f = getattr(cls, n)
            assert (f.offset, f.size) == want["fields"][n], "%s.%s" % (cname, n)


def test_mirrors_cover_the_header():
    hs = header_structs()
    versioned = {k: v for k, v in hs.items() if v and v[0] == "struct_size"}
    mirrors = {cname: cls for cls, (_init, cname, _defaults) in _lib.STRUCTS.items()}
    assert set(versioned) == set(mirrors), "a struct of ddgan.h has no ctypes mirror (or the reverse)"
    for cname, fields in versioned.items():
        assert [n for n, _ in mirrors[cname]._fields_] == fields, cname


def test_library_accepts_every_mirror():
    for cls, (init, cname, _defaults) in _lib.STRUCTS.items():
        s = cls()
        assert getattr(_lib.lib, init)(ctypes.byref(s), ctypes.sizeof(s)) == 0, cname
        assert s.struct_size == ctypes.sizeof(cls)
