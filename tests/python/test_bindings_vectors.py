"""The image path of the ddgan package against the official golden vectors (../shared/spec/vectors):
gen_tiny (NCSN++ forward, the 4-step sampling chain) and disc_tiny (forward, R1 input gradient, penalty),
loaded through the package with the prefixes the vectors use; and the IDX reader on ../shared/data/mnist-10k."""

import numpy as np
import pytest

from conftest import read_safetensors, shared_path
from ddgan_env import import_ddgan

ddgan = import_ddgan()

_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def tensors(path):
    entries, metadata, data = read_safetensors(path)
    out = {n: np.frombuffer(data[b:e], _DTYPES[dt]).reshape(shape) for n, (dt, shape, b, e) in entries.items()
           if dt in _DTYPES}
    return out, metadata


def rel_l2(a, b):
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def ctx():
    with ddgan.Context(backend="ref", seed=0, threads=1) as c:
        yield c


def test_gen_tiny_forward_and_chain(ctx):
    path = shared_path("spec", "vectors", "gen_tiny.safetensors")
    v, _ = tensors(path)
    g = ddgan.Generator.load(ctx, path, prefix="gen.", config_key="config")
    assert g.cls == "NCSNpp" and not g.is_2d and g.example_shape == (1, 16, 16) and g.nz == 8
    assert g.summary()["num_params"] == 208561 and len(g.params()) == 162
    assert np.array_equal(g.get_param("z_transform.5.bias"), v["gen.z_transform.5.bias"])
    out = g.forward(v["input.x"], v["input.t"], v["input.z"])
    assert out.shape == (3, 1, 16, 16)
    assert rel_l2(out, v["f64.output"]) < 1e-5
    s = ddgan.Schedule(ctx, num_timesteps=4)
    zs = [v["sample.z_step%d" % i] for i in range(4)]
    noise = [v["sample.noise_step%d" % i] for i in range(4)]
    chain = ddgan.sample_with_draws(g, s, v["sample.x_init"], zs, noise)
    assert chain.shape == (3, 1, 16, 16) and rel_l2(chain, v["sample.output"]) < 1e-5
    x = ddgan.sample(g, s, 5, seed=4)
    assert x.shape == (5, 1, 16, 16) and np.all(np.abs(x) <= 1.0 + 1e-6)
    with pytest.raises(ddgan.Error):
        g.forward(v["input.x"][:, :, :8, :8], v["input.t"], v["input.z"])   # 8x8 into a 16x16 network


def test_disc_tiny_forward_and_r1(ctx):
    path = shared_path("spec", "vectors", "disc_tiny.safetensors")
    v, _ = tensors(path)
    d = ddgan.Discriminator.load(ctx, path, prefix="disc.")
    assert d.cls == "Discriminator_small" and d.example_shape == (1, 16, 16)
    assert d.summary()["num_params"] == 53377 and len(d.params()) == 38
    xp, t, xt = v["input.x_prev"], v["input.t"], v["input.x_t"]
    logits = d.forward(xp, t, xt)
    assert logits.shape == (8,) and rel_l2(logits, v["f64.output.logits"].ravel()) < 1e-5
    assert rel_l2(d.forward(xp[:3], t[:3], xt[:3]), v["f64.output.logits_b3"].ravel()) < 1e-5
    d.zero_grad()
    gx = d.backward(xp, t, xt, np.ones(8, np.float32))
    assert rel_l2(gx, v["f64.r1.grad_x_prev"]) < 1e-5
    pen = d.r1(xp, t, xt, float(v["r1.gamma"][0]))
    assert abs(pen - float(v["f64.r1.penalty"][0])) <= 1e-5 * abs(float(v["f64.r1.penalty"][0]))


def test_mnist_idx_dataset():
    folder = shared_path("data", "mnist-10k")
    ds = ddgan.Dataset("idx", folder, split="test", shuffle=False, pad=2)
    assert len(ds) == 1000 and ds.example_shape == (1, 32, 32) and not ds.is_2d
    x, labels = ds.next_batch(100)
    assert x.shape == (100, 1, 32, 32) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    assert np.all(x[:, :, :2, :] == -1.0) and np.all(x[:, :, :, -2:] == -1.0)   # the padding
    assert set(labels.tolist()) <= set(range(10)) and len(set(labels.tolist())) >= 8
    first, label0 = ds.get(0)
    assert np.array_equal(first, x[0]) and label0 == labels[0]              # shuffle off: source order
    train = ddgan.Dataset("idx", folder)
    assert len(train) == 9000 and train.example_shape == (1, 28, 28)
