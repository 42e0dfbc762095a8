"""Evaluation (docs/eval.md): 2-D mixture metrics, Frechet distance, precision / recall, the digit classifier,
StackedMNIST mode counting, image metrics and sampling speed."""

import ctypes
import json

import numpy as np

from . import _lib
from ._api import Dataset, Generator, Schedule, _addr, _check_pair, _f32, _Handle, _init, _fill, _new_handle, _path
from ._lib import check, lib, refuse

_MIXTURES = {"grid25": 0, "grid": 0, "ring8": 1, "ring": 1}
_SIZE = _lib.CLASSIFIER_SIZE
_NCLS = _lib.CLASSIFIER_CLASSES


def _f64(a, name):
    try:
        return np.ascontiguousarray(a, dtype=np.float64)
    except (TypeError, ValueError) as e:
        refuse("%s: cannot convert to a float64 array (%s)" % (name, e))


def _labels(labels, n, fn):
    arr = np.asarray(labels)
    if arr.dtype.kind not in "iu":
        refuse("%s: labels must be integers, got dtype %s" % (fn, arr.dtype))
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if n is not None and arr.shape != (n,):
        refuse("%s: labels have shape %s, expected (%d,)" % (fn, arr.shape, n))
    if n is None and (arr.ndim != 1 or arr.size < 1):
        refuse("%s: labels have shape %s, expected (n,) with n >= 1" % (fn, arr.shape))
    return arr


def _rows(x, name, fn, min_rows=1):
    """x as float32 [n, dim] (a 1-D array is one feature per row)."""
    x = _f32(x, name)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2 or x.shape[0] < min_rows or x.shape[1] < 1:
        refuse("%s: %s has shape %s, expected (n, dim) with n >= %d" % (fn, name, x.shape, min_rows))
    return x


def _images(x, name, fn, channels=None):
    """x as float32 [n, C, 32, 32] ([n, 32, 32] is one channel); returns (array, n, C)."""
    x = _f32(x, name)
    if x.ndim == 3:
        x = x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])
    if x.ndim != 4 or x.shape[0] < 1 or x.shape[2:] != (_SIZE, _SIZE) or (
            channels is not None and x.shape[1] != channels):
        refuse("%s: %s has shape %s, expected (n, %s, %d, %d)" % (
            fn, name, x.shape, "C" if channels is None else channels, _SIZE, _SIZE))
    return x, x.shape[0], x.shape[1]


# --------------------------------------------------------------------------------------------------
# 2-D mixtures


def eval_toy(samples, mixture="grid25"):
    """Mode coverage of n 2-D samples [n, 2] in data units (what sample() returns for a ToyMLP generator)
    against the mixture "grid25" (25 modes, sigma 0.05) or "ring8" (8 modes, sigma 0.01). Returns a dict:
    num_modes, modes (covered modes), hq_fraction (samples within 3 sigma of their nearest mode),
    reverse_kl (KL(p || uniform) of the high-quality samples' mode histogram, nats; NaN without any),
    num_samples, num_hq, mode_counts (int64 [num_modes])."""
    x = _f32(samples, "samples")
    if x.ndim == 4 and x.shape[2:] == (1, 1):
        x = x.reshape(x.shape[0], x.shape[1])
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 1:
        refuse("eval_toy: samples have shape %s, expected (n, 2)" % (x.shape,))
    if isinstance(mixture, str):
        if mixture.lower() not in _MIXTURES:
            raise ValueError("eval_toy: mixture must be one of grid25, ring8, got %r" % mixture)
        mixture = _MIXTURES[mixture.lower()]
    m = _init(_lib.ToyMetrics)
    check(lib.ddgan_eval_toy(_addr(x), x.shape[0], int(mixture), ctypes.byref(m)))
    d = m.as_dict()
    d["mode_counts"] = np.array(m.mode_counts[:m.num_modes], np.int64)
    return d


# --------------------------------------------------------------------------------------------------
# Frechet distance and precision / recall


def feature_stats(features):
    """(mu float64 [dim], sigma float64 [dim, dim]) of feature rows [n, dim], n >= 2; the covariance is
    unbiased (divided by n - 1)."""
    x = _rows(features, "features", "feature_stats", 2)
    n, dim = x.shape
    mu, sigma = np.empty(dim, np.float64), np.empty((dim, dim), np.float64)
    check(lib.ddgan_feature_stats(_addr(x), n, dim, _addr(mu), _addr(sigma)))
    return mu, sigma


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2): |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2)
    - 2 tr sqrt(sigma1 sigma2). mu [dim], sigma [dim, dim] symmetric positive semi-definite, dim <= 1024."""
    mu1, mu2 = _f64(mu1, "mu1").reshape(-1), _f64(mu2, "mu2").reshape(-1)
    dim = mu1.size
    s1, s2 = _f64(sigma1, "sigma1"), _f64(sigma2, "sigma2")
    for name, a, want in (("mu2", mu2, (dim,)), ("sigma1", s1, (dim, dim)), ("sigma2", s2, (dim, dim))):
        if a.shape != want:
            refuse("frechet_distance: %s has shape %s, expected %s" % (name, a.shape, want))
    out = ctypes.c_double()
    check(lib.ddgan_frechet_distance(_addr(mu1), _addr(s1), _addr(mu2), _addr(s2), dim, ctypes.addressof(out)))
    return float(out.value)


def _pair(real, fake, fn, min_rows):
    r = _rows(real, "real", fn, min_rows)
    f = _rows(fake, "fake", fn, min_rows)
    if r.shape[1] != f.shape[1]:
        refuse("%s: real has %d features per row, fake %d" % (fn, r.shape[1], f.shape[1]))
    return r, f


def frechet_distance_features(real, fake):
    """feature_stats() of both sets [n_real, dim], [n_fake, dim], then frechet_distance()."""
    r, f = _pair(real, fake, "frechet_distance_features", 2)
    out = ctypes.c_double()
    check(lib.ddgan_frechet_distance_features(_addr(r), r.shape[0], _addr(f), f.shape[0], r.shape[1],
                                              ctypes.addressof(out)))
    return float(out.value)


def precision_recall(real, fake, k=3):
    """Improved precision and recall (Kynkaanniemi et al. 2019) of feature sets real [n_real, dim] and fake
    [n_fake, dim] with the k-th nearest neighbour radii (1 <= k <= 64; both sets need more than k rows).
    Returns (precision, recall)."""
    r, f = _pair(real, fake, "precision_recall", 1)
    p, rc = ctypes.c_double(), ctypes.c_double()
    check(lib.ddgan_precision_recall(_addr(r), r.shape[0], _addr(f), f.shape[0], r.shape[1], int(k),
                                     ctypes.addressof(p), ctypes.addressof(rc)))
    return float(p.value), float(rc.value)


# --------------------------------------------------------------------------------------------------
# Digit classifier


class Classifier(_Handle):
    """The small CNN that classifies 32 x 32 digits in [-1, 1] (docs/eval.md). Make one with
    Classifier.train(ctx, images, labels, **config) or Classifier.load(ctx, path) (also Classifier(ctx, path)).
    It keeps its Context alive; closing the context closes it."""

    _destroy_name = "ddgan_classifier_destroy"

    def __init__(self, ctx, path):
        """Classifier(ctx, path) is Classifier.load(ctx, path)."""
        _Handle.__init__(self)
        self._setup(_new_handle(lib.ddgan_classifier_load, ctx._h, _path(path)), ctx)

    def _setup(self, ptr, ctx):
        self._adopt(ptr, (ctx,))
        self.context = ctx
        self.config_json = lib.ddgan_classifier_config_json(ptr).decode()
        self.config = json.loads(self.config_json)

    @classmethod
    def _make(cls, ctx, create, *args):
        obj = cls.__new__(cls)
        _Handle.__init__(obj)
        obj._setup(_new_handle(create, ctx._h, *args), ctx)
        return obj

    @classmethod
    def train(cls, ctx, images, labels, **config):
        """Trains a classifier on ctx's backend: images [n, 1, 32, 32] (or [n, 32, 32]) in [-1, 1], labels
        [n] in 0..9; config: the ddgan_classifier_config fields (epochs, batch_size, lr, beta1, beta2,
        adam_eps, max_shift, seed, width, hidden). Deterministic for given inputs, config and backend."""
        x, n, _c = _images(images, "images", "Classifier.train", 1)
        y = _labels(labels, n, "Classifier.train")
        cfg = _init(_lib.ClassifierConfig)
        _fill(cfg, config, "Classifier.train")
        return cls._make(ctx, lib.ddgan_classifier_train, _addr(x), _addr(y), n, ctypes.byref(cfg))

    @classmethod
    def load(cls, ctx, path):
        """Loads a classifier written by save()."""
        return cls._make(ctx, lib.ddgan_classifier_load, _path(path))

    def save(self, path):
        """Writes the weights (safetensors, atomically)."""
        check(lib.ddgan_classifier_save(self._h, _path(path)))

    @property
    def feature_dim(self):
        """Length of the feature vector of one image channel (the hidden width)."""
        return int(lib.ddgan_classifier_feature_dim(self._h))

    def predict(self, images):
        """Classifies every channel of images [n, C, 32, 32] ([n, 32, 32]: C = 1). Returns (labels, probs):
        int64 [n] and float32 softmax probabilities [n, 10] for one channel; [n, C] and [n, C, 10] otherwise."""
        x, n, c = _images(images, "images", "Classifier.predict")
        labels = np.empty(n * c, np.int64)
        probs = np.empty((n * c, _NCLS), np.float32)
        check(lib.ddgan_classifier_predict(self._h, _addr(x), n, c, _addr(labels), _addr(probs)))
        if c == 1:
            return labels, probs
        return labels.reshape(n, c), probs.reshape(n, c, _NCLS)

    def features(self, images):
        """Penultimate-layer features of images [n, C, 32, 32]: float32 [n, C * feature_dim] (channel 0's
        features first)."""
        x, n, c = _images(images, "images", "Classifier.features")
        out = np.empty((n, c * self.feature_dim), np.float32)
        check(lib.ddgan_classifier_features(self._h, _addr(x), n, c, _addr(out)))
        return out

    def accuracy(self, images, labels):
        """Fraction of single-channel images [n, 1, 32, 32] whose predicted label equals labels[i]."""
        x, n, _c = _images(images, "images", "Classifier.accuracy", 1)
        y = _labels(labels, n, "Classifier.accuracy")
        out = ctypes.c_double()
        check(lib.ddgan_classifier_accuracy(self._h, _addr(x), _addr(y), n, ctypes.addressof(out)))
        return float(out.value)


def _classifier(c, fn):
    if not isinstance(c, Classifier):
        raise TypeError("%s: expected a ddgan.Classifier, not %s" % (fn, type(c).__name__))
    return c._h


# --------------------------------------------------------------------------------------------------
# StackedMNIST and image quality


def stacked_metrics_from_labels(labels):
    """StackedMNIST mode statistics of labels [n] in 0..999: dict modes (of 1000), kl (KL(p || uniform),
    nats), num_samples."""
    y = _labels(labels, None, "stacked_metrics_from_labels")
    m = _init(_lib.StackedMetrics)
    check(lib.ddgan_stacked_metrics_from_labels(_addr(y), y.size, ctypes.byref(m)))
    return m.as_dict()


def eval_stacked(classifier, images):
    """Classifies each channel of StackedMNIST images [n, 3, 32, 32] and scores the labels 100 a + 10 b + c:
    dict modes, kl, num_samples, labels (int64 [n])."""
    h = _classifier(classifier, "eval_stacked")
    x, n, _c = _images(images, "images", "eval_stacked", 3)
    labels = np.empty(n, np.int64)
    m = _init(_lib.StackedMetrics)
    check(lib.ddgan_eval_stacked(h, _addr(x), n, ctypes.byref(m), _addr(labels)))
    d = m.as_dict()
    d["labels"] = labels
    return d


def eval_stacked_dataset(classifier, ds, n):
    """eval_stacked() of the first n examples (source order) of a StackedMNIST Dataset opened with pad=2."""
    h = _classifier(classifier, "eval_stacked_dataset")
    if not isinstance(ds, Dataset):
        raise TypeError("eval_stacked_dataset: expected a ddgan.Dataset, not %s" % type(ds).__name__)
    m = _init(_lib.StackedMetrics)
    check(lib.ddgan_eval_stacked_dataset(h, ds._h, int(n), ctypes.byref(m)))
    return m.as_dict()


def eval_images(classifier, real, fake):
    """Frechet distance and precision / recall (k = 3) of real [n_real, C, 32, 32] and fake [n_fake, C, 32, 32]
    images in the classifier's feature space: dict frechet, precision, recall, feature_dim."""
    h = _classifier(classifier, "eval_images")
    r, nr, c = _images(real, "real", "eval_images")
    f, nf, _c = _images(fake, "fake", "eval_images", c)
    m = _init(_lib.ImageMetrics)
    check(lib.ddgan_eval_images(h, _addr(r), nr, _addr(f), nf, c, ctypes.byref(m)))
    return m.as_dict()


# --------------------------------------------------------------------------------------------------
# Sampling speed


def time_sampling(g, s, n, num_steps=0, repeats=1, seed=0):
    """Wall-clock seconds per image of sampling n images with g: num_steps 0 times sample() (s a DDGAN
    schedule), num_steps >= 1 times ddpm_sample() with that many steps (s a DDPM schedule). One untimed
    run, then `repeats` timed runs; returns the fastest run / n."""
    if not isinstance(g, Generator) or not isinstance(s, Schedule):
        raise TypeError("time_sampling: expected a ddgan.Generator and a ddgan.Schedule")
    _check_pair(g, s)
    n = int(n)
    if n < 1:
        refuse("time_sampling: n = %d, expected at least 1" % n)
    out = ctypes.c_double()
    check(lib.ddgan_time_sampling(g._h, s._h, n, int(num_steps), int(repeats), int(seed), ctypes.addressof(out)))
    return float(out.value)
