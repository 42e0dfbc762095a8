"""The ddgan Python package (bindings/python) end to end on the 2-D toy model, and its API contract.

Everything runs on the "ref" backend with one thread so the numbers are machine-independent; sizes are small
(ToyMLP with 64 hidden units; about a second of training in all).
"""

import gc
import json
import math

import numpy as np
import pytest

from ddgan_env import header_version, import_ddgan

ddgan = import_ddgan()

MEANS = np.array([(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)], np.float64)
G_CFG = {"cls": "ToyMLP", "hidden_dim": 64, "n_hidden": 2, "nz": 2, "t_emb_dim": 16, "lrelu_slope": 0.0,
         "data_scale": 1.0, "num_timesteps": 4}
D_CFG = {"cls": "ToyMLP", "hidden_dim": 64, "n_hidden": 2, "t_emb_dim": 16, "lrelu_slope": 0.0}
TRAIN = dict(batch_size=64, lr_g=3e-3, lr_d=3e-3, r1_gamma=0.01, use_ema=True, ema_decay=0.95,
             lr_schedule="constant", seed=107)
STEPS = 200


def make_ctx(seed=7, threads=1):
    return ddgan.Context(backend="ref", seed=seed, threads=threads)


def nearest_mode(x):
    d = np.sqrt(((np.asarray(x, np.float64)[:, None, :] - MEANS[None]) ** 2).sum(-1))
    return d.argmin(1), d.min(1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A toy DDGAN trained for STEPS steps on the 25-Gaussian grid; its untrained samples; checkpoints."""
    tmp = tmp_path_factory.mktemp("toy")
    ctx = make_ctx()
    s = ddgan.Schedule(ctx, num_timesteps=4)
    g = ddgan.Generator.from_json(ctx, G_CFG)
    d = ddgan.Discriminator.from_json(ctx, json.dumps(D_CFG))
    untrained = ddgan.sample(g, s, 1000, seed=1)
    tr = ddgan.Trainer(g, d, s, **TRAIN)
    ds = ddgan.Dataset.grid25(num_examples=6400, seed=3, data_seed=4)
    history = []
    for _ in range(STEPS):
        x, _labels = ds.next_batch(64)
        history.append(tr.step(x))
    ckpt = tmp / "checkpoint.safetensors"
    tr.save(ckpt)
    gpath, dpath = tmp / "g.safetensors", tmp / "d.safetensors"
    g.save(gpath)
    d.save(dpath)
    return dict(ctx=ctx, s=s, g=g, d=d, tr=tr, ds=ds, history=history, untrained=untrained, ckpt=ckpt,
                gpath=gpath, dpath=dpath, tmp=tmp)


# ------------------------------------------------------------------------------------------------------------
# library, context, schedule


def test_version_and_backends():
    assert ddgan.version() == header_version() == ddgan.__version__
    major, minor, patch = (int(v) for v in ddgan.version().split("."))
    assert ddgan.version_number() == major * 10000 + minor * 100 + patch
    bs = ddgan.backends()
    names = [b["name"] for b in bs]
    assert "ref" in names and "cpu" in names and "cuda" in names
    ref = bs[names.index("ref")]
    assert ref["available"] is True and ref["score"] >= 1 and ref["reason"] == ""
    for b in bs:
        assert set(b) == {"name", "description", "available", "score", "reason", "path"}
        assert b["available"] or (b["score"] == 0 and b["reason"])
    assert ddgan.status_string(ddgan.Status.IO) and ddgan.status_name(3) == "DDGAN_ERR_IO"


def test_context_streams():
    with make_ctx(seed=11) as a, make_ctx(seed=11, threads=2) as b, make_ctx(seed=12) as c:
        assert (a.backend, a.seed, a.num_threads, b.num_threads) == ("ref", 11, 1, 2)
        ra, rb, rc = a.randn(20000), b.randn(20000), c.randn(20000)
        assert np.array_equal(ra, rb)          # same seed, any thread count: same stream
        assert not np.array_equal(ra, rc)
        assert abs(ra.mean()) < 0.03 and abs(ra.std() - 1) < 0.03
        assert not np.array_equal(a.randn(5), ra[:5])   # the stream advances
        u = a.rand((100, 50))
        assert u.shape == (100, 50) and u.dtype == np.float32
        assert u.min() > 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01


def test_context_errors():
    with pytest.raises(ddgan.Error) as ei:
        ddgan.Context(backend="no-such-backend")
    e = ei.value
    assert e.status == ddgan.Status.BACKEND_UNAVAILABLE and e.status_name == "DDGAN_ERR_BACKEND_UNAVAILABLE"
    assert "no-such-backend" in str(e) and str(e) == e.message


def test_schedule_coefficients():
    ctx = make_ctx()
    s = ddgan.Schedule(ctx, num_timesteps=4, beta_min=0.1, beta_max=20.0)
    assert s.num_timesteps == 4 and s.kind == "ddgan"
    a_s, a_cum = s.coef("a_s", np.float64), s.coef("a_s_cum", np.float64)
    sig, sig_cum = s.coef("sigmas", np.float64), s.coef("sigmas_cum", np.float64)
    assert a_s.shape == (5,) and s.coef("post_variance").shape == (4,)
    np.testing.assert_allclose(a_cum, np.cumprod(a_s), rtol=1e-13)
    np.testing.assert_allclose(a_s ** 2 + sig ** 2, 1.0, rtol=1e-13)
    np.testing.assert_allclose(a_cum ** 2 + sig_cum ** 2, 1.0, rtol=1e-13)
    f32 = s.coef("a_s_cum")
    assert f32.dtype == np.float32 and f32[0] == 1.0          # the official float32 quirk
    np.testing.assert_allclose(f32, a_cum, rtol=2e-6)
    assert all(s.coef(n).size in (4, 5) for n in s.coef_names())
    # q_sample with given noise is the formula; float64 in, float64 out
    rng = np.random.default_rng(0)
    x0, eps = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    t = np.array([0, 1, 2, 3, 3, 1])
    xt = s.q_sample(x0, t, eps)
    assert xt.dtype == np.float64
    np.testing.assert_allclose(xt, a_cum[t, None] * x0 + sig_cum[t, None] * eps, rtol=1e-14, atol=1e-15)
    xt32 = s.q_sample(x0.astype(np.float32), t, eps.astype(np.float32))
    assert xt32.dtype == np.float32
    np.testing.assert_allclose(xt32, xt, rtol=1e-5, atol=5e-4)  # sigmas_cum[0]: 0 in float32, 1e-4 in float64
    x_t, x_tp1 = s.q_sample_pairs(x0, t, eps_pair=eps, eps_q=eps[::-1])
    np.testing.assert_allclose(x_tp1, a_s[t + 1, None] * x_t + sig[t + 1, None] * eps, rtol=1e-14, atol=1e-15)
    # posterior at t = 0 adds no noise
    c1, c2 = s.coef("post_mean_coef1", np.float64), s.coef("post_mean_coef2", np.float64)
    post = s.sample_posterior(x0, x_tp1, 0, eps)
    np.testing.assert_allclose(post, c1[0] * x0 + c2[0] * x_tp1, rtol=1e-14, atol=1e-15)
    # DDPM kind: linear betas in float64
    p = ddgan.Schedule(ctx, num_timesteps=10, beta_min=1e-4, beta_max=0.02, kind="ddpm")
    assert p.kind == "ddpm" and p.coef_names()[0] == "ddpm_betas"
    np.testing.assert_array_equal(p.coef("ddpm_betas", np.float64), np.linspace(1e-4, 0.02, 10))
    np.testing.assert_allclose(p.coef("ddpm_alphas_cumprod", np.float64), np.cumprod(1 - np.linspace(1e-4, 0.02, 10)),
                               rtol=1e-14)
    with pytest.raises(ddgan.Error) as ei:
        s.coef("no_such_coef")
    assert ei.value.status == ddgan.Status.INVALID_ARGUMENT and "no_such_coef" in str(ei.value)
    with pytest.raises(ddgan.Error) as ei:
        ddgan.Schedule(ctx, num_timesteps=0)
    assert ei.value.status == ddgan.Status.INVALID_ARGUMENT
    with pytest.raises(ddgan.Error):
        ddgan.Schedule(ctx, beta_min=5.0, beta_max=1.0)
    ctx.close()


# ------------------------------------------------------------------------------------------------------------
# networks


def toy_reference_forward(g, x_t, t, z):
    """G(x_t, t, z) of the ToyMLP generator in float64 from its parameters (docs/toy.md)."""
    p = {n: g.get_param(n).astype(np.float64) for n in g.params()}
    E, slope = g.config["t_emb_dim"], g.config["lrelu_slope"]
    half = E // 2
    freqs = np.exp(np.arange(half) * -(math.log(10000.0) / (half - 1)))
    arg = np.asarray(t, np.float64)[:, None] * freqs[None]
    emb = np.concatenate([np.sin(arg), np.cos(arg)], 1)
    lrelu = lambda v: np.where(v > 0, v, slope * v)  # noqa: E731
    temb = lrelu(emb @ p["t_embed.0.weight"].T + p["t_embed.0.bias"]) @ p["t_embed.2.weight"].T + p["t_embed.2.bias"]
    h = np.concatenate([x_t, z, temb], 1)
    n = g.config["n_hidden"]
    for k in range(n):
        h = lrelu(h @ p["net.%d.weight" % (2 * k)].T + p["net.%d.bias" % (2 * k)])
    return h @ p["net.%d.weight" % (2 * n)].T + p["net.%d.bias" % (2 * n)]


def test_generator_api_and_reference_forward():
    ctx = make_ctx(seed=3)
    cfg = dict(G_CFG, lrelu_slope=0.2)
    g = ddgan.Generator.from_json(ctx, cfg)
    assert g.cls == "ToyMLP" and g.is_2d and g.example_shape == (2, 1, 1) and g.nz == 2
    assert g.config["hidden_dim"] == 64 and g.num_timesteps == 4
    params = g.params()
    assert list(params)[:2] == ["t_embed.0.weight", "t_embed.0.bias"]
    assert params["net.0.weight"] == (64, 2 + 2 + 16) and params["net.4.weight"] == (2, 64)
    n = sum(int(np.prod(v)) for v in params.values())
    summ = g.summary()
    assert summ["num_params"] == n == g.num_params and summ["num_tensors"] == len(params) == 10
    assert summ["gflops_per_image"] > 0
    rng = np.random.default_rng(1)
    x = rng.standard_normal((9, 2)).astype(np.float32)
    z = rng.standard_normal((9, 2)).astype(np.float32)
    t = np.arange(9) % 4
    out = g.forward(x, t, z)
    assert out.shape == (9, 2) and out.dtype == np.float32
    ref = toy_reference_forward(g, x.astype(np.float64), t, z.astype(np.float64))
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    # other dtypes and layouts are converted; [B, 2, 1, 1] in gives [B, 2, 1, 1] out; scalar t is repeated
    np.testing.assert_array_equal(g.forward(x.astype(np.float64), t.astype(np.int32), z.tolist()), out)
    np.testing.assert_array_equal(g.forward(x.reshape(9, 2, 1, 1), t, z), out.reshape(9, 2, 1, 1))
    np.testing.assert_array_equal(g.forward(np.asfortranarray(np.tile(x[:1], (3, 1))), 2, z[:3]),
                                  g.forward(np.tile(x[:1], (3, 1)), [2, 2, 2], z[:3]))
    # z None draws from the context stream: two calls differ
    assert not np.array_equal(g.forward(x, t), g.forward(x, t))
    # set_param / get_param round trip, exactly
    w = rng.standard_normal(params["net.2.weight"]).astype(np.float32)
    g.set_param("net.2.weight", w)
    assert np.array_equal(g.get_param("net.2.weight"), w)
    sd = g.state_dict()
    assert set(sd) == set(params) and np.array_equal(sd["net.2.weight"], w)
    # backward: the gradient of sum(dx0 * G) w.r.t. the last bias is sum_b dx0[b] (linear output layer)
    g.zero_grad()
    dx0 = rng.standard_normal((9, 2)).astype(np.float32)
    g.backward(x, t, z, dx0)
    np.testing.assert_allclose(g.get_grad("net.4.bias"), dx0.sum(0), rtol=1e-5, atol=1e-6)
    g.backward(x, t, z, dx0)   # gradients add up
    np.testing.assert_allclose(g.get_grad("net.4.bias"), 2 * dx0.sum(0), rtol=1e-5, atol=1e-6)
    ctx.close()


def test_discriminator_r1_and_backward():
    ctx = make_ctx(seed=4)
    d = ddgan.Discriminator.from_json(ctx, dict(D_CFG, lrelu_slope=0.2))
    assert d.cls == "ToyMLP" and d.example_shape == (2, 1, 1)
    rng = np.random.default_rng(2)
    xp = rng.standard_normal((8, 2)).astype(np.float32)
    xt = rng.standard_normal((8, 2)).astype(np.float32)
    t = rng.integers(0, 4, 8)
    logits = d.forward(xp, t, xt)
    assert logits.shape == (8,) and np.all(np.isfinite(logits))
    d.zero_grad()
    dx = d.backward(xp, t, xt, np.ones(8, np.float32))
    assert dx.shape == (8, 2)
    # dx is d(sum D)/dx_prev: compare with central differences (piecewise linear network, float32)
    h = 1e-2
    for b, k in ((0, 0), (3, 1), (7, 0)):
        e = np.zeros_like(xp)
        e[b, k] = h
        fd = (d.forward(xp + e, t, xt)[b] - d.forward(xp - e, t, xt)[b]) / (2 * h)
        assert abs(fd - dx[b, k]) <= 2e-3 * max(1.0, abs(dx[b, k]))
    # R1 penalty = gamma/2 * mean_b ||d(sum D)/dx_prev_b||^2
    pen = d.r1(xp, t, xt, gamma=0.5)
    np.testing.assert_allclose(pen, 0.25 * np.mean((dx.astype(np.float64) ** 2).sum(1)), rtol=1e-5)
    # R1 adds its parameter gradient to the buffers
    d.zero_grad()
    assert not np.any(d.get_grad("net.0.weight"))
    d.r1(xp, t, xt, gamma=0.5)
    assert np.any(d.get_grad("net.0.weight"))
    ctx.close()


# ------------------------------------------------------------------------------------------------------------
# training, saving, loading, sampling


def test_training_learns_the_grid_scale(trained):
    hist, tr = trained["history"], trained["tr"]
    assert tr.global_step == STEPS and tr.skipped_steps == 0
    assert [h["global_step"] for h in hist] == list(range(1, STEPS + 1))
    keys = {"err_d", "err_d_real", "err_d_fake", "err_g", "r1_penalty", "d_real_mean", "d_fake_mean",
            "global_step", "grad_norm_d", "grad_norm_g", "lr_d", "lr_g", "seconds"}
    for h in hist:
        assert set(h) == keys
        assert all(math.isfinite(h[k]) for k in keys)       # R1 every step (lazy_reg 0): never NaN
        assert abs(h["err_d"] - (h["err_d_real"] + h["err_d_fake"])) < 1e-5
        assert h["lr_g"] == pytest.approx(3e-3) and h["lr_d"] == pytest.approx(3e-3)
        assert h["r1_penalty"] >= 0 and h["grad_norm_d"] > 0 and h["grad_norm_g"] > 0
    # the losses stay near the equilibrium of the logistic GAN (err_d ~ 2 log 2, err_g ~ log 2)
    late = hist[-50:]
    assert 0.8 < np.mean([h["err_d"] for h in late]) < 2.0
    assert 0.3 < np.mean([h["err_g"] for h in late]) < 1.5
    # untrained: every sample near the origin (one mode); trained: the spread of the data (std 2.83)
    un = trained["untrained"]
    assert un.shape == (1000, 2) and un.std(0).max() < 0.3
    assert len(set(nearest_mode(un)[0])) <= 3
    for gen in (trained["g"], tr.ema_generator()):
        x = ddgan.sample(gen, trained["s"], 2000, seed=1)
        assert np.all(np.isfinite(x))
        assert np.all(x.std(0) > 1.2) and np.all(x.std(0) < 4.0), x.std(0)
        assert np.all(np.abs(x.mean(0)) < 1.0)
        assert (np.abs(x) < 5.0).all(1).mean() > 0.8
        idx, dist = nearest_mode(x)
        assert len(set(idx[dist < 0.5])) >= 10


def test_save_load_forward_bit_exact(trained):
    ctx, g, d, s = trained["ctx"], trained["g"], trained["d"], trained["s"]
    g2 = ddgan.Generator.load(ctx, trained["gpath"])
    assert g2.config == g.config and g2.params() == g.params()
    for n in g.params():
        assert np.array_equal(g2.get_param(n), g.get_param(n)), n
    rng = np.random.default_rng(5)
    x = rng.standard_normal((33, 2)).astype(np.float32)
    z = rng.standard_normal((33, 2)).astype(np.float32)
    t = rng.integers(0, 4, 33)
    y = g.forward(x, t, z)
    assert np.array_equal(g2.forward(x, t, z), y)
    # another context (other seed, two threads): same weights, same numbers
    with make_ctx(seed=99, threads=2) as ctx2:
        g3 = ddgan.Generator.load(ctx2, str(trained["gpath"]))
        assert np.array_equal(g3.forward(x, t, z), y)
        s3 = ddgan.Schedule(ctx2, num_timesteps=4)
        assert np.array_equal(ddgan.sample(g3, s3, 50, seed=8), ddgan.sample(g, s, 50, seed=8))
    assert g3.closed
    d2 = ddgan.Discriminator.load(ctx, trained["dpath"])
    assert np.array_equal(d2.forward(x, t, y), d.forward(x, t, y))
    # a trainer checkpoint holds G., G_ema. and D.
    gc_ = ddgan.Generator.load(ctx, trained["ckpt"], prefix="G.")
    assert np.array_equal(gc_.forward(x, t, z), y)
    ema = ddgan.Generator.load(ctx, trained["ckpt"], prefix="G_ema.", config_key="config")
    ema2 = trained["tr"].ema_generator()
    assert np.array_equal(ema.forward(x, t, z), ema2.forward(x, t, z))
    assert not np.array_equal(ema.forward(x, t, z), y)
    dc = ddgan.Discriminator.load(ctx, trained["ckpt"], prefix="D.", config_key="D_config")
    assert np.array_equal(dc.forward(x, t, y), d.forward(x, t, y))


def test_sampling_determinism(trained):
    g, s = trained["g"], trained["s"]
    a = ddgan.sample(g, s, 300, seed=21)
    assert a.shape == (300, 2) and a.dtype == np.float32 and np.all(np.isfinite(a))
    assert np.array_equal(a, ddgan.sample(g, s, 300, seed=21))
    assert not np.array_equal(a, ddgan.sample(g, s, 300, seed=22))
    # draws depend on (seed, sample index) only: any n (hence any internal batching) gives the same prefix
    assert np.array_equal(ddgan.sample(g, s, 7, seed=21), a[:7])
    assert np.array_equal(ddgan.sample(g, s, 1, seed=21), a[:1])
    assert np.array_equal(ddgan.sample(g, s, 1000, seed=21)[:300], a)
    traj = ddgan.sample_trajectory(g, s, 7, seed=21)
    assert traj.shape == (5, 7, 2) and np.array_equal(traj[-1], a[:7])


def test_sample_with_draws_is_the_manual_chain(trained):
    g, s = trained["g"], trained["s"]
    rng = np.random.default_rng(6)
    n, T = 5, 4
    x_init = rng.standard_normal((n, 2)).astype(np.float32)
    zs = [rng.standard_normal((n, 2)).astype(np.float32) for _ in range(T)]
    noise = [rng.standard_normal((n, 2)).astype(np.float32) for _ in range(T)]
    out = ddgan.sample_with_draws(g, s, x_init, zs, noise)
    x = x_init
    for i in reversed(range(T)):
        x = s.sample_posterior(g.forward(x, i, zs[i]), x, i, noise[i])
    np.testing.assert_allclose(out, x * g.config["data_scale"], rtol=1e-6, atol=1e-6)
    with pytest.raises(ddgan.Error):
        ddgan.sample_with_draws(g, s, x_init, zs[:3], noise)


def test_trainer_checkpoint_resume_is_bit_identical(trained):
    ctx, s = trained["ctx"], trained["s"]
    tr = trained["tr"]
    g2 = ddgan.Generator.from_json(ctx, G_CFG)
    d2 = ddgan.Discriminator.from_json(ctx, D_CFG)
    tr2 = ddgan.Trainer(g2, d2, s, **TRAIN)
    assert tr2.global_step == 0
    tr2.load(trained["ckpt"])
    assert tr2.global_step == STEPS
    g, d = trained["g"], trained["d"]
    for n in g.params():
        assert np.array_equal(g2.get_param(n), g.get_param(n))
    x, _ = trained["ds"].next_batch(64)
    a, b = tr.step(x), tr2.step(x)
    a.pop("seconds"), b.pop("seconds")
    assert a == b and a["global_step"] == STEPS + 1
    for n in g.params():
        assert np.array_equal(g2.get_param(n), g.get_param(n))
    for n in d.params():
        assert np.array_equal(d2.get_param(n), d.get_param(n))
    tr2.global_step = 5
    assert tr2.global_step == 5
    # step_with_draws: with every draw given the trainer seed no longer matters
    B = 16
    rng = np.random.default_rng(8)
    draws = {k: rng.integers(0, 4, B) if k.endswith("_t") else rng.standard_normal((B, 2)).astype(np.float32)
             for k in ("d_t", "d_eps_pair", "d_eps_q", "d_z", "d_eps_post", "g_t", "g_eps_pair", "g_eps_q",
                       "g_z", "g_eps_post")}
    stats = []
    for seed in (1, 2):
        with make_ctx() as c:
            sc = ddgan.Schedule(c, num_timesteps=4)
            t = ddgan.Trainer(ddgan.Generator(c, G_CFG), ddgan.Discriminator(c, D_CFG), sc, **dict(TRAIN, seed=seed))
            st = t.step_with_draws(x[:B], **draws)
            st.pop("seconds")
            stats.append((st, t.generator.get_param("net.0.weight")))
    assert stats[0][0] == stats[1][0] and np.array_equal(stats[0][1], stats[1][1])
    with pytest.raises(TypeError):
        tr2.step_with_draws(x[:B], no_such_draw=x[:B])


def test_ddpm_trainer_smoke():
    ctx = make_ctx(seed=9)
    s = ddgan.Schedule(ctx, num_timesteps=10, beta_min=1e-3, beta_max=0.2, kind="ddpm")
    g = ddgan.Generator(ctx, dict(G_CFG, num_timesteps=10, data_scale=4.0))
    tr = ddgan.DDPMTrainer(g, s, batch_size=32, lr=1e-3, use_ema=True, ema_decay=0.9, seed=3)
    ds = ddgan.Dataset.grid25(num_examples=320, seed=1)
    losses = [tr.step(ds.next_batch(32)[0]) for _ in range(30)]
    assert tr.global_step == 30 and all(np.isfinite(losses))
    assert np.mean(losses[-10:]) < np.mean(losses[:3])     # the MSE of the eps prediction goes down
    x = ddgan.ddpm_sample(tr.ema_generator(), s, 64, num_steps=5, seed=2)
    assert x.shape == (64, 2) and np.all(np.isfinite(x))
    assert np.array_equal(x, ddgan.ddpm_sample(tr.ema_generator(), s, 64, num_steps=5, seed=2))
    ctx.close()


def test_dataset_grid25():
    ds = ddgan.Dataset.grid25(num_examples=1000, seed=5, data_seed=6)
    assert len(ds) == 1000 and ds.example_shape == (2, 1, 1) and ds.is_2d
    assert ds.batches_per_epoch(64) == 15 and ds.position == (0, 0)
    x, labels = ds.next_batch(100)
    assert x.shape == (100, 2) and labels.shape == (100,) and labels.dtype == np.int64
    idx, dist = nearest_mode(x)
    assert dist.max() < 0.35                      # sigma 0.05: 7 sigma
    assert 0.03 < np.sqrt((dist ** 2).mean() / 2) < 0.07
    for lab in set(labels.tolist()):             # one label per mode
        assert len(set(idx[labels == lab].tolist())) == 1
    assert ds.position == (0, 100)
    state = ds.get_state()
    assert state.tolist()[:3] == [0, 100, 1000]
    y1, _ = ds.next_batch(50)
    ds.set_state(state)
    y2, _ = ds.next_batch(50)
    assert np.array_equal(y1, y2)
    e0, _ = ds.get(0)
    assert e0.shape == (2,)
    ds.position = (3, 0)
    assert ds.position == (3, 0)
    other = ddgan.Dataset("grid25", num_examples=1000, seed=5, data_seed=6)
    assert np.array_equal(other.next_batch(100)[0], x)
    ring = ddgan.Dataset.ring8(num_examples=200, radius=2.0, sigma=0.01)
    r = np.sqrt((ring.next_batch(200)[0].astype(np.float64) ** 2).sum(1))
    assert np.all(np.abs(r - 2.0) < 0.1)
    with pytest.raises(ddgan.Error) as ei:
        ddgan.Dataset("idx", path="/nonexistent-folder/mnist")
    assert ei.value.status in (ddgan.Status.IO, ddgan.Status.INVALID_ARGUMENT)
    assert "nonexistent-folder" in str(ei.value)
    with pytest.raises(ValueError):
        ddgan.Dataset("no_such_kind")
    ds.close()


# ------------------------------------------------------------------------------------------------------------
# errors


def test_errors_carry_status_and_message(trained, tmp_path):
    ctx, g, d, s, tr = trained["ctx"], trained["g"], trained["d"], trained["s"], trained["tr"]
    missing = tmp_path / "no_such_weights.safetensors"
    with pytest.raises(ddgan.Error) as ei:
        ddgan.Generator.load(ctx, missing)
    e = ei.value
    assert e.status == ddgan.Status.IO and e.status == 3 and e.status_name == "DDGAN_ERR_IO"
    assert "no_such_weights.safetensors" in str(e) and e.status_string
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(ddgan.Error) as ei:
        ddgan.Discriminator.load(ctx, garbage)
    assert ei.value.status == ddgan.Status.FORMAT and "garbage.safetensors" in str(ei.value)
    with pytest.raises(ddgan.Error) as ei:
        ddgan.Generator.from_json(ctx, dict(G_CFG, hidden_dim=0))
    assert ei.value.status == ddgan.Status.INVALID_ARGUMENT and "hidden_dim" in str(ei.value)
    with pytest.raises(ddgan.Error) as ei:
        ddgan.Generator.from_json(ctx, "{broken")
    assert ei.value.status in (ddgan.Status.FORMAT, ddgan.Status.INVALID_ARGUMENT)
    with pytest.raises(ddgan.Error) as ei:
        g.get_param("no.such.param")
    assert "no.such.param" in str(ei.value)
    # wrong shapes are refused before the library could read out of bounds
    x = np.zeros((4, 2), np.float32)
    for i, bad in enumerate((lambda: g.forward(np.zeros((4, 3)), 0),
                lambda: g.forward(np.zeros(8), 0),
                lambda: g.forward(x, np.zeros(3, np.int64)),
                lambda: g.forward(x, 0, np.zeros((4, 5))),
                lambda: g.forward(x, 0.5),
                lambda: g.set_param("net.0.bias", np.zeros(3)),
                lambda: d.forward(x, 0, np.zeros((5, 2))),
                lambda: d.backward(x, 0, x, np.zeros(3)),
                lambda: tr.step(np.zeros((8, 3, 4, 4))),
                lambda: ddgan.sample(g, s, 0))):
        with pytest.raises(ddgan.Error, match=".") as ei:
            bad()
            print("case %d did not raise" % i)
        assert ei.value.status == ddgan.Status.INVALID_ARGUMENT and str(ei.value)
    # checks only the library can make
    with pytest.raises(ddgan.Error) as ei:
        g.forward(x, 4)                                  # t out of 0..T-1
    assert ei.value.status == ddgan.Status.INVALID_ARGUMENT and "4" in str(ei.value)
    with pytest.raises(ddgan.Error) as ei:
        tr.step(np.zeros((65, 2), np.float32))          # above batch_size
    assert ei.value.status == ddgan.Status.INVALID_ARGUMENT
    with pytest.raises(ddgan.Error) as ei:
        ddgan.sample(g, ddgan.Schedule(ctx, num_timesteps=3), 4)
    assert ei.value.status == ddgan.Status.INVALID_ARGUMENT
    with pytest.raises(TypeError):
        ddgan.Trainer(g, d, s, no_such_option=1)
    with pytest.raises(ddgan.Error) as ei:
        ddgan.Trainer(g, d, s, use_ema=False, batch_size=8).ema_generator()
    assert ei.value.status == ddgan.Status.UNSUPPORTED
    with pytest.raises(ddgan.Error) as ei:
        tr.load(missing)
    assert ei.value.status == ddgan.Status.IO and tr.global_step >= STEPS


# ------------------------------------------------------------------------------------------------------------
# lifetimes


def test_close_and_context_managers():
    ctx = make_ctx()
    s = ddgan.Schedule(ctx)
    g = ddgan.Generator(ctx, G_CFG)
    d = ddgan.Discriminator(ctx, D_CFG)
    tr = ddgan.Trainer(g, d, s, batch_size=8)
    g.close()
    assert g.closed and tr.closed and not d.closed and not ctx.closed   # the trainer borrowed g
    g.close()                                                          # idempotent
    with pytest.raises(ddgan.ClosedError):
        g.forward(np.zeros((1, 2)), 0)
    with pytest.raises(ddgan.ClosedError):
        tr.step(np.zeros((1, 2)))
    with pytest.raises(ddgan.ClosedError):
        _ = tr.global_step
    with pytest.raises(ValueError):       # ClosedError is a ValueError, as for closed files
        ddgan.sample(g, s, 1)
    # copies would own the same C handle twice
    import copy
    import pickle
    for f in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError):
            f(d)
    # errors pickle (e.g. across multiprocessing) with their status and message
    e = pickle.loads(pickle.dumps(ddgan.Error(ddgan.Status.IO, "ddgan_x: cannot open 'f'")))
    assert (e.status, e.status_name, str(e)) == (ddgan.Status.IO, "DDGAN_ERR_IO", "ddgan_x: cannot open 'f'")
    with ctx:
        g2 = ddgan.Generator(ctx, G_CFG)
    assert ctx.closed and s.closed and d.closed and g2.closed
    with pytest.raises(ddgan.ClosedError):
        ddgan.Schedule(ctx)
    assert "closed" in repr(ctx)


def test_parents_kept_alive_and_destroyed_last(monkeypatch):
    gc.collect()   # leftovers of other tests
    lib = ddgan._lib.lib
    order = []
    for kind in ("context", "schedule", "generator", "discriminator", "trainer"):
        fn = getattr(lib, "ddgan_%s_destroy" % kind)
        monkeypatch.setattr(lib, "ddgan_%s_destroy" % kind,
                            lambda h, fn=fn, kind=kind: (order.append(kind), fn(h))[1])
    # the only Python reference to the context is the generator's
    g = ddgan.Generator(make_ctx(), G_CFG)
    s = ddgan.Schedule(g.context)
    x = ddgan.sample(g, s, 3, seed=1)
    assert x.shape == (3, 2)
    del s
    del g
    gc.collect()
    assert order == ["schedule", "generator", "context"]
    # a garbage cycle through context and trainer: whatever order Python finalises them in, the C objects go
    # trainer first, context last
    order.clear()
    ctx = make_ctx()
    g, d, s = ddgan.Generator(ctx, G_CFG), ddgan.Discriminator(ctx, D_CFG), ddgan.Schedule(ctx)
    tr = ddgan.Trainer(g, d, s, batch_size=4)
    ctx.cycle = (tr, g)
    g.cycle = ctx
    del ctx, g, d, s, tr
    gc.collect()
    assert len(order) == 5 and order[0] == "trainer" and order[-1] == "context", order


def test_log_callback():
    got = []
    with ddgan.Context(backend="ref", seed=5, threads=1, log=lambda lvl, msg: got.append((lvl, msg)),
                       log_level="info") as ctx:
        s = ddgan.Schedule(ctx)
        ddgan.Trainer(ddgan.Generator(ctx, G_CFG), ddgan.Discriminator(ctx, D_CFG), s, batch_size=8)
    assert any(lvl == 2 and "context: backend ref" in msg and "seed 5" in msg for lvl, msg in got), got
    assert any(lvl == 2 and msg.startswith("trainer: batch 8") for lvl, msg in got), got
    quiet = []
    with ddgan.Context(backend="ref", log=lambda lvl, msg: quiet.append(msg), log_level="warn"):
        pass
    assert quiet == []                        # INFO messages are above the WARN level
    # an exception in the callback never crosses the C frames
    with ddgan.Context(backend="ref", log=lambda lvl, msg: 1 / 0, log_level="debug") as ctx:
        assert ctx.backend == "ref"


def test_threads_with_their_own_handles(trained):
    """One context per thread: the calls run concurrently, results equal the sequential ones, and each
    thread reads its own error message."""
    import threading
    path = trained["gpath"]
    want = ddgan.sample(ddgan.Generator.load(trained["ctx"], path), trained["s"], 400, seed=3)
    results, errors = {}, {}

    def work(k):
        with make_ctx(seed=k) as ctx:
            g = ddgan.Generator.load(ctx, path)
            s = ddgan.Schedule(ctx, num_timesteps=4)
            for _ in range(5):
                results[k] = ddgan.sample(g, s, 400, seed=3)
                try:
                    ddgan.Generator.load(ctx, path.parent / ("missing-%d.safetensors" % k))
                except ddgan.Error as e:
                    errors[k] = str(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2, 3]
    for k in range(4):
        assert np.array_equal(results[k], want)
        assert "missing-%d.safetensors" % k in errors[k]
