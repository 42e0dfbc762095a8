"""Tests of bindings/python/tools/convert_official.py (official DDGAN checkpoint -> safetensors).

The checkpoints are written here in PyTorch's zip format without PyTorch (ptzip.py), with random weights for
the full CIFAR-10 key list of ../shared/spec/official-keys-cifar10.txt and for the tiny generator of the
shared test vectors. When PyTorch is importable, real torch.save files are converted too and the hand-written
format is checked against torch.save byte by byte.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import ptzip
from conftest import CONVERTER, read_safetensors, shared_path

CIFAR_G_PARAMS = 48432515
CIFAR_D_PARAMS = 12741633

try:
    import torch
except Exception:  # any failure to import means: no torch here
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not importable in this environment")


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------

_NO_TORCH_DIR = []


@pytest.fixture(scope="session", autouse=True)
def _hidden_torch(tmp_path_factory):
    """A directory whose torch package fails to import: PYTHONPATH for runs that must not see PyTorch."""
    root = tmp_path_factory.mktemp("no_torch")
    (root / "torch").mkdir()
    (root / "torch" / "__init__.py").write_text("raise ImportError('torch is hidden for this test')\n")
    _NO_TORCH_DIR[:] = [str(root)]


def run_converter(*args, hide_torch=True):
    """Runs the converter. hide_torch: as on a machine without PyTorch (the default reader is then the
    built-in one; it also saves the torch import time). The torch path has its own tests below."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if hide_torch:
        env["PYTHONPATH"] = _NO_TORCH_DIR[0]
    return subprocess.run([sys.executable, str(CONVERTER)] + [str(a) for a in args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)


def assert_failed(result, status, *fragments):
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, "expected one line on stderr, got %r" % result.stderr
    assert lines[0].startswith("convert_official.py: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def parse_official_keys(path):
    sections = {"generator": collections.OrderedDict(), "discriminator": collections.OrderedDict()}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections[line.strip("[]")]
            continue
        name, dims = line.split()
        current[name] = tuple(int(d) for d in dims.split("x"))
    return sections["generator"], sections["discriminator"]


def load_arrays(path, prefix):
    """The F32 tensors of a safetensors file whose names start with prefix (prefix removed), and its metadata."""
    entries, metadata, data = read_safetensors(path)
    out = collections.OrderedDict()
    for name, (dtype, shape, begin, end) in entries.items():
        if name.startswith(prefix):
            assert dtype == "F32", name
            out[name[len(prefix):]] = np.frombuffer(data, "<f4", (end - begin) // 4, begin).reshape(shape)
    return out, metadata


def check_output(path, expected):
    """Byte-level check of a converted file: every tensor F32 with the expected name, shape and data."""
    entries, metadata, data = read_safetensors(path)
    assert sorted(entries) == sorted(expected)
    for name, array in expected.items():
        dtype, shape, begin, end = entries[name]
        assert dtype == "F32", name
        assert shape == tuple(array.shape), name
        assert end - begin == 4 * array.size, name
        assert data[begin:end] == np.ascontiguousarray(array, dtype="<f4").tobytes(), name
    assert "config" in metadata
    return metadata, sum(int(np.prod(s[1], dtype=np.int64)) for s in entries.values())


def gen_tiny_config():
    _, metadata, _ = read_safetensors(shared_path("spec", "vectors", "gen_tiny.safetensors"))
    return json.loads(metadata["config"])


def check_config_types(config):
    """The generator config has exactly gen_tiny's keys (+ "cls") with the same JSON value types."""
    reference = gen_tiny_config()
    assert set(config) == set(reference) | {"cls"}
    assert config["cls"] == "NCSNpp"
    for key, value in reference.items():
        assert type(config[key]) is type(value), (key, config[key], value)
        if isinstance(value, list):
            assert all(type(v) is int for v in config[key]), key


CIFAR_ARGS = dict(
    seed=1024, resume=False, image_size=32, num_channels=3, centered=True, use_geometric=False, beta_min=0.1,
    beta_max=20.0, num_channels_dae=128, n_mlp=4, ch_mult=[1, 2, 2, 2], num_res_blocks=2,
    attn_resolutions=(16,), dropout=0.0, resamp_with_conv=True, conditional=True, fir=True,
    fir_kernel=[1, 3, 3, 1], skip_rescale=True, resblock_type="biggan", progressive="none",
    progressive_input="residual", progressive_combine="sum", embedding_type="positional", fourier_scale=16.0,
    not_use_tanh=False, exp="ddgan_cifar10_exp1", dataset="cifar10", nz=100, num_timesteps=4, z_emb_dim=256,
    t_emb_dim=256, batch_size=64, num_epoch=1800, ngf=64, lr_g=1.6e-4, lr_d=1.25e-4, beta1=0.5, beta2=0.9,
    no_lr_decay=False, use_ema=True, ema_decay=0.9999, r1_gamma=0.02, lazy_reg=15, save_content=True,
    save_content_every=50, save_ckpt_every=25, num_proc_node=1, num_process_per_node=4, node_rank=0,
    local_rank=0, master_address="127.0.0.1")

CIFAR_CONFIG = {
    "image_size": 32, "num_channels": 3, "num_channels_dae": 128, "ch_mult": [1, 2, 2, 2], "num_res_blocks": 2,
    "attn_resolutions": [16], "nz": 100, "z_emb_dim": 256, "n_mlp": 4, "num_timesteps": 4, "beta_min": 0.1,
    "beta_max": 20.0, "use_geometric": False, "centered": True, "dropout": 0.0, "resamp_with_conv": True,
    "conditional": True, "fir": True, "fir_kernel": [1, 3, 3, 1], "skip_rescale": True,
    "resblock_type": "biggan", "progressive": "none", "progressive_input": "residual",
    "progressive_combine": "sum", "embedding_type": "positional", "not_use_tanh": False, "cls": "NCSNpp"}


def random_weights(shapes, rng):
    return collections.OrderedDict((name, rng.standard_normal(shape, dtype=np.float32))
                                   for name, shape in shapes.items())


def stacked_ema(weights):
    """EMA tensors laid out as EMA.py leaves them: one stacked storage per parameter shape, each parameter's
    EMA a view at offset index * numel. Values: -0.5 * weight."""
    groups = collections.OrderedDict()
    for name, w in weights.items():
        groups.setdefault(w.shape, []).append(name)
    views = {}
    for shape, names in groups.items():
        storage = ptzip.Storage(np.concatenate([(-0.5 * weights[n]).reshape(-1) for n in names]))
        size = int(np.prod(shape, dtype=np.int64))
        for i, n in enumerate(names):
            views[n] = ptzip.Tensor(storage, i * size, shape, ptzip.contiguous_strides(shape))
    return views


def adam_state(weights, ema):
    """An optimizerG state_dict: step (0-d tensor), exp_avg / exp_avg_sq (zero-stride views of one value, to
    keep the file small), ema."""
    zero = ptzip.Storage(np.zeros(1, np.float32))
    state = {}
    for i, (name, w) in enumerate(weights.items()):
        state[i] = {"step": ptzip.tensor(np.array(1000.0, np.float32)),
                    "exp_avg": ptzip.Tensor(zero, 0, w.shape, (0,) * w.ndim),
                    "exp_avg_sq": ptzip.Tensor(zero, 0, w.shape, (0,) * w.ndim)}
        if ema is not None:
            state[i]["ema"] = ema[name]
    group = {"lr": 1.6e-4, "betas": (0.5, 0.9), "eps": 1e-8, "weight_decay": 0, "amsgrad": False,
             "maximize": False, "foreach": None, "capturable": False, "params": list(range(len(weights)))}
    return {"state": state, "param_groups": [group]}


def module_state(weights):
    """A state_dict as DDP's module.state_dict() names it."""
    return collections.OrderedDict(("module." + n, ptzip.tensor(w)) for n, w in weights.items())


# ---------------------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    """Random CIFAR-10 weights and the netG_1200.pth / content.pth files written from them."""
    g_shapes, d_shapes = parse_official_keys(shared_path("spec", "official-keys-cifar10.txt"))
    rng = np.random.default_rng(1234)
    g = random_weights(g_shapes, rng)
    d = random_weights(d_shapes, rng)
    root = tmp_path_factory.mktemp("cifar")
    netg = root / "netG_1200.pth"
    ptzip.save(module_state(g), netg)
    content = {
        "epoch": 1201, "global_step": 234000, "args": argparse.Namespace(**CIFAR_ARGS),
        "netG_dict": module_state(g), "optimizerG": adam_state(g, stacked_ema(g)),
        "schedulerG": {"T_max": 1800, "eta_min": 1e-5, "base_lrs": [1.6e-4], "last_epoch": 1201,
                       "_step_count": 1202, "verbose": False, "_get_lr_called_within_step": False,
                       "_last_lr": [1e-4]},
        "netD_dict": module_state(d), "optimizerD": adam_state(d, None),
        "schedulerD": {"T_max": 1800, "eta_min": 1e-5, "base_lrs": [1.25e-4], "last_epoch": 1201}}
    content_path = root / "content.pth"
    ptzip.save(content, content_path)
    return {"g": g, "d": d, "g_shapes": g_shapes, "d_shapes": d_shapes, "root": root, "netG": netg,
            "content": content_path}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny generator of the shared vectors (weights, config) and a netG_0.pth holding them."""
    weights, meta = load_arrays(shared_path("spec", "vectors", "gen_tiny.safetensors"), prefix="gen.")
    root = tmp_path_factory.mktemp("tiny")
    config = json.loads(meta["config"])
    config_path = root / "gen_tiny_config.json"
    config_path.write_text(json.dumps(config))
    path = root / "netG_0.pth"
    ptzip.save(module_state(weights), path)
    return {"weights": weights, "config": config, "config_path": config_path, "root": root, "netG": path}


# ---------------------------------------------------------------------------------------------------------
# expected key tables
# ---------------------------------------------------------------------------------------------------------

def test_key_tables_match_the_official_cifar10_list(converter):
    g_shapes, d_shapes = parse_official_keys(shared_path("spec", "official-keys-cifar10.txt"))
    cfg, d_args = converter.resolve_config([("preset", converter.PRESETS["cifar10"])])
    assert list(converter.generator_param_shapes(cfg).items()) == list(g_shapes.items())
    dcfg = converter.discriminator_config(d_args, cfg["num_channels"])
    assert dcfg == {"cls": "Discriminator_small", "nc": 6, "ngf": 64, "t_emb_dim": 256}
    assert list(converter.discriminator_param_shapes(dcfg).items()) == list(d_shapes.items())
    assert sum(int(np.prod(s)) for s in g_shapes.values()) == CIFAR_G_PARAMS
    assert sum(int(np.prod(s)) for s in d_shapes.values()) == CIFAR_D_PARAMS


def test_key_tables_match_the_256px_counts_and_tiny_vectors(converter):
    def count(shapes):
        return sum(int(np.prod(s)) for s in shapes.values())

    for preset in ("lsun", "celeba_256"):
        cfg, d_args = converter.resolve_config([("preset", converter.PRESETS[preset])])
        assert count(converter.generator_param_shapes(cfg)) == 39726979  # reference section 7
        dcfg = converter.discriminator_config(d_args, 3)
        assert dcfg["cls"] == "Discriminator_large"
        assert count(converter.discriminator_param_shapes(dcfg)) == 27737217
    gen, _ = load_arrays(shared_path("spec", "vectors", "gen_tiny.safetensors"), prefix="gen.")
    cfg, _ = converter.resolve_config([("gen_tiny", gen_tiny_config())])
    expected = converter.generator_param_shapes(cfg)
    assert {k: tuple(v.shape) for k, v in gen.items()} == dict(expected)
    assert count(expected) == 208561
    disc, meta = load_arrays(shared_path("spec", "vectors", "disc_tiny.safetensors"), prefix="disc.")
    dcfg = {k: json.loads(meta["config"])[k] for k in ("cls", "nc", "ngf", "t_emb_dim")}
    assert {k: tuple(v.shape) for k, v in disc.items()} == dict(converter.discriminator_param_shapes(dcfg))


# ---------------------------------------------------------------------------------------------------------
# CIFAR-10 size conversions
# ---------------------------------------------------------------------------------------------------------

def test_netg_cifar10(cifar):
    out = cifar["root"] / "g_builtin.safetensors"
    r = run_converter(cifar["netG"], "--preset", "cifar10", "-o", out, "--reader", "builtin")
    assert r.returncode == 0, r.stderr
    assert "48,432,515 parameters" in r.stdout
    metadata, params = check_output(out, cifar["g"])
    assert params == CIFAR_G_PARAMS
    config = json.loads(metadata["config"])
    assert config == CIFAR_CONFIG
    check_config_types(config)
    # the default reader (torch hidden: the built-in one) gives the same file
    out2 = cifar["root"] / "g_auto.safetensors"
    r = run_converter(cifar["netG"], "--preset", "cifar10", "-o", out2)
    assert r.returncode == 0, r.stderr
    assert out2.read_bytes() == out.read_bytes()


def test_content_cifar10_generator_and_discriminator(cifar):
    g_out, d_out = cifar["root"] / "c_g.safetensors", cifar["root"] / "c_d.safetensors"
    r = run_converter(cifar["content"], "-o", g_out, "--d-out", d_out)
    assert r.returncode == 0, r.stderr
    assert "--use-ema" in r.stderr  # notes that EMA weights exist but were not requested
    metadata, params = check_output(g_out, cifar["g"])
    assert params == CIFAR_G_PARAMS
    config = json.loads(metadata["config"])
    assert config == CIFAR_CONFIG  # from the args Namespace
    check_config_types(config)
    metadata, params = check_output(d_out, cifar["d"])
    assert params == CIFAR_D_PARAMS
    assert json.loads(metadata["config"]) == {"cls": "Discriminator_small", "nc": 6, "ngf": 64, "t_emb_dim": 256}


def test_content_cifar10_ema(cifar):
    out = cifar["root"] / "c_g_ema.safetensors"
    r = run_converter(cifar["content"], "--use-ema", "-o", out, "--reader", "builtin")
    assert r.returncode == 0, r.stderr
    expected = collections.OrderedDict((n, -0.5 * w) for n, w in cifar["g"].items())
    metadata, _ = check_output(out, expected)
    assert "EMA" in metadata["weights"]


def test_list_prints_tensors_and_config(cifar):
    before = sorted(os.listdir(cifar["root"]))
    r = run_converter(cifar["content"], "--list")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(cifar["root"])) == before
    lines = r.stdout.splitlines()
    assert any("384 tensors, 48,432,515 parameters" in l for l in lines)
    assert any("38 tensors, 12,741,633 parameters" in l for l in lines)
    assert any(l.split()[:3] == ["all_modules.3.Conv_0.weight", "float32", "[128,"] for l in lines)
    configs = [json.loads(l.split("config: ", 1)[1]) for l in lines if "config: {" in l]
    assert configs[0] == CIFAR_CONFIG
    assert configs[1]["cls"] == "Discriminator_small"
    assert "epoch 1201, global_step 234000" in r.stdout


def test_wrong_preset_is_refused(cifar):
    out = cifar["root"] / "wrong.safetensors"
    r = run_converter(cifar["netG"], "--preset", "lsun", "-o", out)
    assert_failed(r, 1, "does not match its config")
    assert not out.exists()


# ---------------------------------------------------------------------------------------------------------
# tiny generator: config sources, dtypes and strided storage
# ---------------------------------------------------------------------------------------------------------

def test_tiny_config_json_and_flags(tiny):
    out = tiny["root"] / "tiny.safetensors"
    r = run_converter(tiny["netG"], "--config-json", tiny["config_path"], "-o", out)
    assert r.returncode == 0, r.stderr
    metadata, params = check_output(out, tiny["weights"])
    assert params == 208561
    config = json.loads(metadata["config"])
    assert {k: v for k, v in config.items() if k != "cls"} == tiny["config"]
    check_config_types(config)
    # the same config from the official flags alone (train_ddgan.py defaults for the rest)
    flags = ["--image_size", "16", "--num_channels", "1", "--num_channels_dae", "16", "--ch_mult", "1", "2",
             "--num_res_blocks", "1", "--attn_resolutions", "8", "--nz", "8", "--z_emb_dim", "16", "--n_mlp", "2"]
    out2 = tiny["root"] / "tiny_flags.safetensors"
    r = run_converter(tiny["netG"], "-o", out2, *flags)
    assert r.returncode == 0, r.stderr
    assert json.loads(check_output(out2, tiny["weights"])[0]["config"]) == config
    # a command-line flag overrides the JSON file (and is checked against the tensors)
    r = run_converter(tiny["netG"], "--config-json", tiny["config_path"], "--num_timesteps", "2",
                      "--no-centered", "--beta_max", "10", "-o", out2)
    assert r.returncode == 0, r.stderr
    config2 = json.loads(check_output(out2, tiny["weights"])[0]["config"])
    assert (config2["num_timesteps"], config2["centered"], config2["beta_max"]) == (2, False, 10.0)
    check_config_types(config2)


def test_tiny_dtypes_and_views(tiny):
    w = tiny["weights"]
    names = list(w)
    sd = collections.OrderedDict()
    expected = collections.OrderedDict()
    shared = []  # same-shaped 1-D tensors packed into one storage, read back through offsets
    for i, name in enumerate(names):
        a = w[name]
        key = "module." + name
        if i % 5 == 0:
            sd[key] = ptzip.tensor(a.astype(np.float16))
            expected[name] = a.astype(np.float16).astype(np.float32)
        elif i % 5 == 1:
            bits = (a.view(np.uint32) >> 16).astype(np.uint16)
            sd[key] = ptzip.Tensor(ptzip.Storage(bits, bfloat16=True), 0, a.shape, ptzip.contiguous_strides(a.shape))
            expected[name] = (bits.astype(np.uint32) << 16).view(np.float32)
        elif i % 5 == 2:
            sd[key] = ptzip.tensor(a.astype(np.float64))
            expected[name] = a.astype(np.float64).astype(np.float32)
        elif i % 5 == 3 and a.ndim >= 2:
            # stored transposed (last two dims swapped): a strided view, as .t() / permute produce
            t = np.ascontiguousarray(np.swapaxes(a, -1, -2))
            strides = list(ptzip.contiguous_strides(t.shape))
            strides[-1], strides[-2] = strides[-2], strides[-1]
            sd[key] = ptzip.Tensor(ptzip.Storage(t), 0, a.shape, strides)
            expected[name] = a
        elif a.ndim == 1:
            shared.append(name)
            sd[key] = None
            expected[name] = a
        else:
            sd[key] = ptzip.tensor(a)
            expected[name] = a
    storage = ptzip.Storage(np.concatenate([np.full(3, 7.0, np.float32)] + [w[n] for n in shared]))
    offset = 3
    for name in shared:
        sd["module." + name] = ptzip.Tensor(storage, offset, w[name].shape, (1,))
        offset += w[name].size
    path = tiny["root"] / "netG_mixed.pth"
    ptzip.save(sd, path)
    out = tiny["root"] / "mixed.safetensors"
    r = run_converter(path, "--config-json", tiny["config_path"], "-o", out)
    assert r.returncode == 0, r.stderr
    for dtype in ("float16", "bfloat16", "float64"):
        assert dtype in r.stderr
    check_output(out, expected)


# ---------------------------------------------------------------------------------------------------------
# failures
# ---------------------------------------------------------------------------------------------------------

def test_usage_errors(tiny):
    assert_failed(run_converter(tiny["netG"], "--preset", "imagenet", "-o", tiny["root"] / "x.st"), 2, "imagenet")
    assert_failed(run_converter(tiny["netG"], "-o", tiny["root"] / "x.st"), 2, "--preset")
    assert_failed(run_converter(tiny["netG"], "--preset", "cifar10"), 2, "-o")
    assert_failed(run_converter(tiny["netG"], "--bogus", "1", "-o", tiny["root"] / "x.st"), 2, "--bogus")
    assert not (tiny["root"] / "x.st").exists()
    r = run_converter(tiny["netG"], "--list")  # listing needs no config
    assert r.returncode == 0, r.stderr
    assert "162 tensors, 208,561 parameters" in r.stdout and "config: not determined" in r.stdout


def test_missing_file_and_not_a_checkpoint(tiny):
    root = tiny["root"]
    assert_failed(run_converter(root / "absent.pth", "--preset", "cifar10", "-o", root / "x.st"), 1,
                  "no such file")
    text = root / "notes.txt"
    text.write_text("hello\n")
    assert_failed(run_converter(text, "--list"), 1, "not a PyTorch checkpoint")
    z = root / "plain.zip"
    with zipfile.ZipFile(str(z), "w") as f:
        f.writestr("readme.txt", "x")
    assert_failed(run_converter(z, "--list"), 1, "no single data.pkl")
    lst = root / "list.pth"
    ptzip.save([1, 2, 3], lst)
    assert_failed(run_converter(lst, "--list"), 1, "not a DDGAN checkpoint")


def test_truncated_zip(tiny):
    blob = tiny["netG"].read_bytes()
    for cut in (len(blob) // 2, len(blob) - 10):
        path = tiny["root"] / "truncated.pth"
        path.write_bytes(blob[:cut])
        assert_failed(run_converter(path, "--config-json", tiny["config_path"], "-o", tiny["root"] / "t.st"), 1,
                      "truncated")
        assert not (tiny["root"] / "t.st").exists()


@pytest.mark.parametrize("module,name", [("os", "system"), ("builtins", "eval"), ("subprocess", "Popen")])
def test_hostile_pickle_is_refused(tiny, module, name):
    marker = tiny["root"] / ("pwned_" + name)
    payload = ("c%s\n%s\n(V%s\ntR." % (module, name, "open(%r, 'w').close()" % str(marker) if name == "eval"
                                        else "touch " + str(marker))).encode()
    if name == "Popen":
        payload = ("c%s\n%s\n((Vtouch\nV%s\nltR." % (module, name, str(marker))).encode()
    path = tiny["root"] / ("hostile_%s.pth" % name)
    ptzip.save({}, path, pickle_bytes=payload)
    for reader, hide_torch in (("auto", False), ("builtin", True)):
        r = run_converter(path, "--preset", "cifar10", "-o", tiny["root"] / "h.st", "--reader", reader,
                          hide_torch=hide_torch)
        assert_failed(r, 1, "%s.%s" % (module, name), "refusing")
        assert not marker.exists()


def test_missing_and_extra_keys(tiny):
    w = tiny["weights"]
    sd = module_state(w)
    removed = "all_modules.4.Conv_1.weight"
    del sd["module." + removed]
    path = tiny["root"] / "netG_missing.pth"
    ptzip.save(sd, path)
    assert_failed(run_converter(path, "--config-json", tiny["config_path"], "-o", tiny["root"] / "m.st"), 1,
                  "missing key", removed)
    sd = module_state(w)
    sd["module.extra.weight"] = ptzip.tensor(np.zeros(3, np.float32))
    ptzip.save(sd, path)
    assert_failed(run_converter(path, "--config-json", tiny["config_path"], "-o", tiny["root"] / "m.st"), 1,
                  "unexpected key", "extra.weight")
    assert not (tiny["root"] / "m.st").exists()


def test_content_errors(tiny):
    w = tiny["weights"]
    args = dict(CIFAR_ARGS, image_size=16, num_channels=1, num_channels_dae=16, ch_mult=[1, 2], num_res_blocks=1,
                attn_resolutions=(8,), nz=8, z_emb_dim=16, n_mlp=2, use_ema=False)
    path = tiny["root"] / "content_tiny.pth"
    ptzip.save({"epoch": 1, "global_step": 10, "args": argparse.Namespace(**args), "netG_dict": module_state(w),
                "optimizerG": adam_state(w, None)}, path)
    assert_failed(run_converter(path, "--use-ema", "-o", tiny["root"] / "c.st"), 1, "no EMA weights")
    assert_failed(run_converter(path, "-o", tiny["root"] / "c.st", "--d-out", tiny["root"] / "d.st"), 1,
                  "netD_dict")
    assert_failed(run_converter(tiny["netG"], "--config-json", tiny["config_path"], "-o", tiny["root"] / "c.st",
                                "--d-out", tiny["root"] / "d.st"), 1, "--d-out")
    r = run_converter(path, "-o", tiny["root"] / "c.st")  # the generator alone converts, config from args
    assert r.returncode == 0, r.stderr
    config = json.loads(check_output(tiny["root"] / "c.st", w)[0]["config"])
    assert {k: v for k, v in config.items() if k != "cls"} == tiny["config"]


# ---------------------------------------------------------------------------------------------------------
# with PyTorch
# ---------------------------------------------------------------------------------------------------------

@needs_torch
def test_handwritten_format_matches_torch_save(tmp_path):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 3)).astype(np.float32)
    base = rng.standard_normal(10).astype(np.float32)
    h = rng.standard_normal(5).astype(np.float16)
    ns = argparse.Namespace(dataset="cifar10", ch_mult=[1, 2], attn_resolutions=(16,), beta_max=20.0)
    real = collections.OrderedDict([("module.a", torch.from_numpy(a.copy())),
                                    ("module.b", torch.from_numpy(b.copy()).t()),
                                    ("module.c", torch.from_numpy(base.copy())[2:6]),
                                    ("module.h", torch.from_numpy(h.copy()))])
    ours = collections.OrderedDict([("module.a", ptzip.tensor(a)),
                                    ("module.b", ptzip.Tensor(ptzip.Storage(b), 0, (3, 4), (1, 3))),
                                    ("module.c", ptzip.Tensor(ptzip.Storage(base), 2, (4,), (1,))),
                                    ("module.h", ptzip.tensor(h))])
    torch.save({"netG_dict": real, "args": ns, "epoch": 3}, str(tmp_path / "real.pth"))
    ptzip.save({"netG_dict": ours, "args": ns, "epoch": 3}, tmp_path / "ours.pth", archive="real")
    zr, zo = zipfile.ZipFile(str(tmp_path / "real.pth")), zipfile.ZipFile(str(tmp_path / "ours.pth"))
    assert zr.namelist() == zo.namelist()
    for name in zr.namelist():  # data.pkl, every storage and the version record are byte-identical
        assert zr.read(name) == zo.read(name), name
    loaded = torch.load(str(tmp_path / "ours.pth"), map_location="cpu", weights_only=False)
    for key, value in real.items():
        assert torch.equal(loaded["netG_dict"][key], value)
    assert vars(loaded["args"]) == vars(ns)


@needs_torch
def test_real_torch_save_round_trip(tiny, tmp_path):
    w = tiny["weights"]
    sd = collections.OrderedDict()
    for i, (name, a) in enumerate(w.items()):
        t = torch.from_numpy(a.copy())
        if a.ndim == 2 and i % 2:
            t = torch.from_numpy(np.ascontiguousarray(a.T)).t()  # non-contiguous
        sd["module." + name] = t
    # as Module.state_dict() leaves it (pickled as the OrderedDict's instance state)
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("module", {"version": 1})])
    path = tmp_path / "netG_7.pth"
    torch.save(sd, str(path))
    outputs = []
    for reader in ("auto", "torch", "builtin"):
        out = tmp_path / ("rt_%s.safetensors" % reader)
        r = run_converter(path, "--config-json", tiny["config_path"], "-o", out, "--reader", reader,
                          hide_torch=False)
        assert r.returncode == 0, r.stderr
        check_output(out, w)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    # content.pth with its argparse.Namespace, saved by torch
    args = dict(CIFAR_ARGS, image_size=16, num_channels=1, num_channels_dae=16, ch_mult=[1, 2], num_res_blocks=1,
                attn_resolutions=(8,), nz=8, z_emb_dim=16, n_mlp=2)
    path = tmp_path / "content.pth"
    torch.save({"epoch": 26, "global_step": 99, "args": argparse.Namespace(**args), "netG_dict": sd},
               str(path))
    out = tmp_path / "rt_content.safetensors"
    r = run_converter(path, "-o", out, hide_torch=False)
    assert r.returncode == 0, r.stderr
    config = json.loads(check_output(out, w)[0]["config"])
    assert {k: v for k, v in config.items() if k != "cls"} == tiny["config"]
