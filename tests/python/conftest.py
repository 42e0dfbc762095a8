"""Shared paths and helpers for the Python tests (everything is located relative to this file)."""

import importlib.util
import json
import pathlib
import struct
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO.parent / "shared"
TOOLS = REPO / "bindings" / "python" / "tools"
CONVERTER = TOOLS / "convert_official.py"

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def shared_path(*parts):
    """A file under ../shared, or skip the test when the shared material is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip("../shared is not available beside the repository (%s missing)" % "/".join(parts))
    return path


@pytest.fixture(scope="session")
def converter():
    """The converter imported as a module (for its key tables)."""
    spec = importlib.util.spec_from_file_location("convert_official", str(CONVERTER))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_safetensors(path):
    """Parses a safetensors file strictly. Returns (entries name -> (dtype, shape, begin, end), metadata,
    data block bytes); asserts the layout rules of the interchange format."""
    blob = pathlib.Path(path).read_bytes()
    assert len(blob) >= 8
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0, "header length %d is not a multiple of 8" % n
    raw = blob[8:8 + n]
    text = raw.decode("utf-8")
    body = text.rstrip(" ")
    assert body.endswith("}") and len(raw) - len(body.encode("utf-8")) < 8, "header padding is not spaces"
    header = json.loads(body)
    metadata = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    data = blob[8 + n:]
    entries = {}
    expected_begin = 0
    for name in sorted(header):
        e = header[name]
        assert set(e) == {"dtype", "shape", "data_offsets"}
        begin, end = e["data_offsets"]
        assert begin == expected_begin, "tensors not contiguous in ascending name order at %s" % name
        entries[name] = (e["dtype"], tuple(e["shape"]), begin, end)
        expected_begin = end
    assert expected_begin == len(data), "data block has %d bytes, the header covers %d" % (len(data),
                                                                                        expected_begin)
    return entries, metadata, data
