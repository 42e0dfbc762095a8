#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Small valid files plus broken variants (truncated, wrong sizes, bad magic,
bad checksums), so the fuzzers start past the first checks and the replay
tests cover the error paths. Usage:
    make_corpus.py [--replay-checkpoint BUILD/bin/fuzz_replay_checkpoint]
The checkpoint seeds need the library (a trainer checkpoint of the harness's
toy trainer); without the option that folder is left as it is. Reproducers
of findings are added by hand as crash-<what> files and never regenerated.
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- safetensors
DT = {"F32": ("<f", 4), "F64": ("<d", 8), "I64": ("<q", 8), "U8": ("<B", 1), "I32": ("<i", 4),
      "F16": ("<e", 2), "BOOL": ("<B", 1), "BF16": ("<H", 2), "U64": ("<Q", 8), "I8": ("<b", 1)}


def safetensors(tensors, metadata=None, pad=True):
    header, blob = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, values in tensors:
        fmt, _ = DT[dtype]
        data = b"".join(struct.pack(fmt, v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def make_safetensors():
    t = "safetensors"
    good = safetensors([("a", "F32", [2, 3], [0.5, -1, 2, 3.25, 1e30, -0.0]),
                        ("b", "I64", [], [7]),
                        ("c", "U8", [4], [0, 1, 254, 255]),
                        ("d", "F16", [2], [1.5, -2.0]),
                        ("e", "BF16", [1], [0x3f80]),
                        ("f", "F64", [1, 1], [1e300]),
                        ("g", "BOOL", [3], [0, 1, 1]),
                        ("h", "U64", [1], [2**64 - 1]),
                        ("i", "I8", [2], [-128, 127]),
                        ("z", "F32", [0, 5], [])],
                       {"config": '{"cls": "ToyMLP"}', "format": "pt"})
    put(t, "valid_mixed.safetensors", good)
    put(t, "valid_empty.safetensors", safetensors([]))
    put(t, "valid_meta_only.safetensors", safetensors([], {"k": "v"}))
    put(t, "truncated.safetensors", good[:-3])
    put(t, "short_header.safetensors", good[:20])
    put(t, "header_len_huge.safetensors", struct.pack("<Q", 2**63) + good[8:])
    put(t, "header_len_past_end.safetensors", struct.pack("<Q", len(good)) + good[8:])
    h = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'
    put(t, "overlap.safetensors", struct.pack("<Q", len(h)) + h + bytes(12))
    h = b'{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}'
    put(t, "numel_overflow.safetensors", struct.pack("<Q", len(h)) + h)
    h = b'{"a":{"dtype":"X9","shape":[1],"data_offsets":[0,1]}}'
    put(t, "bad_dtype.safetensors", struct.pack("<Q", len(h)) + h + b"\0")
    h = b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'
    put(t, "duplicate.safetensors", struct.pack("<Q", len(h)) + h + b"\0\0")
    h = b'{"__metadata__":{"k":1}}'
    put(t, "meta_not_string.safetensors", struct.pack("<Q", len(h)) + h)


# ---------------------------------------------------------------- config JSON
def make_config_json():
    t = "config_json"
    gen = {"image_size": 8, "num_channels": 1, "num_channels_dae": 8, "ch_mult": [1, 2], "num_res_blocks": 1,
           "attn_resolutions": [4], "nz": 4, "z_emb_dim": 8, "n_mlp": 2, "num_timesteps": 2,
           "beta_min": 0.1, "beta_max": 20.0, "use_geometric": False, "centered": True, "dropout": 0.0,
           "resamp_with_conv": True, "conditional": True, "fir": True, "fir_kernel": [1, 3, 3, 1],
           "skip_rescale": True, "resblock_type": "biggan", "progressive": "none",
           "progressive_input": "residual", "progressive_combine": "sum", "embedding_type": "positional",
           "not_use_tanh": False, "act": "swish"}
    put(t, "gen_ncsnpp.json", json.dumps(gen).encode())
    put(t, "gen_ddpm.json", json.dumps(dict(gen, resblock_type="ddpm", progressive="output_skip",
                                            embedding_type="fourier", fir=False)).encode())
    put(t, "gen_toy.json", b'{"cls": "ToyMLP", "hidden_dim": 16, "n_hidden": 2, "nz": 2, "t_emb_dim": 8, '
                           b'"data_scale": 4.0, "lrelu_slope": 0.2, "num_timesteps": 4}')
    put(t, "disc_small.json", b'{"cls": "Discriminator_small", "nc": 6, "ngf": 8, "t_emb_dim": 16, "image_size": 8}')
    put(t, "disc_large.json", b'{"cls": "Discriminator_large", "nc": 2, "ngf": 4, "t_emb_dim": 8}')
    put(t, "empty_object.json", b"{}")
    put(t, "escapes.json", b'{"cls": "Toy\\u004dLP", "s": "\\ud83d\\ude00\\n\\t\\"", "n": -1.5e-3, "a": [null, true]}')
    put(t, "deep.json", b"[" * 70 + b"]" * 70)
    put(t, "bad_value.json", b'{"ch_mult": [1, "x"], "nz": 1e400}')
    put(t, "trailing.json", b'{"nz": 4} x')
    put(t, "truncated.json", json.dumps(gen).encode()[:-7])
    put(t, "bad_utf8.json", b'{"cls": "\xff\xfe"}')
    put(t, "huge_ints.json", b'{"nz": 99999999999999999999, "image_size": -2147483649, "num_timesteps": 0.5}')


# ---------------------------------------------------------------- IDX
def idx(dims, payload, typ=8):
    return bytes([0, 0, typ, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def make_idx():
    t = "idx"
    images = idx([2, 3, 4], bytes(range(0, 240, 10)))
    labels = idx([2], bytes([3, 9]))
    put(t, "images.idx", images)
    put(t, "labels.idx", labels)
    put(t, "images.gz", gzip.compress(images, mtime=0))
    put(t, "images_two_members.gz", gzip.compress(images[:9], mtime=0) + gzip.compress(images[9:], mtime=0))
    put(t, "labels.gz", gzip.compress(labels, mtime=0))
    put(t, "truncated.idx", images[:-1])
    put(t, "trailing.idx", images + b"\0")
    put(t, "type_int32.idx", idx([1, 1, 1], b"\0\0\0\1", typ=0x0C))
    put(t, "zero_dim.idx", idx([0, 3, 4], b""))
    put(t, "big_dims.idx", idx([65536, 65536, 65536], b"\0"))
    put(t, "bad_magic.idx", b"\1" + images[1:])
    gz = bytearray(gzip.compress(images, mtime=0))
    gz[-5] ^= 0xFF  # wrong length/CRC trailer
    put(t, "bad_crc.gz", bytes(gz))
    put(t, "truncated.gz", gzip.compress(images, mtime=0)[:-6])
    put(t, "bomb.gz", gzip.compress(idx([1, 1024, 1024], bytes(1024 * 1024)), mtime=0))


# ---------------------------------------------------------------- CIFAR-10
def make_cifar():
    t = "cifar"
    rec = lambda label, v: bytes([label]) + bytes((v + i) % 256 for i in range(3072))
    put(t, "two_records.bin", rec(3, 0) + rec(9, 100))
    put(t, "one_record.bin", rec(0, 7))
    put(t, "partial_record.bin", rec(1, 0) + rec(2, 5)[:100])
    put(t, "bad_label.bin", rec(10, 0))
    put(t, "empty.bin", b"")


# ---------------------------------------------------------------- PNG
def chunk(kind, data, crc=None):
    c = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", c & 0xFFFFFFFF)


def png(w, h, depth, ctype, rows, extra=b"", ihdr_override=None):
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = ihdr_override or struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    raw = b"".join(b"\0" + r for r in rows)
    return sig + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def make_png():
    t = "png"
    put(t, "gray_3x2.png", png(3, 2, 8, 0, [bytes([0, 128, 255]), bytes([10, 20, 30])]))
    put(t, "rgb_4x4.png", png(4, 4, 8, 2, [bytes(range(i * 12, i * 12 + 12)) for i in range(4)]))
    put(t, "rgba_2x2.png", png(2, 2, 8, 6, [bytes(range(8)), bytes(range(8, 16))]))
    put(t, "gray_alpha_2x1.png", png(2, 1, 8, 4, [bytes([1, 2, 3, 4])]))
    put(t, "palette_2x2.png", png(2, 2, 8, 3, [bytes([0, 1]), bytes([1, 0])],
                                  extra=chunk(b"PLTE", bytes([255, 0, 0, 0, 0, 255]))))
    put(t, "gray16_2x2.png", png(2, 2, 16, 0, [bytes([1, 2, 3, 4]), bytes([5, 6, 7, 8])]))
    put(t, "gray1bit_9x1.png", png(9, 1, 1, 0, [bytes([0xA5, 0x80])]))
    put(t, "rgb_10x7.png", png(10, 7, 8, 2, [bytes((i * 3 + j) % 256 for j in range(30)) for i in range(7)]))
    good = png(3, 2, 8, 0, [bytes([0, 128, 255]), bytes([10, 20, 30])])
    put(t, "truncated.png", good[:-20])
    bad = bytearray(good)
    bad[29] ^= 0xFF  # IHDR CRC
    put(t, "bad_crc.png", bytes(bad))
    put(t, "huge_dims.png", png(1, 1, 8, 0, [b"\0"], ihdr_override=struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)))
    put(t, "short_rows.png", png(8, 8, 8, 2, [b"\0" * 3]))
    put(t, "not_png.png", b"GIF89a" + bytes(20))


def make_checkpoint(replay):
    t = "checkpoint"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([replay, "--make-seeds", tmp], check=True)
        for name in sorted(os.listdir(tmp)):
            data = open(os.path.join(tmp, name), "rb").read()
            put(t, name, data)
            if name == "trainer.safetensors":
                put(t, "trainer_truncated.safetensors", data[:-16])
                n = struct.unpack("<Q", data[:8])[0]
                hdr = data[8:8 + n].replace(b"ddgan-checkpoint/1", b"ddgan-checkpoint/9")
                put(t, "trainer_future_format.safetensors", data[:8] + hdr + data[8 + n:])
                hdr = data[8:8 + n].replace(b'"hidden_dim":8', b'"hidden_dim":9')
                put(t, "trainer_other_config.safetensors", data[:8] + hdr + data[8 + n:])
    put(t, "not_safetensors.bin", b"\0" * 16)


def main():
    make_safetensors()
    make_config_json()
    make_idx()
    make_cifar()
    make_png()
    if len(sys.argv) == 3 and sys.argv[1] == "--replay-checkpoint":
        make_checkpoint(sys.argv[2])


if __name__ == "__main__":
    main()
