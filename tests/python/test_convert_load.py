"""A converted official CIFAR-10-shaped checkpoint loads in libddgan and samples (4 steps).

Uses the C library through ctypes (DDGAN_LIBRARY, set by ctest); skipped when it is not set or when
the library is built with sanitizers (their runtime cannot be loaded into an uninstrumented python).
"""

import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest

import ptzip
from conftest import CONVERTER, shared_path
from test_convert import module_state, parse_official_keys


class ModelSummary(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("num_params", ctypes.c_size_t),
                ("num_tensors", ctypes.c_size_t), ("gflops_per_image", ctypes.c_double)]


def library():
    path = os.environ.get("DDGAN_LIBRARY")
    if not path:
        pytest.skip("DDGAN_LIBRARY is not set (run through ctest)")
    if os.environ.get("DDGAN_SANITIZED"):
        pytest.skip("libddgan is built with sanitizers: not loadable through ctypes")
    lib = ctypes.CDLL(path)
    lib.ddgan_last_error.restype = ctypes.c_char_p
    return lib


def check(lib, status):
    assert status == 0, lib.ddgan_last_error().decode()


def test_converted_cifar10_checkpoint_loads_and_samples(tmp_path):
    lib = library()
    g_shapes, _ = parse_official_keys(shared_path("spec", "official-keys-cifar10.txt"))
    rng = np.random.default_rng(7)
    # small random weights (std 0.02) so the 48M-parameter network stays in a sane range
    weights = {n: (rng.standard_normal(s) * 0.02).astype(np.float32) for n, s in g_shapes.items()}
    pth = tmp_path / "netG_1200.pth"
    ptzip.save(module_state(weights), pth)
    out = tmp_path / "g.safetensors"
    r = subprocess.run([sys.executable, str(CONVERTER), str(pth), "--preset", "cifar10", "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

    ctx, g, s = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    check(lib, lib.ddgan_context_create(ctypes.byref(ctx), None))
    try:
        check(lib, lib.ddgan_generator_load(ctypes.byref(g), ctx, str(out).encode()))
        summary = ModelSummary()
        check(lib, lib.ddgan_model_summary_init(ctypes.byref(summary), ctypes.c_size_t(ctypes.sizeof(summary))))
        check(lib, lib.ddgan_generator_summary(g, ctypes.byref(summary)))
        assert summary.num_params == 48432515 and summary.num_tensors == 384
        # a parameter reads back exactly as converted
        w = np.zeros(g_shapes["all_modules.39.weight"], np.float32)
        check(lib, lib.ddgan_generator_get_param(g, b"all_modules.39.weight", w.ctypes.data_as(ctypes.c_void_p),
                                                 ctypes.c_size_t(w.size)))
        assert np.array_equal(w, weights["all_modules.39.weight"])
        # sample: x_T ~ N(0, I), then G and the posterior for t = 3, 2, 1, 0
        check(lib, lib.ddgan_schedule_create(ctypes.byref(s), ctx, None))
        n, per = 1, 3 * 32 * 32
        x = rng.standard_normal((n, 3, 32, 32)).astype(np.float32)
        x0 = np.zeros_like(x)
        nxt = np.zeros_like(x)
        for i in (3, 2, 1, 0):
            t = np.full(n, i, np.int64)
            vp = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
            check(lib, lib.ddgan_generator_forward(g, vp(x), vp(t), None, ctypes.c_size_t(n), vp(x0)))
            check(lib, lib.ddgan_schedule_sample_posterior(s, vp(x0), vp(x), vp(t), ctypes.c_size_t(n),
                                                           ctypes.c_size_t(per), None, vp(nxt)))
            x[...] = nxt
        assert np.all(np.isfinite(x))
        assert np.abs(x).max() <= 1.0001  # the last step returns coef1_0 * tanh(...) ~ x0
        assert x.std() > 1e-3
    finally:
        lib.ddgan_schedule_destroy(s)
        lib.ddgan_generator_destroy(g)
        lib.ddgan_context_destroy(ctx)
