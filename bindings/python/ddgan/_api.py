"""The Python objects over the C handles (see docs/python.md)."""

import ctypes
import json
import os
import threading
import weakref

import numpy as np

from . import _lib
from ._lib import ClosedError, Error, Status, check, lib, refuse

_lock = threading.RLock()


# --------------------------------------------------------------------------------------------------
# Helpers


def _addr(a):
    return None if a is None else a.ctypes.data


def _f32(a, name):
    """A C-contiguous float32 array (converted when needed)."""
    try:
        return np.ascontiguousarray(a, dtype=np.float32)
    except (TypeError, ValueError) as e:
        refuse("%s: cannot convert to a float32 array (%s)" % (name, e))


def _i64_t(t, batch, name="t"):
    """Time indices as a C-contiguous int64 array of length batch (a scalar is repeated)."""
    arr = np.asarray(t)
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            refuse("%s: time indices must be integers, got dtype %s" % (name, arr.dtype))
    if arr.ndim == 0:
        arr = np.full(batch, arr, dtype=np.int64)
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if arr.shape != (batch,):
        refuse("%s: shape %s, expected (%d,) (one time index per example)" % (name, arr.shape, batch))
    return arr


def _path(p):
    return os.fsencode(os.fspath(p))


def _opt_bytes(s):
    return None if s is None else (s.encode() if isinstance(s, str) else bytes(s))


def _key(key, what):
    if not isinstance(key, (str, bytes)):
        raise TypeError("%s: key must be a str, not %s" % (what, type(key).__name__))
    return key.encode() if isinstance(key, str) else key


def _init(cls):
    s = cls()
    check(getattr(lib, _lib.STRUCTS[cls][0])(ctypes.byref(s), ctypes.sizeof(s)))
    return s


def _fill(struct, values, what, enums=None):
    """Sets struct fields from keyword values, refusing unknown names."""
    names = {n for n, _ in struct._fields_ if n != "struct_size"}
    for key, value in values.items():
        if key not in names:
            raise TypeError("%s: unknown option %r (known: %s)" % (what, key, ", ".join(sorted(names))))
        if enums and key in enums and isinstance(value, str):
            table = enums[key]
            if value.lower() not in table:
                raise ValueError("%s: %s must be one of %s, got %r" % (what, key, ", ".join(table), value))
            value = table[value.lower()]
        if isinstance(value, bool):
            value = int(value)
        setattr(struct, key, value)


# --------------------------------------------------------------------------------------------------
# Handle lifetime


class _Handle:
    """Owns one C handle. close() frees it (and first everything that depends on it: a trainer when its
    generator, discriminator or schedule closes; everything made from a context when the context closes).
    A handle keeps the handles it depends on alive, and the C object of a parent is destroyed only after the
    C objects of all its dependents, whatever order Python finalises them in."""

    _destroy_name = None

    def __init__(self):
        self._ptr = None            # the C handle while open for use
        self._native = None         # the C handle until it is destroyed
        self._parents = ()
        self._dependents = weakref.WeakSet()
        self._open_dependents = 0

    def _adopt(self, ptr, parents=()):
        with _lock:
            self._ptr = self._native = ptr
            self._parents = tuple(parents)
            for p in self._parents:
                p._dependents.add(self)
                p._open_dependents += 1

    @property
    def _h(self):
        ptr = self._ptr
        if ptr is None:
            raise ClosedError("%s is closed" % type(self).__name__)
        return ptr

    @property
    def closed(self):
        """True after close() (or after a handle this one depends on was closed)."""
        return self._ptr is None

    def close(self):
        """Frees the C handle now; every handle that depends on this one is closed first. Idempotent."""
        with _lock:
            for dep in list(self._dependents):
                dep.close()
            self._ptr = None
            self._release()

    def _release(self):
        if self._native is None or self._open_dependents > 0:
            return  # dependents not yet finalised (garbage cycles): the last one releases this handle
        native, self._native = self._native, None
        getattr(lib, self._destroy_name)(native)
        parents, self._parents = self._parents, ()
        for p in parents:
            p._open_dependents -= 1
            if p._ptr is None:
                p._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self):
        return "<ddgan.%s %s>" % (type(self).__name__, "closed" if self.closed else "open")

    # A copy would own the same C handle twice (a double destroy): refuse copying and pickling.
    def __reduce_ex__(self, protocol):
        raise TypeError("ddgan.%s owns a C handle and cannot be copied or pickled (save() the network "
                        "instead)" % type(self).__name__)

    def __copy__(self):
        self.__reduce_ex__(0)

    def __deepcopy__(self, memo):
        self.__reduce_ex__(0)


def _new_handle(create, *args):
    h = ctypes.c_void_p()
    check(create(ctypes.byref(h), *args))
    if not h.value:
        refuse("the library returned a NULL handle", Status.INTERNAL)
    return h.value


# --------------------------------------------------------------------------------------------------
# Library-level functions


def version():
    """Version of the loaded library, "MAJOR.MINOR.PATCH"."""
    return lib.ddgan_version_string().decode()


def version_number():
    """Version of the loaded library as MAJOR * 10000 + MINOR * 100 + PATCH."""
    return int(lib.ddgan_version_number())


def backends():
    """Every known backend: list of dicts name, description, available, score, reason, path."""
    out = []
    for i in range(lib.ddgan_backend_count()):
        info = _init(_lib.BackendInfo)
        check(lib.ddgan_backend_get_info(i, ctypes.byref(info)))
        d = info.as_dict()
        d["available"] = bool(d["available"])
        out.append(d)
    return out


def status_string(status):
    """The library's English name of a status value."""
    return lib.ddgan_status_string(int(status)).decode()


def file_metadata(path, key):
    """The string `key` of a safetensors file's __metadata__ (weights files: "config"; trainer checkpoints:
    "format", "config", "D_config", "trainer_config", ..., and the strings set with Trainer.set_metadata).
    Error FORMAT when the file has no such key, IO when it cannot be read."""
    p, k = _path(path), _key(key, "file_metadata")
    n = ctypes.c_size_t()
    check(lib.ddgan_file_metadata(p, k, None, 0, ctypes.addressof(n)))
    buf = ctypes.create_string_buffer(n.value + 1)
    check(lib.ddgan_file_metadata(p, k, ctypes.addressof(buf), len(buf), ctypes.addressof(n)))
    return buf.raw[:n.value].decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------------
# Context

_LOG_LEVELS = {"error": 0, "warn": 1, "warning": 1, "info": 2, "debug": 3}


class Context(_Handle):
    """Backend, worker threads, random stream and log of everything made from it.

    Context(backend=None, seed=0, threads=0): backend None or "auto" picks $DDGAN_BACKEND or the best
    available one; "ref", "cpu", "cuda" ask for one (Error BACKEND_UNAVAILABLE with the reason when it cannot
    be used). threads 0 = all online processors. memory_limit (bytes, 0 = none) bounds the backend's memory.
    log: a callable(level: int, message: str) receiving the library's messages up to log_level
    ("error", "warn", "info", "debug"); it is called on the thread that called into the library.
    """

    _destroy_name = "ddgan_context_destroy"

    def __init__(self, backend=None, seed=0, threads=0, memory_limit=0, log=None, log_level="warn"):
        super().__init__()
        cfg = _init(_lib.ContextConfig)
        self._backend_arg = _opt_bytes(backend)  # kept alive during the call
        cfg.backend = self._backend_arg
        cfg.seed = int(seed)
        cfg.num_threads = int(threads)
        cfg.memory_limit = int(memory_limit)
        self._log_cb = None
        if log is not None:
            def _cb(_user, level, msg, _log=log):
                try:
                    _log(int(level), msg.decode("utf-8", "replace") if msg else "")
                except Exception:  # never let an exception cross the C frames
                    pass
            self._log_cb = _lib.LOG_FN(_cb)  # must live as long as the context
            cfg.log_fn = self._log_cb
            cfg.log_level = _LOG_LEVELS[log_level] if isinstance(log_level, str) else int(log_level)
        self._adopt(_new_handle(lib.ddgan_context_create, ctypes.byref(cfg)))

    @property
    def backend(self):
        """Name of the backend in use ("ref", "cpu", ...)."""
        return lib.ddgan_context_backend(self._h).decode()

    @property
    def seed(self):
        return int(lib.ddgan_context_seed(self._h))

    @property
    def num_threads(self):
        return int(lib.ddgan_context_num_threads(self._h))

    def randn(self, shape):
        """Standard normal draws from the context's stream (advances it), float32 of the given shape."""
        out = np.empty(shape, np.float32)
        check(lib.ddgan_context_randn(self._h, _addr(out), out.size))
        return out

    def rand(self, shape):
        """Uniform draws in (0, 1) from the context's stream (advances it), float32 of the given shape."""
        out = np.empty(shape, np.float32)
        check(lib.ddgan_context_rand(self._h, _addr(out), out.size))
        return out


# --------------------------------------------------------------------------------------------------
# Schedule

_SCHEDULE_KINDS = {"ddgan": 0, "ddpm": 1, "ddpm_linear": 1}
_COEF_T1 = ("t", "betas", "sigmas", "a_s", "a_s_cum", "sigmas_cum", "a_s_prev")
_COEF_T = ("post_betas", "post_alphas", "post_alphas_cumprod", "post_alphas_cumprod_prev", "post_variance",
           "post_log_variance_clipped", "post_mean_coef1", "post_mean_coef2", "post_sqrt_alphas_cumprod",
           "post_sqrt_recip_alphas_cumprod", "post_sqrt_recipm1_alphas_cumprod")
_COEF_DDPM = tuple("ddpm_" + n for n in (
    "betas", "alphas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
    "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2"))


def _batch_of(x, name):
    if x.ndim < 1 or x.shape[0] < 1:
        refuse("%s: shape %s, expected a leading batch dimension of at least 1" % (name, x.shape))
    return x.shape[0]


class Schedule(_Handle):
    """The diffusion coefficients: Schedule(ctx, num_timesteps=4, beta_min=0.1, beta_max=20.0,
    use_geometric=False, kind="ddgan"); kind "ddpm" is the DDPM baseline's linear schedule."""

    _destroy_name = "ddgan_schedule_destroy"

    def __init__(self, ctx, num_timesteps=4, beta_min=0.1, beta_max=20.0, use_geometric=False, kind="ddgan"):
        super().__init__()
        cfg = _init(_lib.ScheduleConfig)
        _fill(cfg, {"num_timesteps": int(num_timesteps), "beta_min": float(beta_min), "beta_max": float(beta_max),
                    "use_geometric": bool(use_geometric), "kind": kind}, "Schedule", {"kind": _SCHEDULE_KINDS})
        self.kind = "ddpm" if cfg.kind == 1 else "ddgan"
        self._adopt(_new_handle(lib.ddgan_schedule_create, ctx._h, ctypes.byref(cfg)), (ctx,))
        self.context = ctx

    @classmethod
    def for_generator(cls, ctx, g, ddpm=False):
        """The schedule g was trained with (Generator.schedule_config(): num_timesteps, beta_min, beta_max,
        use_geometric of its config), made from ctx (None: g's context); ddpm=True makes the DDPM baseline's
        linear schedule of those numbers, for a generator trained by DDPMTrainer."""
        cfg = g.schedule_config()
        cfg["kind"] = "ddpm" if ddpm else "ddgan"
        return cls(g.context if ctx is None else ctx, **cfg)

    @property
    def num_timesteps(self):
        return int(lib.ddgan_schedule_num_timesteps(self._h))

    def coef_names(self):
        """The names coef() accepts for this schedule's kind."""
        return list(_COEF_DDPM if self.kind == "ddpm" else _COEF_T1 + _COEF_T)

    def coef(self, name, dtype=np.float32):
        """A coefficient array (T+1 entries for the grid arrays "t", "betas", "sigmas", "a_s", "a_s_cum",
        "sigmas_cum", "a_s_prev"; T for the posterior and "ddpm_*" ones). dtype float32: the official float32
        values; float64: the same formulas in float64."""
        T = self.num_timesteps
        n = T + 1 if (self.kind == "ddgan" and name in _COEF_T1) else T
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError("Schedule.coef: dtype must be float32 or float64, not %s" % dtype)
        out = np.empty(n, dtype)
        fn = lib.ddgan_schedule_coef if dtype == np.float32 else lib.ddgan_schedule_coef_f64
        check(fn(self._h, name.encode(), _addr(out), n))
        return out

    def _arrays(self, name, *arrays):
        """Common dtype (float64 when the first array is float64, else float32) and shapes of the helpers."""
        x = np.asarray(arrays[0])
        dt = np.float64 if x.dtype == np.float64 else np.float32
        out = []
        for i, a in enumerate(arrays):
            if a is None:
                out.append(None)
                continue
            a = np.ascontiguousarray(a, dtype=dt)
            if i and a.shape != out[0].shape:
                refuse("Schedule.%s: array %d has shape %s, expected %s" % (name, i, a.shape, out[0].shape))
            out.append(a)
        return dt, out

    def q_sample(self, x0, t, eps=None):
        """x_t = a_s_cum[t] x0 + sigmas_cum[t] eps (eps None: drawn from the context)."""
        dt, (x0, eps) = self._arrays("q_sample", x0, eps)
        B = _batch_of(x0, "x0")
        t = _i64_t(t, B)
        out = np.empty_like(x0)
        fn = lib.ddgan_schedule_q_sample if dt == np.float32 else lib.ddgan_schedule_q_sample_f64
        check(fn(self._h, _addr(x0), _addr(t), B, x0.size // B, _addr(eps), _addr(out)))
        return out

    def q_sample_pairs(self, x0, t, eps_pair=None, eps_q=None):
        """The official q_sample_pairs: returns (x_t, x_tp1)."""
        dt, (x0, eps_pair, eps_q) = self._arrays("q_sample_pairs", x0, eps_pair, eps_q)
        B = _batch_of(x0, "x0")
        t = _i64_t(t, B)
        x_t, x_tp1 = np.empty_like(x0), np.empty_like(x0)
        fn = lib.ddgan_schedule_q_sample_pairs if dt == np.float32 else lib.ddgan_schedule_q_sample_pairs_f64
        check(fn(self._h, _addr(x0), _addr(t), B, x0.size // B, _addr(eps_pair), _addr(eps_q), _addr(x_t),
                 _addr(x_tp1)))
        return x_t, x_tp1

    def sample_posterior(self, x0_pred, x_tp1, t, eps=None):
        """The official sample_posterior (eps None: drawn from the context)."""
        dt, (x0_pred, x_tp1, eps) = self._arrays("sample_posterior", x0_pred, x_tp1, eps)
        B = _batch_of(x0_pred, "x0_pred")
        t = _i64_t(t, B)
        out = np.empty_like(x0_pred)
        fn = lib.ddgan_schedule_sample_posterior if dt == np.float32 else lib.ddgan_schedule_sample_posterior_f64
        check(fn(self._h, _addr(x0_pred), _addr(x_tp1), _addr(t), B, x0_pred.size // B, _addr(eps), _addr(out)))
        return out


# --------------------------------------------------------------------------------------------------
# Networks


class _Network(_Handle):
    _prefix = None  # "ddgan_generator" / "ddgan_discriminator"

    def _fn(self, suffix):
        return getattr(lib, "%s_%s" % (self._prefix, suffix))

    def _setup(self, ptr, ctx):
        self._adopt(ptr, (ctx,))
        self.context = ctx
        self.config_json = self._fn("config_json")(ptr).decode()
        self.config = json.loads(self.config_json)
        self.cls = self.config.get("cls", "NCSNpp")
        self._tensors = None

    @classmethod
    def _make(cls, ctx, create, *args):
        obj = cls.__new__(cls)
        _Handle.__init__(obj)
        obj._setup(_new_handle(create, ctx._h, *args), ctx)
        return obj

    @classmethod
    def from_json(cls, ctx, config):
        """A new network (official initialisation from the context seed) from its JSON config: a dict or a
        JSON string (official argument names, plus "cls")."""
        text = config if isinstance(config, str) else json.dumps(config)
        return cls._make(ctx, getattr(lib, cls._prefix + "_create_json"), text.encode())

    @classmethod
    def load(cls, ctx, path, prefix=None, config_key="config"):
        """Loads an interchange-format safetensors file (or, with prefix "G." / "G_ema." / "D.", a trainer
        checkpoint)."""
        return cls._make(ctx, getattr(lib, cls._prefix + "_load_prefixed"), _path(path), _opt_bytes(prefix),
                         _opt_bytes(config_key))

    def save(self, path):
        """Writes the interchange format (atomically)."""
        check(self._fn("save")(self._h, _path(path)))

    def summary(self):
        """dict num_params, num_tensors, gflops_per_image."""
        s = _init(_lib.ModelSummary)
        check(self._fn("summary")(self._h, ctypes.byref(s)))
        return s.as_dict()

    @property
    def num_params(self):
        return int(self.summary()["num_params"])

    def params(self):
        """Ordered dict: official parameter name -> shape tuple."""
        h = self._h
        if self._tensors is None:
            tensors = {}
            for i in range(self._fn("num_tensors")(h)):
                info = _init(_lib.TensorInfo)
                check(self._fn("tensor_info")(h, i, ctypes.byref(info)))
                tensors[info.name.decode()] = tuple(int(info.shape[k]) for k in range(info.ndim))
            self._tensors = tensors
        return dict(self._tensors)

    def _shape_of(self, name):
        shape = self.params().get(name)
        if shape is None:
            # let the library name the problem
            out = np.empty(0, np.float32)
            check(self._fn("get_param")(self._h, name.encode(), _addr(out), 0))
            refuse("%s: unknown parameter %r" % (type(self).__name__, name))
        return shape

    def get_param(self, name):
        """A copy of a parameter tensor by its official name."""
        out = np.empty(self._shape_of(name), np.float32)
        check(self._fn("get_param")(self._h, name.encode(), _addr(out), out.size))
        return out

    def set_param(self, name, value):
        """Overwrites a parameter tensor (value: same number of elements; converted to float32)."""
        shape = self._shape_of(name)
        v = _f32(value, name)
        if v.size != int(np.prod(shape, dtype=np.int64)):
            refuse("%s.set_param: %r has shape %s, got an array of shape %s" % (
                type(self).__name__, name, shape, v.shape))
        check(self._fn("set_param")(self._h, name.encode(), _addr(v), v.size))

    def get_grad(self, name):
        """A copy of a parameter's gradient buffer."""
        out = np.empty(self._shape_of(name), np.float32)
        check(self._fn("get_grad")(self._h, name.encode(), _addr(out), out.size))
        return out

    def state_dict(self):
        """dict: official name -> parameter copy."""
        return {n: self.get_param(n) for n in self.params()}

    def load_state_dict(self, state):
        """Sets every parameter given in state (a dict name -> array)."""
        for n, v in state.items():
            self.set_param(n, v)

    def zero_grad(self):
        check(self._fn("zero_grad")(self._h))

    def _examples(self, x, name, fn, batch=None):
        """x as float32 [B, *example shape] (2-D data also as [B, data_dim]); returns (array, B)."""
        x = _f32(x, name)
        ex = self.example_shape
        ok = x.ndim == 1 + len(ex) and tuple(x.shape[1:]) == ex
        if not ok and self.is_2d:
            ok = x.ndim == 2 and x.shape[1] == ex[0]
        if not ok or x.shape[0] < 1 or (batch is not None and x.shape[0] != batch):
            want = "(%s, %s)" % ("batch" if batch is None else batch,
                                 ex[0] if self.is_2d else ", ".join(str(v) for v in ex))
            refuse("%s: %s has shape %s, expected %s" % (fn, name, x.shape, want))
        return x, x.shape[0]


class Generator(_Network):
    """NCSN++ or toy (2-D) generator. Make one with Generator.from_json(ctx, config) or
    Generator.load(ctx, path, prefix=None, config_key='config')."""

    _prefix = "ddgan_generator"
    _destroy_name = "ddgan_generator_destroy"

    def __init__(self, ctx, config):
        """Generator(ctx, config) is Generator.from_json(ctx, config)."""
        _Handle.__init__(self)
        text = config if isinstance(config, str) else json.dumps(config)
        self._setup(_new_handle(lib.ddgan_generator_create_json, ctx._h, text.encode()), ctx)

    def _setup(self, ptr, ctx):
        super()._setup(ptr, ctx)
        c, h, w, nz = ctypes.c_int(), ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        check(lib.ddgan_generator_shape(ptr, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w), ctypes.byref(nz)))
        self.example_shape = (c.value, h.value, w.value)
        self.nz = nz.value
        self.is_2d = self.cls == "ToyMLP"
        self.num_timesteps = int(self.config.get("num_timesteps", 4))

    def _out_like(self, x, B):
        return np.empty((B, self.example_shape[0]) if (self.is_2d and x.ndim == 2) else x.shape, np.float32)

    def schedule_config(self):
        """The schedule this generator was trained with, from its config: dict num_timesteps, beta_min,
        beta_max, use_geometric, kind (0; see Schedule.for_generator)."""
        cfg = _init(_lib.ScheduleConfig)
        check(lib.ddgan_generator_schedule_config(self._h, ctypes.byref(cfg)))
        d = cfg.as_dict()
        d["use_geometric"] = bool(d["use_geometric"])
        return d

    def forward(self, x_t, t, z=None):
        """x0 = G(x_t, t, z): x_t [B, C, H, W] (2-D: [B, 2]), t int or [B] in 0..T-1, z [B, nz] or None (drawn
        from the context's stream). Returns float32 of x_t's shape."""
        x_t, B = self._examples(x_t, "x_t", "Generator.forward")
        t = _i64_t(t, B)
        if z is not None:
            z = _f32(z, "z")
            if z.shape != (B, self.nz):
                refuse("Generator.forward: z has shape %s, expected (%d, %d)" % (z.shape, B, self.nz))
        out = self._out_like(x_t, B)
        check(lib.ddgan_generator_forward(self._h, _addr(x_t), _addr(t), _addr(z), B, _addr(out)))
        return out

    __call__ = forward

    def backward(self, x_t, t, z, dx0):
        """Adds the parameter gradients of sum(dx0 * G(x_t, t, z)) to the gradient buffers."""
        x_t, B = self._examples(x_t, "x_t", "Generator.backward")
        t = _i64_t(t, B)
        z = _f32(z, "z")
        if z.shape != (B, self.nz):
            refuse("Generator.backward: z has shape %s, expected (%d, %d)" % (z.shape, B, self.nz))
        dx0 = _f32(dx0, "dx0")
        if dx0.shape != x_t.shape:
            refuse("Generator.backward: dx0 has shape %s, expected %s" % (dx0.shape, x_t.shape))
        check(lib.ddgan_generator_backward(self._h, _addr(x_t), _addr(t), _addr(z), B, _addr(dx0)))


class Discriminator(_Network):
    """Time-dependent discriminator (Discriminator_small / _large / ToyMLP). Make one with
    Discriminator.from_json(ctx, config) or Discriminator.load(ctx, path, prefix=None, config_key='config')."""

    _prefix = "ddgan_discriminator"
    _destroy_name = "ddgan_discriminator_destroy"

    def __init__(self, ctx, config):
        """Discriminator(ctx, config) is Discriminator.from_json(ctx, config)."""
        _Handle.__init__(self)
        text = config if isinstance(config, str) else json.dumps(config)
        self._setup(_new_handle(lib.ddgan_discriminator_create_json, ctx._h, text.encode()), ctx)

    def _setup(self, ptr, ctx):
        super()._setup(ptr, ctx)
        c = self.config
        self.is_2d = self.cls == "ToyMLP"
        if self.is_2d:
            self.example_shape = (int(c.get("data_dim", 2)), 1, 1)
        else:
            s = int(c["image_size"])
            self.example_shape = (int(c["nc"]) // 2, s, s)

    def _inputs(self, x_prev, t, x_t, fn):
        x_prev, B = self._examples(x_prev, "x_prev", fn)
        x_t, _ = self._examples(x_t, "x_t", fn, B)
        return x_prev, _i64_t(t, B), x_t, B

    def forward(self, x_prev, t, x_t):
        """logits [B] = D(x_prev, t, x_t)."""
        x_prev, t, x_t, B = self._inputs(x_prev, t, x_t, "Discriminator.forward")
        out = np.empty(B, np.float32)
        check(lib.ddgan_discriminator_forward(self._h, _addr(x_prev), _addr(t), _addr(x_t), B, _addr(out)))
        return out

    __call__ = forward

    def r1(self, x_prev, t, x_t, gamma):
        """R1 penalty gamma/2 * mean_b ||d(sum D)/d x_prev_b||^2 (returned); its parameter gradient is ADDED to
        the gradient buffers."""
        x_prev, t, x_t, B = self._inputs(x_prev, t, x_t, "Discriminator.r1")
        pen = ctypes.c_float()
        check(lib.ddgan_discriminator_r1(self._h, _addr(x_prev), _addr(t), _addr(x_t), B, float(gamma),
                                         ctypes.addressof(pen)))
        return float(pen.value)

    def backward(self, x_prev, t, x_t, dlogits):
        """Adds the parameter gradients of sum_b dlogits[b] D_b to the gradient buffers; returns d/dx_prev."""
        x_prev, t, x_t, B = self._inputs(x_prev, t, x_t, "Discriminator.backward")
        dl = _f32(dlogits, "dlogits")
        if dl.shape != (B,):
            refuse("Discriminator.backward: dlogits has shape %s, expected (%d,)" % (dl.shape, B))
        dx = np.empty_like(x_prev)
        check(lib.ddgan_discriminator_backward(self._h, _addr(x_prev), _addr(t), _addr(x_t), B, _addr(dl),
                                               _addr(dx)))
        return dx


# --------------------------------------------------------------------------------------------------
# Sampling


def _check_pair(g, s):
    if g.context is not s.context:
        refuse("the generator and the schedule were made from different contexts")


def _sample_shape(g, n):
    return (n, g.example_shape[0]) if g.is_2d else (n,) + tuple(g.example_shape)


def sample(g, s, n, seed=0):
    """n samples with the schedule's T generator steps: float32 [n, C, H, W] ([n, 2] for 2-D data, in data
    units). Every draw comes from (seed, sample index): the result does not depend on batching or threads."""
    _check_pair(g, s)
    n = int(n)
    if n < 1:
        refuse("sample: n = %d, expected at least 1" % n)
    out = np.empty(_sample_shape(g, n), np.float32)
    check(lib.ddgan_sample(g._h, s._h, n, int(seed), _addr(out)))
    return out


def sample_trajectory(g, s, n, seed=0):
    """As sample(), with every intermediate x: [T + 1, n, ...] holding x_T, ..., x_0 (data units)."""
    _check_pair(g, s)
    n = int(n)
    if n < 1:
        refuse("sample_trajectory: n = %d, expected at least 1" % n)
    out = np.empty((s.num_timesteps + 1,) + _sample_shape(g, n), np.float32)
    check(lib.ddgan_sample_trajectory(g._h, s._h, n, int(seed), _addr(out)))
    return out


def sample_with_draws(g, s, x_init, z_steps=None, noise_steps=None):
    """Replay sampling: x_init [n, ...]; z_steps[i] [n, nz] and noise_steps[i] [n, ...] for step i (indexed
    0..T-1, used from T-1 down to 0); None (or a None entry) is drawn as in sample() with seed 0."""
    _check_pair(g, s)
    x_init, n = g._examples(x_init, "x_init", "sample_with_draws")
    T = s.num_timesteps
    keep = [x_init]

    def table(steps, shape, name):
        if steps is None:
            return None
        if len(steps) != T:
            refuse("sample_with_draws: %s has %d entries, expected T = %d" % (name, len(steps), T))
        arr = (ctypes.c_void_p * T)()
        for i, a in enumerate(steps):
            if a is None:
                continue
            a = _f32(a, name)
            if a.size != int(np.prod(shape)):
                refuse("sample_with_draws: %s[%d] has shape %s, expected %s" % (name, i, a.shape, shape))
            keep.append(a)
            arr[i] = a.ctypes.data
        keep.append(arr)
        return arr

    zt = table(z_steps, (n, g.nz), "z_steps")
    nt = table(noise_steps, x_init.shape, "noise_steps")
    out = g._out_like(x_init, n)
    check(lib.ddgan_sample_with_draws(g._h, s._h, n, _addr(x_init), None if zt is None else ctypes.addressof(zt),
                                      None if nt is None else ctypes.addressof(nt), _addr(out)))
    return out


def ddpm_sample(g, s, n, num_steps=None, seed=0):
    """DDPM ancestral sampling with an eps-predicting generator over num_steps (default T) strided steps of
    the DDPM schedule s. Same layout as sample()."""
    _check_pair(g, s)
    n = int(n)
    if n < 1:
        refuse("ddpm_sample: n = %d, expected at least 1" % n)
    steps = s.num_timesteps if num_steps is None else int(num_steps)
    out = np.empty(_sample_shape(g, n), np.float32)
    check(lib.ddgan_ddpm_sample(g._h, s._h, n, steps, int(seed), _addr(out)))
    return out


# --------------------------------------------------------------------------------------------------
# Trainers

_LR_SCHEDULES = {"constant": 0, "cosine": 1}
_DRAW_NAMES = ("d_t", "d_eps_pair", "d_eps_q", "d_z", "d_eps_post", "g_t", "g_eps_pair", "g_eps_q", "g_z",
               "g_eps_post")


class _CheckpointExtras:
    """attach_dataset / set_metadata of both trainers (ddgan_trainer_* and ddgan_ddpm_trainer_*)."""

    _c_prefix = None
    _dataset = None

    def attach_dataset(self, ds):
        """Attaches a Dataset: checkpoints then hold its loader position and load() moves it back, so a
        resumed run sees the batches of an uninterrupted one. The trainer keeps a reference to ds; None
        detaches. Closing the dataset detaches it first."""
        if ds is not None and not isinstance(ds, Dataset):
            raise TypeError("%s.attach_dataset: expected a ddgan.Dataset or None, not %s" % (
                type(self).__name__, type(ds).__name__))
        with _lock:
            h = self._h
            check(getattr(lib, self._c_prefix + "_attach_dataset")(h, None if ds is None else ds._h))
            old, self._dataset = self._dataset, ds
            if old is not None and old is not ds:
                old._attached_to.discard(self)
            if ds is not None:
                ds._attached_to.add(self)

    @property
    def dataset(self):
        """The attached Dataset (None when none)."""
        return self._dataset

    def _detach(self, ds):
        with _lock:
            if self._dataset is ds:
                if self._ptr is not None:
                    check(getattr(lib, self._c_prefix + "_attach_dataset")(self._ptr, None))
                self._dataset = None

    def set_metadata(self, key, value):
        """Sets a string stored in the __metadata__ of the checkpoints this trainer writes (value None removes
        it; at most 16 keys; the format's own keys are refused). Read it back with ddgan.file_metadata."""
        k = _key(key, type(self).__name__ + ".set_metadata")
        if value is not None and not isinstance(value, (str, bytes)):
            raise TypeError("%s.set_metadata: value must be a str or None, not %s" % (
                type(self).__name__, type(value).__name__))
        check(getattr(lib, self._c_prefix + "_set_metadata")(self._h, k, _opt_bytes(value)))


class Trainer(_CheckpointExtras, _Handle):
    """The DDGAN training loop: Trainer(g, d, s, **config) with the ddgan_trainer_config fields as keywords
    (batch_size, lr_g, lr_d, beta1, beta2, adam_eps, r1_gamma, lazy_reg, use_ema, ema_decay,
    lr_schedule ("cosine" or "constant"), eta_min, num_epoch, steps_per_epoch, seed, skip_nonfinite).
    It keeps g, d and s alive; closing any of them closes the trainer."""

    _destroy_name = "ddgan_trainer_destroy"
    _c_prefix = "ddgan_trainer"

    def __init__(self, g, d, s, **config):
        super().__init__()
        cfg = _init(_lib.TrainerConfig)
        _fill(cfg, config, "Trainer", {"lr_schedule": _LR_SCHEDULES})
        self.config = cfg.as_dict()
        self._adopt(_new_handle(lib.ddgan_trainer_create, g._h, d._h, s._h, ctypes.byref(cfg)), (g, d, s))
        self.generator, self.discriminator, self.schedule = g, d, s
        self.batch_size = cfg.batch_size

    def _x0(self, x0, fn):
        return self.generator._examples(x0, "x0", fn)

    def step(self, x0):
        """One training iteration on real data x0 [B, C, H, W] in [-1, 1] ([B, 2] in data units for 2-D data),
        1 <= B <= batch_size. Returns the step statistics as a dict (err_d, err_d_real, err_d_fake, err_g,
        r1_penalty (NaN when not applied), d_real_mean, d_fake_mean, global_step, grad_norm_d, grad_norm_g,
        lr_d, lr_g, seconds)."""
        x0, B = self._x0(x0, "Trainer.step")
        st = _init(_lib.StepStats)
        check(lib.ddgan_trainer_step(self._h, _addr(x0), B, ctypes.byref(st)))
        return st.as_dict()

    def step_with_draws(self, x0, **draws):
        """As step(), with some or all random draws given (d_t, d_eps_pair, d_eps_q, d_z, d_eps_post, g_t, ...:
        names as in the test vectors); the others are drawn from the trainer's RNG."""
        x0, B = self._x0(x0, "Trainer.step_with_draws")
        g = self.generator
        dr = _init(_lib.StepDraws)
        keep = []
        for name, value in draws.items():
            if name not in _DRAW_NAMES:
                raise TypeError("Trainer.step_with_draws: unknown draw %r (known: %s)" % (name, ", ".join(_DRAW_NAMES)))
            if value is None:
                continue
            kind = name[2:]
            if kind == "t":
                a = _i64_t(value, B, name)
            else:
                a = _f32(value, name)
                want = B * (g.nz if kind == "z" else int(np.prod(g.example_shape)))
                if a.size != want or a.shape[0] != B:
                    refuse("Trainer.step_with_draws: %s has shape %s (%d values), expected %d values in %d rows" % (
                        name, a.shape, a.size, want, B))
            keep.append(a)
            setattr(dr, name, a.ctypes.data)
        st = _init(_lib.StepStats)
        check(lib.ddgan_trainer_step_with_draws(self._h, _addr(x0), B, ctypes.byref(dr), ctypes.byref(st)))
        return st.as_dict()

    @property
    def global_step(self):
        """Completed steps; assigning moves the lazy-R1 phase, the epoch and the learning rate."""
        return int(lib.ddgan_trainer_global_step(self._h))

    @global_step.setter
    def global_step(self, step):
        check(lib.ddgan_trainer_set_global_step(self._h, int(step)))

    @property
    def skipped_steps(self):
        return int(lib.ddgan_trainer_skipped_steps(self._h))

    def save(self, path):
        """Full state in one safetensors file, written atomically."""
        check(lib.ddgan_trainer_save(self._h, _path(path)))

    def load(self, path):
        """Restores a checkpoint written by a trainer with the same configs (left untouched on error)."""
        check(lib.ddgan_trainer_load(self._h, _path(path)))
        self.generator._tensors = self.discriminator._tensors = None

    def ema_generator(self):
        """A new Generator holding a copy of the current EMA weights (Error UNSUPPORTED without use_ema)."""
        return Generator._make(self.generator.context, lambda out, _ctx: lib.ddgan_trainer_ema_generator(
            out, self._h))


class DDPMTrainer(_CheckpointExtras, _Handle):
    """The DDPM baseline: DDPMTrainer(g, s, **config) with the ddgan_ddpm_trainer_config fields as keywords
    (batch_size, lr, beta1, beta2, adam_eps, warmup, grad_clip, use_ema, ema_decay, seed, skip_nonfinite);
    s is a Schedule(kind="ddpm")."""

    _destroy_name = "ddgan_ddpm_trainer_destroy"
    _c_prefix = "ddgan_ddpm_trainer"

    def __init__(self, g, s, **config):
        super().__init__()
        cfg = _init(_lib.DDPMTrainerConfig)
        _fill(cfg, config, "DDPMTrainer")
        self.config = cfg.as_dict()
        self._adopt(_new_handle(lib.ddgan_ddpm_trainer_create, g._h, s._h, ctypes.byref(cfg)), (g, s))
        self.generator, self.schedule = g, s
        self.batch_size = cfg.batch_size

    def step(self, x0):
        """One step on x0 [B, ...]; returns the loss."""
        x0, B = self.generator._examples(x0, "x0", "DDPMTrainer.step")
        loss = ctypes.c_float()
        check(lib.ddgan_ddpm_trainer_step(self._h, _addr(x0), B, ctypes.addressof(loss)))
        return float(loss.value)

    @property
    def global_step(self):
        return int(lib.ddgan_ddpm_trainer_global_step(self._h))

    @property
    def skipped_steps(self):
        return int(lib.ddgan_ddpm_trainer_skipped_steps(self._h))

    def save(self, path):
        check(lib.ddgan_ddpm_trainer_save(self._h, _path(path)))

    def load(self, path):
        check(lib.ddgan_ddpm_trainer_load(self._h, _path(path)))
        self.generator._tensors = None

    def ema_generator(self):
        return Generator._make(self.generator.context, lambda out, _ctx: lib.ddgan_ddpm_trainer_ema_generator(
            out, self._h))


# --------------------------------------------------------------------------------------------------
# Datasets

_DATASET_KINDS = {"idx": 0, "mnist": 0, "stacked_mnist": 1, "stackedmnist": 1, "cifar10": 2, "image_folder": 3,
                  "grid25": 4, "ring8": 5}
_SPLITS = {"train": 0, "test": 1}
_RESIZE = {"bilinear": 0, "area": 1}


class Dataset(_Handle):
    """A dataset with its loader position (ddgan_dataset_*): Dataset(kind, path=None, **config), kind one of
    "idx" (MNIST-style), "stacked_mnist", "cifar10", "image_folder", "grid25", "ring8"; the other
    ddgan_dataset_config fields as keywords (labels_path, paths (a list), idx_prefix, split ("train"/"test"),
    transpose, channels, image_size, resize ("bilinear"/"area"), lazy, pad, hflip, shuffle, seed, data_seed,
    num_examples, radius, sigma). Needs no context."""

    _destroy_name = "ddgan_dataset_destroy"

    def __init__(self, kind, path=None, **config):
        super().__init__()
        self._attached_to = weakref.WeakSet()  # trainers this dataset is attached to
        cfg = _init(_lib.DatasetConfig)
        paths = config.pop("paths", None)
        for key in ("labels_path", "idx_prefix"):
            if config.get(key) is not None:
                config[key] = _path(config[key]) if key == "labels_path" else _opt_bytes(config[key])
        config["kind"] = kind
        if path is not None:
            config["path"] = _path(path)
        _fill(cfg, config, "Dataset", {"kind": _DATASET_KINDS, "split": _SPLITS, "resize": _RESIZE})
        self._keep = [cfg.path, cfg.labels_path, cfg.idx_prefix]  # the library may read them until open returns
        if paths is not None:
            enc = [_path(p) for p in paths]
            arr = (ctypes.c_char_p * len(enc))(*enc)
            self._keep += [enc, arr]
            cfg.paths = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
            cfg.num_paths = len(enc)
        self._adopt(_new_handle(lib.ddgan_dataset_open, ctypes.byref(cfg)))
        c, h, w = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        check(lib.ddgan_dataset_shape(self._h, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w)))
        self.example_shape = (c.value, h.value, w.value)
        self.is_2d = cfg.kind in (4, 5)

    @classmethod
    def grid25(cls, num_examples=0, seed=0, data_seed=0, sigma=0.0, **config):
        """The 25-Gaussian grid (means {-4,-2,0,2,4}^2, sigma 0.05 by default)."""
        return cls("grid25", num_examples=num_examples, seed=seed, data_seed=data_seed, sigma=sigma, **config)

    @classmethod
    def ring8(cls, num_examples=0, seed=0, data_seed=0, radius=0.0, sigma=0.0, **config):
        """8 Gaussians on a ring (radius 1, sigma 0.01 by default)."""
        return cls("ring8", num_examples=num_examples, seed=seed, data_seed=data_seed, radius=radius, sigma=sigma,
                   **config)

    def close(self):
        """Detaches the dataset from the trainers it is attached to, then frees it. Idempotent."""
        with _lock:
            for tr in list(getattr(self, "_attached_to", ())):
                tr._detach(self)
            super().close()

    def __len__(self):
        return int(lib.ddgan_dataset_size(self._h))

    def _batch_shape(self, n):
        return (n, self.example_shape[0]) if self.is_2d else (n,) + self.example_shape

    def batches_per_epoch(self, batch):
        return int(lib.ddgan_dataset_batches_per_epoch(self._h, int(batch)))

    def get(self, index):
        """(example, label) of example `index` in source order (2-D data: example of shape [2])."""
        out = np.empty(self._batch_shape(1)[1:], np.float32)
        label = ctypes.c_int64()
        check(lib.ddgan_dataset_get(self._h, int(index), _addr(out), ctypes.addressof(label)))
        return out, int(label.value)

    def next_batch(self, batch):
        """(x [batch, C, H, W] (2-D: [batch, 2]), labels int64 [batch]) and advances the position."""
        batch = int(batch)
        if batch < 1:
            refuse("Dataset.next_batch: batch = %d, expected at least 1" % batch)
        out = np.empty(self._batch_shape(batch), np.float32)
        labels = np.empty(batch, np.int64)
        check(lib.ddgan_dataset_next_batch(self._h, batch, _addr(out), _addr(labels)))
        return out, labels

    @property
    def position(self):
        """(epoch, index) of the next batch; assign a pair to move."""
        e, i = ctypes.c_int64(), ctypes.c_int64()
        check(lib.ddgan_dataset_get_position(self._h, ctypes.addressof(e), ctypes.addressof(i)))
        return int(e.value), int(i.value)

    @position.setter
    def position(self, pos):
        epoch, index = pos
        check(lib.ddgan_dataset_set_position(self._h, int(epoch), int(index)))

    def get_state(self):
        """The loader state for a checkpoint: int64 [epoch, index, N, seed, shuffle]."""
        out = np.empty(_lib.DATASET_STATE_LEN, np.int64)
        check(lib.ddgan_dataset_get_state(self._h, _addr(out), out.size))
        return out

    def set_state(self, state):
        st = np.ascontiguousarray(state, dtype=np.int64)
        if st.shape != (_lib.DATASET_STATE_LEN,):
            refuse("Dataset.set_state: shape %s, expected (%d,)" % (st.shape, _lib.DATASET_STATE_LEN))
        check(lib.ddgan_dataset_set_state(self._h, _addr(st), st.size))
