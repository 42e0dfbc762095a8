"""The evaluation API (docs/eval.md) and the checkpoint extras of the ddgan Python package.

Metrics are checked against closed forms: mixture samples from the Dataset API cover every mode, a sampler
collapsed onto one mode has reverse KL ln 25, the Frechet distance of two 2-D Gaussians matches
|dmu|^2 + tr S1 + tr S2 - 2 sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2)). The classifier is trained for one
epoch on 512 synthetic "digits" (a bar whose position is the class), and, when ../shared is present, for
three epochs on 512 mnist-10k digits. The checkpoint extras repeat tests/unit/test_ckpt_extras.c.
About 3 s in all.
"""

import gc
import json
import math

import numpy as np
import pytest

from ddgan_env import import_ddgan
from conftest import shared_path

ddgan = import_ddgan()

TOY_G = {"cls": "ToyMLP", "hidden_dim": 16, "n_hidden": 2, "nz": 2, "t_emb_dim": 8, "num_timesteps": 4}
TOY_D = {"cls": "ToyMLP", "hidden_dim": 16, "n_hidden": 2, "t_emb_dim": 8}


def clf_context():
    """"cpu" (much faster than "ref" for the CNN) with one thread, so results are reproducible."""
    names = [b["name"] for b in ddgan.backends() if b["available"]]
    return ddgan.Context(backend="cpu" if "cpu" in names else "ref", seed=0, threads=1)


def synthetic_digits(n, seed):
    """[n, 1, 32, 32] in [-1, 1]: class k is an 8 x 5 bar at row 4 + 14 (k // 5), column 2 + 6 (k % 5), plus
    noise; labels [n]."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    x = np.full((n, 1, 32, 32), -1.0, np.float32)
    for i, k in enumerate(labels):
        r, c = 4 + 14 * (k // 5), 2 + 6 * (k % 5)
        x[i, 0, r:r + 8, c:c + 5] = 1.0
    x += rng.normal(0.0, 0.1, x.shape).astype(np.float32)
    return np.clip(x, -1.0, 1.0), labels.astype(np.int64)


# ------------------------------------------------------------------------------------------------------------
# 2-D mixtures


def test_eval_toy_on_mixture_samples():
    for kind, K in (("grid25", 25), ("ring8", 8)):
        ds = ddgan.Dataset(kind, num_examples=10000, seed=1, data_seed=2)
        x, _ = ds.next_batch(10000)
        m = ddgan.eval_toy(x, kind)
        assert m["num_modes"] == K and m["modes"] == K and m["num_samples"] == 10000
        # P(HQ) = P(|z| <= 3) for a 2-D standard normal = 1 - exp(-4.5) = 0.9889
        assert abs(m["hq_fraction"] - (1 - math.exp(-4.5))) < 0.006, m["hq_fraction"]
        assert 0 <= m["reverse_kl"] < 0.005, m["reverse_kl"]
        counts = m["mode_counts"]
        assert counts.shape == (K,) and counts.dtype == np.int64
        assert counts.sum() == m["num_hq"] == round(m["hq_fraction"] * 10000)
        assert counts.min() > 0.7 * 10000 / K
        # the histogram and KL from the counts, in numpy
        p = counts / counts.sum()
        assert m["reverse_kl"] == pytest.approx(float(np.sum(p * np.log(p * K))), rel=1e-9, abs=1e-12)
        # the same samples as [n, 2, 1, 1]
        assert ddgan.eval_toy(x.reshape(-1, 2, 1, 1), kind)["num_hq"] == m["num_hq"]


def test_eval_toy_collapsed_sampler():
    rng = np.random.default_rng(3)
    x = (np.array([2.0, -4.0]) + 0.05 * rng.normal(size=(2000, 2))).astype(np.float32)
    m = ddgan.eval_toy(x, "grid25")
    assert m["modes"] == 1
    assert abs(m["reverse_kl"] - math.log(25)) < 1e-9
    assert int(np.argmax(m["mode_counts"])) == 5 * 3 + 0     # mean (-4 + 2i, -4 + 2j) = (2, -4): k = 5i + j
    assert m["mode_counts"][15] == m["num_hq"] > 0.98 * 2000
    # nothing near a mode: no HQ sample, KL is NaN; non-finite samples are never HQ
    far = np.full((10, 2), 1.0, np.float32)
    far[0] = np.nan
    m = ddgan.eval_toy(far, "grid25")
    assert m["num_hq"] == 0 and m["modes"] == 0 and math.isnan(m["reverse_kl"])
    # ring: all on mode 2 = (0, 1)
    m = ddgan.eval_toy(np.tile([[0.0, 1.0]], (50, 1)), "ring8")
    assert m["num_modes"] == 8 and m["modes"] == 1 and m["mode_counts"][2] == 50
    assert abs(m["reverse_kl"] - math.log(8)) < 1e-9


def test_eval_toy_errors():
    with pytest.raises(ddgan.Error) as e:
        ddgan.eval_toy(np.zeros((4, 2), np.float32), 7)
    assert e.value.status == ddgan.Status.INVALID_ARGUMENT and "ddgan_eval_toy" in str(e.value)
    with pytest.raises(ddgan.Error) as e:
        ddgan.eval_toy(np.zeros((4, 3), np.float32))
    assert "(n, 2)" in str(e.value)
    with pytest.raises(ValueError):
        ddgan.eval_toy(np.zeros((4, 2), np.float32), "grid9")


# ------------------------------------------------------------------------------------------------------------
# Frechet distance, precision / recall


def frechet_2d(mu1, s1, mu2, s2):
    """Closed form in 2-D: tr sqrt(S1 S2) = sqrt(tr(S1 S2) + 2 sqrt(det(S1 S2)))."""
    tr_sqrt = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def test_frechet_distance():
    mu1, mu2 = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    s1 = np.array([[2.0, 0.6], [0.6, 1.0]])
    s2 = np.array([[0.5, -0.2], [-0.2, 3.0]])
    want = frechet_2d(mu1, s1, mu2, s2)
    assert ddgan.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(want, rel=1e-12)
    assert ddgan.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(want, rel=1e-12)
    # diagonal: |dmu|^2 + sum (sqrt a - sqrt b)^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    assert ddgan.frechet_distance(np.zeros(3), np.diag(a), np.ones(3), np.diag(b)) == pytest.approx(
        3 + 1 + 0 + 4, rel=1e-12)
    # identical statistics: 0
    rng = np.random.default_rng(0)
    f = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16))
    mu, sigma = ddgan.feature_stats(f)
    assert abs(ddgan.frechet_distance(mu, sigma, mu, sigma)) < 1e-8
    with pytest.raises(ddgan.Error):
        ddgan.frechet_distance(mu, sigma, mu[:3], sigma)


def test_feature_stats_and_frechet_features():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(400, 8)).astype(np.float32)
    fake = (rng.normal(size=(300, 8)) * 1.5 + 0.5).astype(np.float32)
    mu, sigma = ddgan.feature_stats(real)
    assert mu.shape == (8,) and sigma.shape == (8, 8) and mu.dtype == np.float64
    np.testing.assert_allclose(mu, real.astype(np.float64).mean(0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(real.astype(np.float64), rowvar=False), rtol=1e-10, atol=1e-12)
    fd = ddgan.frechet_distance_features(real, fake)
    assert fd == pytest.approx(ddgan.frechet_distance(*ddgan.feature_stats(real), *ddgan.feature_stats(fake)),
                               rel=1e-12)
    assert abs(fd - 4.0) < 0.5            # population value 8 (0.5^2 + (1.5 - 1)^2) = 4, plus sampling noise
    assert abs(ddgan.frechet_distance_features(real, real)) < 1e-8
    with pytest.raises(ddgan.Error) as e:
        ddgan.frechet_distance_features(real, fake[:, :4])
    assert "features per row" in str(e.value)


def test_precision_recall():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(200, 4)).astype(np.float32)
    assert ddgan.precision_recall(real, real.copy()) == (1.0, 1.0)
    assert ddgan.precision_recall(real, real + 100.0, k=3) == (0.0, 0.0)
    # fake on half of the real support: high precision, recall about a half
    half = real[real[:, 0] > 0]
    p, r = ddgan.precision_recall(real, half, k=3)
    assert p == 1.0 and 0.45 < r < 0.8
    with pytest.raises(ddgan.Error) as e:
        ddgan.precision_recall(real, real, k=0)
    assert e.value.status == ddgan.Status.INVALID_ARGUMENT and "ddgan_precision_recall" in str(e.value)


# ------------------------------------------------------------------------------------------------------------
# classifier, StackedMNIST, image metrics


@pytest.fixture(scope="module")
def synthetic_clf():
    ctx = clf_context()
    x, y = synthetic_digits(512, 0)
    clf = ddgan.Classifier.train(ctx, x, y, epochs=1, batch_size=8, width=8, hidden=32, seed=1, max_shift=0)
    return ctx, clf


def test_classifier_synthetic_round_trip(synthetic_clf, tmp_path):
    ctx, clf = synthetic_clf
    assert clf.feature_dim == 32 and clf.config["cls"] == "DigitCNN" and clf.config["width"] == 8
    xt, yt = synthetic_digits(300, 1)
    acc = clf.accuracy(xt, yt)
    labels, probs = clf.predict(xt)
    assert labels.shape == (300,) and labels.dtype == np.int64 and probs.shape == (300, 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert np.array_equal(labels, probs.argmax(1))
    assert acc == np.mean(labels == yt) and acc > 0.95
    feats = clf.features(xt)
    assert feats.shape == (300, 32) and feats.dtype == np.float32 and np.all(feats >= 0)   # after ReLU
    path = tmp_path / "clf.safetensors"
    clf.save(path)
    assert ddgan.file_metadata(path, "format") == "ddgan-classifier/1"
    with ddgan.Classifier.load(ctx, path) as again:
        assert np.array_equal(again.features(xt), feats)
        assert np.array_equal(again.predict(xt)[0], labels)
        assert again.config == clf.config
    # a second training run with the same inputs is identical
    x, y = synthetic_digits(512, 0)
    twin = ddgan.Classifier.train(ctx, x, y, epochs=1, batch_size=8, width=8, hidden=32, seed=1, max_shift=0)
    assert np.array_equal(twin.features(xt), feats)


def test_classifier_multichannel_stacked_and_images(synthetic_clf):
    _ctx, clf = synthetic_clf
    xs = [synthetic_digits(400, s) for s in (5, 6, 7)]
    stacked = np.concatenate([x for x, _ in xs], axis=1)               # [400, 3, 32, 32]
    truth = 100 * xs[0][1] + 10 * xs[1][1] + xs[2][1]
    labels, probs = clf.predict(stacked)
    assert labels.shape == (400, 3) and probs.shape == (400, 3, 10)
    for c in range(3):
        assert np.array_equal(labels[:, c], clf.predict(xs[c][0])[0])
    feats = clf.features(stacked)
    assert feats.shape == (400, 96)
    np.testing.assert_allclose(feats[:, 32:64], clf.features(xs[1][0]), rtol=1e-5, atol=1e-5)
    m = ddgan.eval_stacked(clf, stacked)
    assert np.array_equal(m["labels"], 100 * labels[:, 0] + 10 * labels[:, 1] + labels[:, 2])
    assert np.mean(m["labels"] == truth) > 0.9
    from_labels = ddgan.stacked_metrics_from_labels(m["labels"])
    assert m["modes"] == from_labels["modes"] and m["kl"] == from_labels["kl"] and m["num_samples"] == 400
    # histogram identity in numpy
    counts = np.bincount(m["labels"], minlength=1000)
    p = counts[counts > 0] / 400
    assert m["modes"] == np.count_nonzero(counts)
    assert m["kl"] == pytest.approx(float(np.sum(p * np.log(1000 * p))), rel=1e-12)
    # image metrics: a set against itself; against a class-shifted set
    real = stacked[:200]
    same = ddgan.eval_images(clf, real, real)
    assert same["feature_dim"] == 96 and abs(same["frechet"]) < 1e-6
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    ones = synthetic_digits(200, 9)[0]
    other = ddgan.eval_images(clf, ones, np.roll(ones, 6, axis=3))
    assert other["feature_dim"] == 32 and other["frechet"] > 1.0
    want = ddgan.frechet_distance_features(clf.features(ones), clf.features(np.roll(ones, 6, axis=3)))
    assert other["frechet"] == pytest.approx(want, rel=1e-9)
    with pytest.raises(ddgan.Error):
        ddgan.eval_images(clf, real, ones)          # 3 channels against 1


def test_stacked_metrics_from_labels():
    uniform = ddgan.stacked_metrics_from_labels(np.arange(3000) % 1000)
    assert uniform == {"modes": 1000, "kl": pytest.approx(0.0, abs=1e-12), "num_samples": 3000}
    one = ddgan.stacked_metrics_from_labels(np.full(10, 7))
    assert one["modes"] == 1 and abs(one["kl"] - math.log(1000)) < 1e-9
    with pytest.raises(ddgan.Error) as e:
        ddgan.stacked_metrics_from_labels(np.array([1, 1000]))
    assert e.value.status == ddgan.Status.INVALID_ARGUMENT and "1000" in str(e.value)


def test_classifier_mnist(tmp_path):
    root = shared_path("data", "mnist-10k")
    train = ddgan.Dataset("idx", root, split="train", pad=2, shuffle=False, num_examples=512)
    test = ddgan.Dataset("idx", root, split="test", pad=2, shuffle=False, num_examples=500)
    x, y = train.next_batch(512)
    xt, yt = test.next_batch(500)
    ctx = clf_context()
    # one epoch of 512 digits leaves the CNN near chance; three reach about 0.8 on the test digits
    clf = ddgan.Classifier.train(ctx, x, y, epochs=3, batch_size=16, width=16, hidden=64, seed=1, max_shift=0)
    acc = clf.accuracy(xt, yt)
    assert acc > 0.6, acc
    clf.save(tmp_path / "mnist.safetensors")
    again = ddgan.Classifier(ctx, tmp_path / "mnist.safetensors")
    assert np.array_equal(again.features(xt[:64]), clf.features(xt[:64]))
    assert again.accuracy(xt, yt) == acc
    # StackedMNIST from the test digits: the dataset path equals the array path on the same examples
    sds = ddgan.Dataset("stacked_mnist", root, split="test", pad=2, num_examples=200, shuffle=False)
    examples = [sds.get(i) for i in range(200)]
    images = np.stack([e[0] for e in examples])
    truth = np.array([e[1] for e in examples])
    m = ddgan.eval_stacked(clf, images)
    assert ddgan.eval_stacked_dataset(clf, sds, 200) == {k: m[k] for k in ("modes", "kl", "num_samples")}
    assert np.mean(m["labels"] == truth) > 0.6 ** 3
    assert ddgan.stacked_metrics_from_labels(truth)["modes"] > 150       # 200 draws of 1000 modes: ~181


def test_classifier_errors_and_lifetime(tmp_path):
    ctx = clf_context()
    x, y = synthetic_digits(16, 3)
    with pytest.raises(ddgan.Error) as e:
        ddgan.Classifier.load(ctx, tmp_path / "missing.safetensors")
    assert e.value.status == ddgan.Status.IO and "missing.safetensors" in str(e.value)
    with pytest.raises(ddgan.Error) as e:
        ddgan.Classifier.train(ctx, x, np.full(16, 10), epochs=1, batch_size=8)
    assert "not a digit" in str(e.value) and "ddgan_classifier_train" in str(e.value)
    with pytest.raises(ddgan.Error) as e:
        ddgan.Classifier.train(ctx, x, y, epochs=1, batch_size=64)
    assert "batch_size" in str(e.value)
    with pytest.raises(TypeError):
        ddgan.Classifier.train(ctx, x, y, no_such_option=1)
    with pytest.raises(ddgan.Error):
        ddgan.Classifier.train(ctx, x[:, :, :28, :28], y)
    # a weights file of another kind is refused
    g = ddgan.Generator(ctx, TOY_G)
    g.save(tmp_path / "g.safetensors")
    with pytest.raises(ddgan.Error) as e:
        ddgan.Classifier.load(ctx, tmp_path / "g.safetensors")
    assert e.value.status == ddgan.Status.FORMAT
    clf = ddgan.Classifier.train(ctx, x, y, epochs=1, batch_size=8, width=4, hidden=8)
    ctx.close()
    assert clf.closed
    with pytest.raises(ddgan.ClosedError):
        clf.features(x)
    with pytest.raises(TypeError):
        ddgan.eval_images(g, x, x)


def test_time_sampling():
    ctx = ddgan.Context(backend="ref", seed=1, threads=1)
    g = ddgan.Generator(ctx, TOY_G)
    s = ddgan.Schedule.for_generator(ctx, g)
    sec = ddgan.time_sampling(g, s, 64, repeats=2)
    assert 0 < sec < 0.1 and math.isfinite(sec)
    gd = ddgan.Generator(ctx, dict(TOY_G, num_timesteps=10, beta_min=1e-3, beta_max=0.2))
    sd = ddgan.Schedule.for_generator(ctx, gd, ddpm=True)
    assert sd.kind == "ddpm" and sd.num_timesteps == 10
    assert 0 < ddgan.time_sampling(gd, sd, 32, num_steps=5) < 0.1
    with pytest.raises(ddgan.Error):
        ddgan.time_sampling(g, s, 8, repeats=0)
    with pytest.raises(ddgan.Error):
        ddgan.time_sampling(g, ddgan.Schedule(ddgan.Context(backend="ref")), 8)   # another context


# ------------------------------------------------------------------------------------------------------------
# checkpoint extras


BATCH, STEPS_A, STEPS_B = 16, 5, 4


def rig(data_seed=11, num_examples=100, attach=True):
    ctx = ddgan.Context(backend="ref", seed=7, threads=1)
    s = ddgan.Schedule(ctx)
    g = ddgan.Generator(ctx, TOY_G)
    d = ddgan.Discriminator(ctx, TOY_D)
    tr = ddgan.Trainer(g, d, s, batch_size=BATCH, use_ema=True)
    ds = ddgan.Dataset.grid25(num_examples=num_examples, seed=3, data_seed=data_seed)
    if attach:
        tr.attach_dataset(ds)
    return tr, ds


def run_steps(tr, ds, n):
    return [tr.step(ds.next_batch(BATCH)[0])["err_d"] for _ in range(n)]


def test_attach_dataset_resume(tmp_path):
    ck = tmp_path / "ck.safetensors"
    tr, ds = rig()
    assert tr.dataset is ds
    straight = run_steps(tr, ds, STEPS_A)
    tr.set_metadata("run", "toy-\u00e9 #1")
    tr.save(ck)
    straight += run_steps(tr, ds, STEPS_B)
    weights = tr.generator.state_dict()

    tr2, ds2 = rig()
    tr2.load(ck)
    epoch, index = ds2.position
    assert epoch * 6 + index // BATCH == STEPS_A and tr2.global_step == STEPS_A
    resumed = run_steps(tr2, ds2, STEPS_B)
    assert resumed == straight[STEPS_A:]
    for name, w in tr2.generator.state_dict().items():
        assert np.array_equal(w, weights[name]), name

    assert ddgan.file_metadata(ck, "run") == "toy-\u00e9 #1"
    assert ddgan.file_metadata(ck, "format").startswith("ddgan")

    # another dataset (other size) refuses the position and changes nothing
    tr3, ds3 = rig(num_examples=64)
    with pytest.raises(ddgan.Error) as e:
        tr3.load(ck)
    assert e.value.status == ddgan.Status.INVALID_ARGUMENT and "data-loader position" in str(e.value)
    assert tr3.global_step == 0 and ds3.position == (0, 0)
    # detached, the checkpoint loads and the loader stays where it is
    tr3.attach_dataset(None)
    assert tr3.dataset is None
    tr3.load(ck)
    assert tr3.global_step == STEPS_A and ds3.position == (0, 0)


def test_attached_dataset_lifetime(tmp_path):
    tr, ds = rig()
    run_steps(tr, ds, 2)
    del ds
    gc.collect()
    assert not tr.dataset.closed            # the trainer keeps it alive
    ds = tr.dataset
    ds.close()                              # closing it detaches it first
    assert tr.dataset is None and not tr.closed
    tr.save(tmp_path / "no_data.safetensors")
    with pytest.raises(TypeError):
        tr.attach_dataset("grid25")
    with pytest.raises(ddgan.ClosedError):
        tr.attach_dataset(ds)


def test_metadata_and_errors(tmp_path):
    tr, _ds = rig(attach=False)
    ck = tmp_path / "ck.safetensors"
    tr.set_metadata("a", "1")
    tr.set_metadata("b", "2")
    tr.set_metadata("b", None)               # removes it
    tr.save(ck)
    assert ddgan.file_metadata(ck, "a") == "1"
    with pytest.raises(ddgan.Error) as e:
        ddgan.file_metadata(ck, "b")
    assert e.value.status == ddgan.Status.FORMAT and "no metadata key 'b'" in str(e.value)
    with pytest.raises(ddgan.Error) as e:
        tr.set_metadata("format", "mine")
    assert e.value.status == ddgan.Status.INVALID_ARGUMENT and "format" in str(e.value)
    with pytest.raises(ddgan.Error) as e:
        ddgan.file_metadata(tmp_path / "absent.safetensors", "a")
    assert e.value.status == ddgan.Status.IO and "absent.safetensors" in str(e.value)
    # a weights file: its config
    tr.generator.save(tmp_path / "g.safetensors")
    assert json.loads(ddgan.file_metadata(tmp_path / "g.safetensors", "config"))["cls"] == "ToyMLP"


def test_generator_schedule_config_and_ddpm_extras(tmp_path):
    ctx = ddgan.Context(backend="ref", seed=2, threads=1)
    g = ddgan.Generator(ctx, dict(TOY_G, num_timesteps=10, beta_min=1e-3, beta_max=0.2))
    cfg = g.schedule_config()
    assert cfg == {"num_timesteps": 10, "beta_min": pytest.approx(1e-3, rel=1e-12),
                   "beta_max": pytest.approx(0.2, rel=1e-12), "use_geometric": False, "kind": 0}
    s = ddgan.Schedule.for_generator(None, g, ddpm=True)
    np.testing.assert_array_equal(s.coef("ddpm_betas", np.float64), np.linspace(1e-3, 0.2, 10))
    tr = ddgan.DDPMTrainer(g, s, batch_size=16, seed=3)
    ds = ddgan.Dataset.grid25(num_examples=100, seed=4)
    tr.attach_dataset(ds)
    tr.set_metadata("note", "ddpm")
    losses = [tr.step(ds.next_batch(16)[0]) for _ in range(3)]
    ck = tmp_path / "ddpm.safetensors"
    tr.save(ck)
    after = [tr.step(ds.next_batch(16)[0]) for _ in range(2)]
    assert ddgan.file_metadata(ck, "note") == "ddpm"
    assert ddgan.file_metadata(ck, "format") == "ddgan-ddpm-checkpoint/1"
    g2 = ddgan.Generator(ctx, dict(TOY_G, num_timesteps=10, beta_min=1e-3, beta_max=0.2))
    tr2 = ddgan.DDPMTrainer(g2, s, batch_size=16, seed=3)
    ds2 = ddgan.Dataset.grid25(num_examples=100, seed=4)
    tr2.attach_dataset(ds2)
    tr2.load(ck)
    assert ds2.position == (0, 48) and all(np.isfinite(losses))
    assert [tr2.step(ds2.next_batch(16)[0]) for _ in range(2)] == after
