"""Writes files in PyTorch's zip serialisation format (what torch.save produces since 1.6) without PyTorch.

Only for tests: the pickle is produced by the standard library's pure-Python pickler (protocol 2, as
torch.save uses) with the same persistent ids and tensor records torch.save writes:

    tensor  -> REDUCE(torch._utils._rebuild_tensor_v2,
                      (storage, storage_offset, size, stride, requires_grad=False, OrderedDict()))
    storage -> persistent id ('storage', torch.<Type>Storage, key, location, numel)

Storage keys are assigned "0", "1", ... in the order the pickler first meets each storage; the archive holds
<name>/data.pkl, then <name>/data/<key> (keys in string order), then <name>/version = "3\\n", every record
stored uncompressed and its data aligned to 64 bytes with a padding extra field, as PyTorch's writer does.
"""

import collections
import io
import pickle
import struct
import zlib

import numpy as np

_STORAGE_NAMES = {
    np.dtype("float32"): "FloatStorage", np.dtype("float64"): "DoubleStorage",
    np.dtype("float16"): "HalfStorage", np.dtype("int64"): "LongStorage", np.dtype("int32"): "IntStorage",
    np.dtype("uint8"): "ByteStorage", np.dtype("bool"): "BoolStorage",
}


class Global(object):
    """Pickled as the global module.name (GLOBAL opcode) without importing it."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # the pickler requires REDUCE targets to be callable
        raise TypeError("%s.%s is a placeholder" % (self.module, self.name))


REBUILD_TENSOR_V2 = Global("torch._utils", "_rebuild_tensor_v2")


class Storage(object):
    """A flat storage. data: 1-D numpy array; bfloat16=True: data is uint16 holding bfloat16 bits."""

    def __init__(self, data, bfloat16=False):
        self.data = np.ascontiguousarray(data).reshape(-1)
        self.type_name = "BFloat16Storage" if bfloat16 else _STORAGE_NAMES[self.data.dtype]
        self.location = "cpu"


class Tensor(object):
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset = storage, int(offset)
        self.shape, self.stride = tuple(int(d) for d in shape), tuple(int(s) for s in stride)

    def __reduce_ex__(self, protocol):
        return (REBUILD_TENSOR_V2, (self.storage, self.offset, self.shape, self.stride, False,
                                    collections.OrderedDict()))


def contiguous_strides(shape):
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return tuple(reversed(strides))


def tensor(array):
    """A contiguous tensor with its own storage holding a copy of array."""
    array = np.ascontiguousarray(array)
    return Tensor(Storage(array.reshape(-1)), 0, array.shape, contiguous_strides(array.shape))


class _TorchLikePickler(pickle._Pickler):
    def __init__(self, file):
        pickle._Pickler.__init__(self, file, protocol=2)
        self.storage_keys = {}
        self.storages = []
        self.storage_types = {}

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        key = self.storage_keys.get(id(obj))
        if key is None:
            key = self.storage_keys[id(obj)] = str(len(self.storage_keys))
            self.storages.append((key, obj))
        stype = self.storage_types.setdefault(obj.type_name, Global("torch", obj.type_name))
        return ("storage", stype, key, obj.location, int(obj.data.size))

    def save_global(self, obj, name=None):
        if isinstance(obj, Global):
            self.write(pickle.GLOBAL + obj.module.encode("utf-8") + b"\n" + obj.name.encode("utf-8") + b"\n")
            self.memoize(obj)
            return
        pickle._Pickler.save_global(self, obj, name)

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, Global):
            memo = self.memo.get(id(obj))
            if memo is not None:
                self.write(self.get(memo[0]))
            else:
                self.save_global(obj)
            return
        pickle._Pickler.save(self, obj, save_persistent_id)


def dumps_pickle(obj):
    """(data.pkl bytes, [(key, Storage)]) for obj."""
    buf = io.BytesIO()
    p = _TorchLikePickler(buf)
    p.dump(obj)
    return buf.getvalue(), p.storages


def write_zip(path, records, align=64):
    """A stored (uncompressed) zip with records [(name, bytes)], data aligned like PyTorch's writer."""
    central = []
    with open(path, "wb") as f:
        for name, data in records:
            name_b = name.encode("utf-8")
            offset = f.tell()
            base = offset + 30 + len(name_b) + 4
            pad = -base % align
            extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            crc = zlib.crc32(data) & 0xFFFFFFFF
            f.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, len(data), len(data),
                                len(name_b), len(extra)))
            f.write(name_b)
            f.write(extra)
            f.write(data)
            central.append((name_b, crc, len(data), offset))
        start = f.tell()
        for name_b, crc, size, offset in central:
            f.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, size, size,
                                len(name_b), 0, 0, 0, 0, 0, offset))
            f.write(name_b)
        end = f.tell()
        f.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), end - start, start, 0))


def save(obj, path, archive="archive", pickle_bytes=None):
    """torch.save(obj, path) for obj built from dicts, lists, scalars, Tensor and argparse.Namespace.

    pickle_bytes: use these bytes as data.pkl instead (to write hostile or malformed pickles)."""
    pkl, storages = dumps_pickle(obj)
    if pickle_bytes is not None:
        pkl = pickle_bytes
    records = [(archive + "/data.pkl", pkl)]
    for key, storage in sorted(storages, key=lambda ks: ks[0]):
        records.append((archive + "/data/" + key, storage.data.astype(storage.data.dtype.newbyteorder("<"),
                                                                     copy=False).tobytes()))
    records.append((archive + "/version", b"3\n"))
    write_zip(path, records)
