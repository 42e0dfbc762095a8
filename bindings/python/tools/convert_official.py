#!/usr/bin/env python3
"""Convert an official DDGAN checkpoint (NVlabs/denoising-diffusion-gan) into libddgan's interchange format.

Inputs
  netG_<epoch>.pth   the generator state_dict written by train_ddgan.py (keys prefixed "module.")
  content.pth        the training snapshot: {"netG_dict", "netD_dict", "args", "optimizerG", ...}

Output
  a safetensors file whose tensor names are the official state_dict keys without the "module." prefix and
  whose __metadata__["config"] is the generator's JSON config (official NCSNpp argument names, "cls":
  "NCSNpp"); with --d-out, a second file for the discriminator of a content.pth.

Reading .pth files: with PyTorch importable, torch.load(map_location="cpu", weights_only=True) is used;
otherwise (or when that refuses the file, e.g. because of the argparse.Namespace in content.pth) a built-in
restricted reader of PyTorch's zip format: the pickle may only reference the handful of globals a checkpoint
needs (tensor rebuild functions, storage types, OrderedDict, argparse.Namespace); anything else is refused,
so no code from the file is ever executed.

Only the Python standard library and numpy are required. Run with --help for the options; see
docs/convert.md for details.
"""

import argparse
import collections
import importlib
import io
import json
import os
import pickle
import struct
import sys
import zipfile

try:
    import numpy as np
except ImportError:  # reported in main()
    np = None

PROG = "convert_official.py"


class ConvertError(Exception):
    """A failure: one line on stderr, exit status 1."""

    status = 1


class UsageError(ConvertError):
    """A usage error: one line on stderr, exit status 2."""

    status = 2


# ---------------------------------------------------------------------------------------------------------
# Configuration (official argument names)
# ---------------------------------------------------------------------------------------------------------

INTS = "ints"  # list of ints

# Generator config keys, in the order of vectors/gen_tiny.safetensors, with their JSON types.
GEN_FIELDS = [
    ("image_size", int), ("num_channels", int), ("num_channels_dae", int), ("ch_mult", INTS),
    ("num_res_blocks", int), ("attn_resolutions", INTS), ("nz", int), ("z_emb_dim", int), ("n_mlp", int),
    ("num_timesteps", int), ("beta_min", float), ("beta_max", float), ("use_geometric", bool),
    ("centered", bool), ("dropout", float), ("resamp_with_conv", bool), ("conditional", bool), ("fir", bool),
    ("fir_kernel", INTS), ("skip_rescale", bool), ("resblock_type", str), ("progressive", str),
    ("progressive_input", str), ("progressive_combine", str), ("embedding_type", str), ("not_use_tanh", bool),
]
# Training arguments that select and size the discriminator.
D_FIELDS = [("dataset", str), ("ngf", int), ("t_emb_dim", int)]
FIELD_TYPES = dict(GEN_FIELDS + D_FIELDS)

# argparse defaults of train_ddgan.py / test_ddgan.py (ch_mult has none: it must be given).
TRAIN_DEFAULTS = {
    "image_size": 32, "num_channels": 3, "num_channels_dae": 128, "ch_mult": None, "num_res_blocks": 2,
    "attn_resolutions": [16], "nz": 100, "z_emb_dim": 256, "n_mlp": 3, "num_timesteps": 4, "beta_min": 0.1,
    "beta_max": 20.0, "use_geometric": False, "centered": True, "dropout": 0.0, "resamp_with_conv": True,
    "conditional": True, "fir": True, "fir_kernel": [1, 3, 3, 1], "skip_rescale": True,
    "resblock_type": "biggan", "progressive": "none", "progressive_input": "residual",
    "progressive_combine": "sum", "embedding_type": "positional", "not_use_tanh": False,
    "dataset": "cifar10", "ngf": 64, "t_emb_dim": 256,
}

# The flags of the published training / sampling commands (official README; reference section 5.7).
PRESETS = {
    "cifar10": {"dataset": "cifar10", "image_size": 32, "num_channels": 3, "num_channels_dae": 128,
                "ch_mult": [1, 2, 2, 2], "num_res_blocks": 2, "num_timesteps": 4, "nz": 100, "z_emb_dim": 256,
                "n_mlp": 4, "embedding_type": "positional", "ngf": 64},
    "stackmnist": {"dataset": "stackmnist", "image_size": 32, "num_channels": 3, "num_channels_dae": 128,
                   "ch_mult": [1, 2, 2, 2], "num_res_blocks": 2, "num_timesteps": 4, "nz": 100, "z_emb_dim": 256,
                   "n_mlp": 4, "embedding_type": "positional", "ngf": 64},
    "celeba_256": {"dataset": "celeba_256", "image_size": 256, "num_channels": 3, "num_channels_dae": 64,
                   "ch_mult": [1, 1, 2, 2, 4, 4], "num_res_blocks": 2, "num_timesteps": 2, "z_emb_dim": 256,
                   "embedding_type": "positional", "ngf": 64},
    "lsun": {"dataset": "lsun", "image_size": 256, "num_channels": 3, "num_channels_dae": 64,
             "ch_mult": [1, 1, 2, 2, 4, 4], "num_res_blocks": 2, "num_timesteps": 4, "z_emb_dim": 256,
             "embedding_type": "positional", "ngf": 64},
}
# Whether the published run trained with --use_ema (then its netG_<epoch>.pth files hold EMA weights).
PRESET_EMA = {"cifar10": True, "stackmnist": False, "celeba_256": True, "lsun": True}


def _coerce(key, value, source):
    """Checks/normalises one config value to its JSON type; raises ConvertError naming key and source."""
    kind = FIELD_TYPES[key]

    def bad():
        return ConvertError("%s: %s = %r is not %s" % (source, key, value, {
            int: "an integer", float: "a number", bool: "a boolean", str: "a string",
            INTS: "a list of integers"}[kind]))

    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise bad()
    if kind is int:
        if isinstance(value, bool):
            raise bad()
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad()
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad()
    if kind is str:
        if isinstance(value, str):
            return value
        raise bad()
    # list of ints (argparse may leave tuples, e.g. attn_resolutions=(16,))
    if isinstance(value, int) and not isinstance(value, bool):
        return [int(value)]
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [int(v) for v in value]
    raise bad()


def resolve_config(layers):
    """Merges (source, dict) layers over the train_ddgan.py defaults (later layers win).

    Returns (generator config in GEN_FIELDS order + "cls", discriminator arguments dict)."""
    merged = dict(TRAIN_DEFAULTS)
    for source, values in layers:
        for key, value in values.items():
            if key in FIELD_TYPES:
                merged[key] = _coerce(key, value, source)
    if merged["ch_mult"] is None:
        raise UsageError("ch_mult is not set (train_ddgan.py has no default for it): "
                         "give --preset, --config-json FILE or --ch_mult")
    gen = collections.OrderedDict((k, merged[k]) for k, _ in GEN_FIELDS)
    gen["cls"] = "NCSNpp"
    d_args = {k: merged[k] for k, _ in D_FIELDS}
    return gen, d_args


def discriminator_config(d_args, num_channels):
    """The interchange config of the discriminator train_ddgan.py builds for these arguments."""
    small = d_args["dataset"] in ("cifar10", "stackmnist")
    return collections.OrderedDict([
        ("cls", "Discriminator_small" if small else "Discriminator_large"),
        ("nc", 2 * num_channels), ("ngf", d_args["ngf"]), ("t_emb_dim", d_args["t_emb_dim"])])


# ---------------------------------------------------------------------------------------------------------
# Expected parameter names and shapes (reference sections 2.6, 3, 8)
# ---------------------------------------------------------------------------------------------------------

def generator_param_shapes(cfg):
    """OrderedDict name -> shape of the NCSNpp state_dict for cfg, or None for variants this converter does
    not model (resblock_type 'ddpm', progressive 'residual': both crash in the official code)."""
    if (cfg["resblock_type"].lower() not in ("biggan", "biggan_oneadagn")
            or cfg["progressive"].lower() not in ("none", "output_skip")
            or cfg["progressive_input"].lower() not in ("none", "input_skip", "residual")
            or cfg["progressive_combine"].lower() not in ("sum", "cat")
            or cfg["embedding_type"].lower() not in ("positional", "fourier")):
        return None
    nf, ch_mult, nrb = cfg["num_channels_dae"], cfg["ch_mult"], cfg["num_res_blocks"]
    channels, zd, temb = cfg["num_channels"], cfg["z_emb_dim"], 4 * cfg["num_channels_dae"]
    levels = len(ch_mult)
    resolutions = [cfg["image_size"] // (2 ** i) for i in range(levels)]
    one_adagn = cfg["resblock_type"].lower() == "biggan_oneadagn"
    p_in, p_out = cfg["progressive_input"].lower(), cfg["progressive"].lower()
    cat = cfg["progressive_combine"].lower() == "cat"

    out = collections.OrderedDict()
    modules = []

    def module(*entries):
        i = len(modules)
        modules.append(entries)
        for name, shape in entries:
            out["all_modules.%d.%s" % (i, name)] = tuple(shape)

    def conv(prefix, cin, cout, k):
        return [(prefix + "weight", (cout, cin, k, k)), (prefix + "bias", (cout,))]

    def resblock(cin, cout=None, updown=False):
        cout = cout or cin
        e = [("GroupNorm_0.style.weight", (2 * cin, zd)), ("GroupNorm_0.style.bias", (2 * cin,))]
        e += conv("Conv_0.", cin, cout, 3)
        e += [("Dense_0.weight", (cout, temb)), ("Dense_0.bias", (cout,))]
        if one_adagn:
            e += [("GroupNorm_1.weight", (cout,)), ("GroupNorm_1.bias", (cout,))]
        else:
            e += [("GroupNorm_1.style.weight", (2 * cout, zd)), ("GroupNorm_1.style.bias", (2 * cout,))]
        e += conv("Conv_1.", cout, cout, 3)
        if cin != cout or updown:
            e += conv("Conv_2.", cin, cout, 1)
        module(*e)

    def attn(c):
        e = [("GroupNorm_0.weight", (c,)), ("GroupNorm_0.bias", (c,))]
        for k in range(4):
            e += [("NIN_%d.W" % k, (c, c)), ("NIN_%d.b" % k, (c,))]
        module(*e)

    def norm_conv_out(c):
        module(("weight", (c,)), ("bias", (c,)))
        module(*conv("", c, channels, 3))

    embed = nf
    if cfg["embedding_type"].lower() == "fourier":
        module(("W", (nf,)))
        embed = 2 * nf
    if cfg["conditional"]:
        module(("weight", (temb, embed)), ("bias", (temb,)))
        module(("weight", (temb, temb)), ("bias", (temb,)))
    module(*conv("", channels, nf, 3))
    skips = [nf]
    c = nf
    pyramid_c = channels
    for level in range(levels):
        for _ in range(nrb):
            resblock(c, nf * ch_mult[level])
            c = nf * ch_mult[level]
            if resolutions[level] in cfg["attn_resolutions"]:
                attn(c)
            skips.append(c)
        if level != levels - 1:
            resblock(c, updown=True)
            if p_in == "input_skip":
                module(*conv("Conv_0.", pyramid_c, c, 1))
                if cat:
                    c *= 2
            elif p_in == "residual":
                module(*conv("Conv2d_0." if cfg["fir"] else "Conv_0.", pyramid_c, c, 3))
                pyramid_c = c
            skips.append(c)
    c = skips[-1]
    resblock(c)
    attn(c)
    resblock(c)
    for level in reversed(range(levels)):
        for _ in range(nrb + 1):
            resblock(c + skips.pop(), nf * ch_mult[level])
            c = nf * ch_mult[level]
        if resolutions[level] in cfg["attn_resolutions"]:
            attn(c)
        if p_out == "output_skip":
            norm_conv_out(c)
        if level != 0:
            resblock(c, updown=True)
    if p_out != "output_skip":
        norm_conv_out(c)
    out["z_transform.1.weight"] = (zd, cfg["nz"])
    out["z_transform.1.bias"] = (zd,)
    for j in range(cfg["n_mlp"]):
        out["z_transform.%d.weight" % (3 + 2 * j)] = (zd, zd)
        out["z_transform.%d.bias" % (3 + 2 * j)] = (zd,)
    return out


def discriminator_param_shapes(dcfg):
    """OrderedDict name -> shape of Discriminator_small / Discriminator_large."""
    nc, ngf, e = dcfg["nc"], dcfg["ngf"], dcfg["t_emb_dim"]
    if dcfg["cls"] == "Discriminator_small":
        blocks = [(2 * ngf, 2 * ngf), (2 * ngf, 4 * ngf), (4 * ngf, 8 * ngf), (8 * ngf, 8 * ngf)]
    else:
        blocks = [(2 * ngf, 4 * ngf), (4 * ngf, 8 * ngf)] + [(8 * ngf, 8 * ngf)] * 4
    out = collections.OrderedDict()
    for i in (0, 2):
        out["t_embed.main.%d.weight" % i] = (e, e)
        out["t_embed.main.%d.bias" % i] = (e,)
    out["start_conv.weight"] = (2 * ngf, nc, 1, 1)
    out["start_conv.bias"] = (2 * ngf,)
    for b, (cin, cout) in enumerate(blocks, 1):
        out["conv%d.conv1.0.weight" % b] = (cout, cin, 3, 3)
        out["conv%d.conv1.0.bias" % b] = (cout,)
        out["conv%d.conv2.0.weight" % b] = (cout, cout, 3, 3)
        out["conv%d.conv2.0.bias" % b] = (cout,)
        out["conv%d.dense_t1.weight" % b] = (cout, e)
        out["conv%d.dense_t1.bias" % b] = (cout,)
        out["conv%d.skip.0.weight" % b] = (cout, cin, 1, 1)
    out["final_conv.weight"] = (8 * ngf, 8 * ngf + 1, 3, 3)
    out["final_conv.bias"] = (8 * ngf,)
    out["end_linear.weight"] = (1, 8 * ngf)
    out["end_linear.bias"] = (1,)
    return out


def check_shapes(what, tensors, expected):
    """Raises ConvertError unless tensors (name -> tensor) has exactly the expected names and shapes."""
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    wrong = [k for k in expected if k in tensors and tuple(tensors[k].shape) != tuple(expected[k])]
    if not (missing or unexpected or wrong):
        return
    parts = []
    if missing:
        parts.append("%d missing key(s) (first: %s)" % (len(missing), missing[0]))
    if unexpected:
        parts.append("%d unexpected key(s) (first: %s)" % (len(unexpected), unexpected[0]))
    if wrong:
        k = wrong[0]
        parts.append("%d shape mismatch(es) (first: %s is %s, the config gives %s)" % (
            len(wrong), k, _shape_str(tensors[k].shape), _shape_str(expected[k])))
    raise ConvertError("%s does not match its config: %s; wrong --preset or config?" % (what, "; ".join(parts)))


def _shape_str(shape):
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


# ---------------------------------------------------------------------------------------------------------
# Tensors
# ---------------------------------------------------------------------------------------------------------

def _numel(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


class _Tensor(object):
    """What both readers produce: a shape, a dtype name and a float32 materialisation (to_float32 is only
    called for floating-point tensors)."""

    shape = ()
    dtype = "float32"

    def numel(self):
        return _numel(self.shape)

    def to_float32(self):
        raise NotImplementedError


# dtype name -> (numpy type code, item size); bfloat16 is read as uint16 and widened.
_DTYPES = {
    "float32": ("f4", 4), "float64": ("f8", 8), "float16": ("f2", 2), "bfloat16": ("u2", 2),
    "int64": ("i8", 8), "int32": ("i4", 4), "int16": ("i2", 2), "int8": ("i1", 1), "uint8": ("u1", 1),
    "bool": ("?", 1),
}
_FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")

_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
}


def _widen(array, dtype):
    """numpy array of a stored dtype (bfloat16 as uint16) -> float32 C-contiguous copy."""
    if dtype == "bfloat16":
        return (array.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return np.ascontiguousarray(array, dtype=np.float32)


class _StorageType(object):
    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _StorageRef(object):
    def __init__(self, archive, key, dtype, numel):
        self.archive, self.key, self.dtype, self.numel = archive, key, dtype, numel


class _ZipTensor(_Tensor):
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride
        self.dtype = storage.dtype

    def to_float32(self):
        code, size = _DTYPES[self.dtype]
        if self.numel() == 0:
            return np.zeros(self.shape, dtype=np.float32)
        last = self.offset + sum((d - 1) * s for d, s in zip(self.shape, self.stride))
        raw = self.storage.archive.read_storage(self.storage, self.offset * size, (last + 1) * size)
        flat = np.frombuffer(raw, dtype=np.dtype(code).newbyteorder(self.storage.archive.byteorder))
        view = np.lib.stride_tricks.as_strided(flat, shape=self.shape,
                                               strides=tuple(s * size for s in self.stride))
        return _widen(view, self.dtype)


class _Namespace(dict):
    """argparse.Namespace, unpickled as a plain dict of its attributes."""

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:
            state = state[0]
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("malformed argparse.Namespace state")
        self.update(state)


def _check_ints(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise pickle.UnpicklingError("malformed tensor record (%s = %r)" % (what, value))
    return value


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a PyTorch checkpoint of DDGAN needs."""

    def __init__(self, file, archive):
        pickle.Unpickler.__init__(self, file)
        self.archive = archive
        self.storages = {}
        self.allowed = {
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor,
            ("torch._utils", "_rebuild_tensor"): self._rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): self._rebuild_parameter,
            ("argparse", "Namespace"): _Namespace,
        }
        for name in _STORAGE_DTYPES:
            self.allowed[("torch", name)] = _StorageType(name)

    def find_class(self, module, name):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                "refusing to load '%s.%s': only tensors, dicts, lists and argparse.Namespace are accepted in a "
                "checkpoint (restricted unpickling; nothing from the file is executed)" % (module, name))

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unsupported persistent id %r" % (pid[:2] if isinstance(pid, tuple)
                                                                             else type(pid).__name__,))
        _, stype, key, _location, numel = pid
        if not isinstance(stype, _StorageType):
            raise pickle.UnpicklingError("unsupported storage type %r" % (stype,))
        if not isinstance(key, str) or not key or "/" in key or key.startswith("."):
            raise pickle.UnpicklingError("malformed storage key %r" % (key,))
        _check_ints(numel, "storage size")
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = _StorageRef(self.archive, key, stype.dtype, numel)
        elif ref.dtype != stype.dtype:
            raise pickle.UnpicklingError("storage %s is used with two dtypes" % key)
        return ref

    @staticmethod
    def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
        if not isinstance(storage, _StorageRef):
            raise pickle.UnpicklingError("malformed tensor record (no storage)")
        if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride):
            raise pickle.UnpicklingError("malformed tensor record (size/stride)")
        _check_ints(storage_offset, "storage offset")
        for d in size:
            _check_ints(d, "size")
        for s in stride:
            _check_ints(s, "stride")
        if _numel(size) and storage_offset + sum((d - 1) * s for d, s in zip(size, stride)) >= storage.numel:
            raise pickle.UnpicklingError("tensor view exceeds its storage %s" % storage.key)
        return _ZipTensor(storage, storage_offset, tuple(size), tuple(stride))

    @staticmethod
    def _rebuild_parameter(data, *_ignored):
        if not isinstance(data, _ZipTensor):
            raise pickle.UnpicklingError("malformed parameter record")
        return data


class _ZipCheckpoint(object):
    """A file in PyTorch's zip serialisation format (torch.save since 1.6), read without PyTorch."""

    def __init__(self, path):
        self.path = path
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as f:
                head = f.read(4)
            if head.startswith(b"PK\x03\x04"):
                raise ConvertError("%s: truncated or damaged zip archive" % path)
            if head[:1] == b"\x80":
                raise ConvertError("%s: legacy (pre-1.6) torch.save format; the built-in reader supports only "
                                   "the zip format: install PyTorch or re-save the file" % path)
            raise ConvertError("%s: not a PyTorch checkpoint (not a zip archive)" % path)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise ConvertError("%s: truncated or damaged zip archive (%s)" % (path, e))
        pkls = [n for n in self.zip.namelist() if n.endswith("data.pkl") and n.count("/") <= 1
                and (n == "data.pkl" or n.endswith("/data.pkl"))]
        if len(pkls) != 1:
            raise ConvertError("%s: not a PyTorch checkpoint (no single data.pkl record in the zip archive)"
                               % path)
        self.prefix = pkls[0][:-len("data.pkl")]
        self.byteorder = "<"
        if self.prefix + "byteorder" in self.zip.namelist():
            order = self.zip.read(self.prefix + "byteorder").decode("ascii", "replace").strip()
            if order not in ("little", "big"):
                raise ConvertError("%s: unknown byteorder record %r" % (path, order))
            self.byteorder = "<" if order == "little" else ">"
        self.file = open(path, "rb")
        self._cache = (None, None)

    def load(self):
        try:
            data = self.zip.read(self.prefix + "data.pkl")
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise ConvertError("%s: damaged zip archive (%s)" % (self.path, e))
        try:
            return _RestrictedUnpickler(io.BytesIO(data), self).load()
        except pickle.UnpicklingError as e:
            raise ConvertError("%s: %s" % (self.path, e))
        except Exception as e:  # EOFError, ValueError, TypeError, ... from a malformed pickle
            raise ConvertError("%s: not a readable checkpoint pickle (%s: %s)" % (self.path, type(e).__name__, e))

    def read_storage(self, ref, begin, end):
        """Bytes [begin, end) of storage ref (reads only that range for uncompressed records)."""
        name = self.prefix + "data/" + ref.key
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            raise ConvertError("%s: record %s is missing (truncated or damaged file)" % (self.path, name))
        itemsize = _DTYPES[ref.dtype][1]
        if info.file_size < ref.numel * itemsize or end > info.file_size:
            raise ConvertError("%s: record %s is shorter than its storage (%d < %d bytes)"
                               % (self.path, name, info.file_size, ref.numel * itemsize))
        if info.compress_type == zipfile.ZIP_STORED:
            self.file.seek(info.header_offset)
            local = self.file.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise ConvertError("%s: damaged zip archive (bad local header of %s)" % (self.path, name))
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            self.file.seek(info.header_offset + 30 + name_len + extra_len + begin)
            data = self.file.read(end - begin)
            if len(data) != end - begin:
                raise ConvertError("%s: truncated record %s" % (self.path, name))
            return data
        if self._cache[0] != name:
            try:
                self._cache = (name, self.zip.read(name))
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
                raise ConvertError("%s: damaged record %s (%s)" % (self.path, name, e))
        return self._cache[1][begin:end]


# ---------------------------------------------------------------------------------------------------------
# Reading through PyTorch
# ---------------------------------------------------------------------------------------------------------

class _TorchTensor(_Tensor):
    def __init__(self, t):
        self.t = t
        self.shape = tuple(int(d) for d in t.shape)
        self.dtype = str(t.dtype).replace("torch.", "")

    def to_float32(self):
        import torch
        return np.ascontiguousarray(self.t.detach().to("cpu", torch.float32).contiguous().numpy())


def _from_torch(obj, torch):
    if isinstance(obj, torch.Tensor):
        return _TorchTensor(obj)
    if isinstance(obj, argparse.Namespace):
        return {k: _from_torch(v, torch) for k, v in vars(obj).items()}
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _from_torch(v, torch)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_from_torch(v, torch) for v in obj)
    return obj


def _load_with_torch(path, trust_pickle):
    import torch
    if trust_pickle:
        obj = torch.load(path, map_location="cpu", weights_only=False)
        return _from_torch(obj, torch)
    import contextlib
    ser = torch.serialization
    ctx = ser.safe_globals([argparse.Namespace]) if hasattr(ser, "safe_globals") else contextlib.nullcontext()
    with ctx:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    return _from_torch(obj, torch)


def _torch_available():
    try:
        importlib.import_module("torch")
        return True
    except Exception:  # not installed, or broken: either way not usable
        return False


def load_checkpoint(path, reader="auto", trust_pickle=False, notes=None):
    """Reads a .pth file into plain dicts/lists/scalars and _Tensor objects. Returns (object, reader used)."""
    notes = notes if notes is not None else []
    if not os.path.exists(path):
        raise ConvertError("%s: no such file" % path)
    if not os.path.isfile(path):
        raise ConvertError("%s: not a regular file" % path)
    use_torch = reader == "torch" or (reader == "auto" and _torch_available())
    if reader == "torch" and not _torch_available():
        raise ConvertError("--reader torch: PyTorch cannot be imported")
    if trust_pickle and not use_torch:
        raise ConvertError("--trust-pickle needs PyTorch (the built-in reader never executes pickled code)")
    if use_torch:
        try:
            return _load_with_torch(path, trust_pickle), "torch"
        except Exception as e:
            if reader == "torch" or trust_pickle:
                raise ConvertError("%s: torch.load failed (%s)%s" % (
                    path, _torch_reason(e), "" if trust_pickle else "; try --reader builtin"))
            notes.append("torch.load(weights_only=True) refused the file (%s); used the built-in restricted reader"
                         % _torch_reason(e))
    return _ZipCheckpoint(path).load(), "builtin"


def _torch_reason(error):
    """The informative part of a torch.load exception, on one short line."""
    text = " ".join(str(error).split())
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = text.split(marker, 1)[1].strip()
    text = text or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# ---------------------------------------------------------------------------------------------------------
# Checkpoint interpretation
# ---------------------------------------------------------------------------------------------------------

def _strip_module(state, what, path):
    """OrderedDict of tensors with a leading 'module.' removed from every key."""
    if not isinstance(state, dict) or not state:
        raise ConvertError("%s: %s is not a non-empty state_dict" % (path, what))
    out = collections.OrderedDict()
    for key, value in state.items():
        if not isinstance(key, str):
            raise ConvertError("%s: %s has a non-string key %r" % (path, what, key))
        if not isinstance(value, _Tensor):
            raise ConvertError("%s: %s entry %s is not a tensor" % (path, what, key))
        if value.dtype not in _FLOAT_DTYPES:
            raise ConvertError("%s: %s tensor %s has dtype %s, expected a floating-point parameter"
                               % (path, what, key, value.dtype))
        name = key[len("module."):] if key.startswith("module.") else key
        if name in out:
            raise ConvertError("%s: %s has %s twice (with and without 'module.')" % (path, what, name))
        out[name] = value
    return out


def interpret(obj, path):
    """Returns (kind, generator state, content dict or None): kind 'content' or 'netG'."""
    if isinstance(obj, dict) and "netG_dict" in obj:
        return "content", _strip_module(obj["netG_dict"], "netG_dict", path), obj
    if isinstance(obj, dict) and obj and all(isinstance(v, _Tensor) for v in obj.values()):
        state = _strip_module(obj, "the state_dict", path)
        if "start_conv.weight" in state or "t_embed.main.0.weight" in state:
            raise ConvertError("%s: this is a discriminator state_dict; the converter takes netG_<epoch>.pth "
                               "or content.pth" % path)
        return "netG", state, None
    if isinstance(obj, dict) and ("netD_dict" in obj or "args" in obj):
        raise ConvertError("%s: content.pth has no 'netG_dict'" % path)
    raise ConvertError("%s: not a DDGAN checkpoint (expected a generator state_dict, netG_<epoch>.pth, or a "
                       "content.pth dict with netG_dict)" % path)


def ema_state(content, gen_state, path):
    """The EMA generator weights of a content.pth (Adam state 'ema' of optimizerG, parameter order)."""
    opt = content.get("optimizerG")
    if not isinstance(opt, dict) or not isinstance(opt.get("state"), dict) \
            or not isinstance(opt.get("param_groups"), list):
        raise ConvertError("%s: --use-ema: content.pth has no usable optimizerG state" % path)
    ids = []
    for group in opt["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            raise ConvertError("%s: --use-ema: malformed optimizerG param_groups" % path)
        ids.extend(group["params"])
    if len(ids) != len(gen_state):
        raise ConvertError("%s: --use-ema: optimizerG has %d parameters, netG_dict %d tensors"
                           % (path, len(ids), len(gen_state)))
    out = collections.OrderedDict()
    raw = []
    for (name, tensor), pid in zip(gen_state.items(), ids):
        entry = opt["state"].get(pid)
        ema = entry.get("ema") if isinstance(entry, dict) else None
        if ema is None:
            out[name] = tensor
            raw.append(name)
            continue
        if not isinstance(ema, _Tensor) or tuple(ema.shape) != tuple(tensor.shape) \
                or ema.dtype not in _FLOAT_DTYPES:
            raise ConvertError("%s: --use-ema: the EMA entry of %s does not match the parameter" % (path, name))
        out[name] = ema
    if len(raw) == len(out):
        raise ConvertError("%s: --use-ema: content.pth holds no EMA weights (trained without --use_ema)" % path)
    return out, raw


# ---------------------------------------------------------------------------------------------------------
# safetensors output
# ---------------------------------------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata):
    """tensors: name -> _Tensor (written as F32, ascending name order); metadata: str -> str. Atomic."""
    names = sorted(tensors)
    header = collections.OrderedDict()
    offset = 0
    for name in names:
        nbytes = 4 * tensors[name].numel()
        header[name] = collections.OrderedDict([("dtype", "F32"), ("shape", [int(d) for d in tensors[name].shape]),
                                                ("data_offsets", [offset, offset + nbytes])])
        offset += nbytes
    header["__metadata__"] = collections.OrderedDict(metadata)
    blob = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, ".%s.tmp%d" % (os.path.basename(path), os.getpid()))
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(blob)))
            f.write(blob)
            for name in names:
                array = tensors[name].to_float32()
                if array.dtype != np.float32 or tuple(array.shape) != tuple(tensors[name].shape):
                    raise ConvertError("internal error: %s materialised as %s %s"
                                       % (name, array.dtype, array.shape))
                f.write(np.ascontiguousarray(array, dtype="<f4").data)
        os.replace(tmp, path)
    except OSError as e:
        raise ConvertError("cannot write %s: %s" % (path, e.strerror or e))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return offset


# ---------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    p = _Parser(prog=PROG, description="Convert an official DDGAN checkpoint (netG_<epoch>.pth or content.pth) "
                "to libddgan's safetensors interchange format.")
    p.add_argument("input", help="netG_<epoch>.pth or content.pth")
    p.add_argument("-o", "--out", metavar="FILE", help="generator output (.safetensors)")
    p.add_argument("--d-out", metavar="FILE", help="discriminator output (content.pth only)")
    p.add_argument("--preset", metavar="NAME", help="config of a published run: " + ", ".join(PRESETS))
    p.add_argument("--config-json", metavar="FILE", help="JSON object with official argument names")
    p.add_argument("--use-ema", action="store_true",
                   help="content.pth: write the EMA generator weights (from optimizerG) instead of the raw ones; "
                        "netG_<epoch>.pth already holds EMA weights when training used --use_ema")
    p.add_argument("--list", action="store_true", help="print the tensors and the config, write nothing")
    p.add_argument("--reader", choices=("auto", "torch", "builtin"), default="auto",
                   help="auto: torch.load(weights_only=True) when PyTorch is importable, else the built-in "
                        "restricted reader (default: auto)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow torch.load(weights_only=False), which can execute code from the file: only for "
                        "files you trust that the restricted readers refuse")
    g = p.add_argument_group("config overrides (official argument names; booleans as --name / --no-name)")
    for key, kind in GEN_FIELDS + D_FIELDS:
        flag = "--" + key
        if kind is bool:
            g.add_argument(flag, dest="cfg_" + key, action=argparse.BooleanOptionalAction, default=None)
        elif kind is INTS:
            g.add_argument(flag, dest="cfg_" + key, nargs="+", type=int, metavar="N", default=None)
        else:
            g.add_argument(flag, dest="cfg_" + key, type=kind, metavar=kind.__name__.upper(), default=None)
    return p


def _read_config_json(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            value = json.load(f)
    except OSError as e:
        raise ConvertError("--config-json %s: %s" % (path, e.strerror or e))
    except ValueError as e:
        raise ConvertError("--config-json %s: invalid JSON (%s)" % (path, e))
    if not isinstance(value, dict):
        raise ConvertError("--config-json %s: expected a JSON object" % path)
    if value.get("cls", "NCSNpp") != "NCSNpp":
        raise ConvertError("--config-json %s: cls %r is not NCSNpp" % (path, value.get("cls")))
    return value


def _param_count(tensors):
    return sum(t.numel() for t in tensors.values())


def _print_listing(title, tensors, config):
    print("%s: %d tensors, %s parameters" % (title, len(tensors), format(_param_count(tensors), ",")))
    width = max(len(n) for n in tensors)
    for name, t in tensors.items():
        print("  %-*s  %-8s  %s" % (width, name, t.dtype, _shape_str(t.shape)))
    print("  config: %s" % (json.dumps(config) if config is not None else
                             "not determined (netG_<epoch>.pth holds no training arguments: pass --preset or "
                             "--config-json)"))


def _dtype_notes(tensors, what, notes):
    counts = collections.Counter(t.dtype for t in tensors.values() if t.dtype != "float32")
    for dtype, n in sorted(counts.items()):
        notes.append("%s: %d %s tensor(s), written as float32%s" % (
            what, n, dtype, " (precision reduced)" if dtype == "float64" else ""))


def run(argv):
    if np is None:
        raise ConvertError("numpy is required (Debian: python3-numpy)")
    a = build_parser().parse_args(argv)
    if not a.list and not a.out:
        raise UsageError("give -o FILE (or --list)")
    if a.preset is not None and a.preset not in PRESETS:
        raise UsageError("unknown preset %r (choose from %s)" % (a.preset, ", ".join(PRESETS)))
    if a.out and a.d_out and os.path.abspath(a.out) == os.path.abspath(a.d_out):
        raise UsageError("-o and --d-out name the same file")
    for out in (a.out, a.d_out):
        if out and os.path.exists(a.input) and os.path.exists(out) and os.path.samefile(out, a.input):
            raise UsageError("the output %s would overwrite the input" % out)
    notes = []
    overrides = {k: getattr(a, "cfg_" + k) for k in FIELD_TYPES if getattr(a, "cfg_" + k) is not None}
    config_json = _read_config_json(a.config_json) if a.config_json else None

    obj, reader = load_checkpoint(a.input, a.reader, a.trust_pickle, notes)
    kind, gen_state, content = interpret(obj, a.input)

    layers = []
    if a.preset:
        layers.append(("--preset " + a.preset, PRESETS[a.preset]))
    train_args = None
    if kind == "content":
        train_args = content.get("args")
        if not isinstance(train_args, dict):
            raise ConvertError("%s: content.pth has no training arguments ('args')" % a.input)
        absent = [k for k in FIELD_TYPES if k not in train_args]
        if absent:
            notes.append("args of content.pth lack %s; using the train_ddgan.py defaults" % ", ".join(absent))
        layers.append(("args of content.pth", train_args))
    if config_json is not None:
        unknown = sorted(k for k in config_json if k not in FIELD_TYPES and k != "cls")
        if unknown:
            notes.append("--config-json: ignoring unknown key(s) %s" % ", ".join(unknown))
        layers.append(("--config-json " + a.config_json, config_json))
    if overrides:
        layers.append(("command line", overrides))

    gen_cfg = d_args = None
    if kind == "netG" and not (a.preset or config_json is not None or overrides):
        if not a.list:
            raise UsageError("netG_<epoch>.pth holds no training arguments: give --preset (%s), --config-json "
                             "FILE or the official flags" % ", ".join(PRESETS))
    else:
        gen_cfg, d_args = resolve_config(layers)

    if kind == "netG":
        if a.use_ema:
            notes.append("--use-ema: netG_<epoch>.pth already holds the EMA weights when training used "
                         "--use_ema (train_ddgan.py swaps them in before saving); converting it as saved")
        if a.d_out:
            raise ConvertError("--d-out: %s is a generator state_dict; only content.pth holds the discriminator"
                               % a.input)
        weights_note = "as saved in netG_<epoch>.pth (EMA weights if training used --use_ema)"
        if a.preset:
            weights_note += "; the published %s run %s EMA" % (a.preset, "used" if PRESET_EMA[a.preset]
                                                                 else "did not use")
    else:
        weights_note = "raw training weights (netG_dict)"
        if a.use_ema:
            gen_state, raw = ema_state(content, gen_state, a.input)
            weights_note = "EMA weights (optimizerG state 'ema')"
            if raw:
                notes.append("--use-ema: %d parameter(s) without EMA state kept as saved (first: %s)"
                             % (len(raw), raw[0]))
        elif train_args.get("use_ema"):
            notes.append("content.pth holds the raw training weights; --use-ema writes the EMA weights")

    d_state = d_cfg = None
    if kind == "content" and (a.d_out or a.list):
        if "netD_dict" not in content:
            raise ConvertError("%s: content.pth has no 'netD_dict'" % a.input)
        d_state = _strip_module(content["netD_dict"], "netD_dict", a.input)
        d_cfg = discriminator_config(d_args, gen_cfg["num_channels"])

    if a.list:
        title = "%s (%s, read by the %s reader)" % (
            a.input, "content.pth" if kind == "content" else "generator state_dict", reader)
        _print_listing("generator " + title, gen_state, gen_cfg)
        if d_state is not None:
            _print_listing("discriminator", d_state, d_cfg)
        if kind == "content":
            print("epoch %s, global_step %s" % (content.get("epoch"), content.get("global_step")))

    if gen_cfg is not None:
        expected = generator_param_shapes(gen_cfg)
        if expected is None:
            notes.append("generator keys not checked: this architecture variant is not modelled by the converter")
        else:
            check_shapes("the generator state_dict", gen_state, expected)
    if d_state is not None:
        check_shapes("the discriminator state_dict (%s)" % d_cfg["cls"], d_state, discriminator_param_shapes(d_cfg))
    _dtype_notes(gen_state, "generator", notes)
    if d_state is not None:
        _dtype_notes(d_state, "discriminator", notes)
    for note in notes:
        sys.stderr.write("%s: note: %s\n" % (PROG, note))
    if a.list:
        return 0

    source = os.path.basename(a.input)
    if kind == "content":
        source += " (content.pth, epoch field %s, global_step %s)" % (content.get("epoch"),
                                                                       content.get("global_step"))
    meta = {"config": json.dumps(gen_cfg), "converted_from": source, "weights": weights_note,
            "converter": "libddgan bindings/python/tools/convert_official.py"}
    nbytes = write_safetensors(a.out, gen_state, meta)
    print("wrote %s: generator, %d tensors, %s parameters, %.1f MB" % (
        a.out, len(gen_state), format(_param_count(gen_state), ","), nbytes / 1e6))
    if a.d_out:
        meta = {"config": json.dumps(d_cfg), "converted_from": source, "weights": "netD_dict",
                "converter": "libddgan bindings/python/tools/convert_official.py"}
        nbytes = write_safetensors(a.d_out, d_state, meta)
        print("wrote %s: %s, %d tensors, %s parameters, %.1f MB" % (
            a.d_out, d_cfg["cls"], len(d_state), format(_param_count(d_state), ","), nbytes / 1e6))
    elif kind == "content":
        sys.stderr.write("%s: note: discriminator not written (use --d-out FILE)\n" % PROG)
    return 0


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except ConvertError as e:
        sys.stderr.write("%s: error: %s\n" % (PROG, " ".join(str(e).split("\n"))))
        return e.status
    except BrokenPipeError:  # e.g. `--list | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except MemoryError:
        sys.stderr.write("%s: error: out of memory\n" % PROG)
        return 1
    except OSError as e:
        sys.stderr.write("%s: error: %s\n" % (PROG, e))
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted\n" % PROG)
        return 130


if __name__ == "__main__":
    sys.exit(main())
