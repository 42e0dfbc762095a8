"""Loading libddgan.so.0 through ctypes: library search, prototypes, struct mirrors, import-time checks.

Search order (the first that applies wins; see docs/python.md):

1. ``$DDGAN_LIBRARY``: the path of the library file. When it is set and cannot be loaded, the import fails
   (there is no silent fallback to another copy).
2. The install prefix: the package installed by CMake under ``<prefix>/<libdir>/python3/dist-packages``
   carries ``_install.py`` with the path from the package to ``<prefix>/<libdir>``; without it, a
   ``python*`` folder among the package's ancestors names the lib folder (``<prefix>/lib*/libddgan.so.0``).
3. The build tree, when the package is imported from the source tree (``bindings/python``):
   ``<source>/build/lib/libddgan.so.0``, then any other ``<source>/build*/lib/libddgan.so.0`` (newest first).
4. ``ctypes.util.find_library("ddgan")`` (the system's library path).
"""

import ctypes
import ctypes.util
import enum
import glob
import math
import os
import pathlib
import warnings

# The C library version this package is written against (include/ddgan/ddgan.h).
EXPECTED_MAJOR = 0
EXPECTED_MINOR = 1
PACKAGE_VERSION = "0.1.0"

_SONAME = "libddgan.so.0"
_PKG_DIR = pathlib.Path(__file__).resolve().parent

c_float_p = ctypes.c_void_p  # every array argument is passed as an address
c_size = ctypes.c_size_t
c_status = ctypes.c_int
c_handle = ctypes.c_void_p


# --------------------------------------------------------------------------------------------------
# Status codes and the exception


class Status(enum.IntEnum):
    """ddgan_status_t (append-only; values never change meaning)."""

    OK = 0
    INVALID_ARGUMENT = 1
    OUT_OF_MEMORY = 2
    IO = 3
    FORMAT = 4
    UNSUPPORTED = 5
    BACKEND_UNAVAILABLE = 6
    BACKEND = 7
    NUMERICAL = 8
    VERSION_MISMATCH = 9
    INTERNAL = 10


def status_name(status):
    """The C name of a status value ("DDGAN_ERR_IO"); "DDGAN_STATUS_<n>" for a value this package does not
    know (a newer library)."""
    try:
        s = Status(status)
    except ValueError:
        return "DDGAN_STATUS_%d" % int(status)
    return "DDGAN_OK" if s == Status.OK else "DDGAN_ERR_" + s.name


class Error(Exception):
    """A failing libddgan call (or an argument the package refuses before calling the library).

    ``str(e)`` is the library's message (``ddgan_last_error()``), naming the function and the offending value.
    ``e.status`` is the status (a :class:`Status` member, or a plain int for a value newer than this
    package), ``e.status_name`` its C name (``"DDGAN_ERR_IO"``), ``e.status_string`` the library's English
    description (``"I/O error"``).
    """

    def __init__(self, status, message):
        super().__init__(int(status), message)  # args: Error(status, message) pickles and unpickles
        try:
            self.status = Status(status)
        except ValueError:
            self.status = int(status)
        self.status_name = status_name(status)
        self.status_string = _status_string(status)
        self.message = message

    def __str__(self):
        return self.message

    def __repr__(self):
        return "ddgan.Error(%s, %r)" % (self.status_name, self.message)


class ClosedError(ValueError):
    """Use of a handle after close() (or after the handle it depends on was closed)."""


def _status_string(status):
    try:
        s = lib.ddgan_status_string(int(status))
    except Exception:  # library not loaded (ImportError path) or at interpreter shutdown
        return ""
    return s.decode("utf-8", "replace") if s else ""


def check(status):
    """Raises Error with the library's message when status is not DDGAN_OK."""
    if status != 0:
        msg = lib.ddgan_last_error()
        raise Error(status, msg.decode("utf-8", "replace") if msg else "")


def refuse(message, status=Status.INVALID_ARGUMENT):
    """An argument refused by the package itself (shapes, sizes the library cannot check)."""
    raise Error(status, message)


# --------------------------------------------------------------------------------------------------
# Struct mirrors (fields only ever appended; checked against the library at import and against the C
# compiler's offsets in tests/python/test_struct_layout.py)

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)


class _Struct(ctypes.Structure):
    def as_dict(self):
        out = {}
        for name, _ in self._fields_:
            if name == "struct_size":
                continue
            v = getattr(self, name)
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            out[name] = v
        return out


class BackendInfo(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p), ("description", ctypes.c_char_p),
                ("available", ctypes.c_int), ("score", ctypes.c_int), ("reason", ctypes.c_char_p),
                ("path", ctypes.c_char_p)]


class ContextConfig(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("backend", ctypes.c_char_p), ("seed", ctypes.c_uint64),
                ("num_threads", ctypes.c_int), ("log_fn", LOG_FN), ("log_user", ctypes.c_void_p),
                ("log_level", ctypes.c_int), ("memory_limit", ctypes.c_size_t)]


class ScheduleConfig(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("num_timesteps", ctypes.c_int), ("beta_min", ctypes.c_double),
                ("beta_max", ctypes.c_double), ("use_geometric", ctypes.c_int), ("kind", ctypes.c_int)]


class ModelSummary(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("num_params", ctypes.c_size_t),
                ("num_tensors", ctypes.c_size_t), ("gflops_per_image", ctypes.c_double)]


class TensorInfo(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p), ("ndim", ctypes.c_int),
                ("shape", ctypes.c_int64 * 4), ("numel", ctypes.c_size_t)]


class DiscriminatorConfig(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("cls", ctypes.c_char_p), ("nc", ctypes.c_int),
                ("ngf", ctypes.c_int), ("t_emb_dim", ctypes.c_int), ("image_size", ctypes.c_int),
                ("data_dim", ctypes.c_int), ("hidden_dim", ctypes.c_int), ("n_hidden", ctypes.c_int),
                ("lrelu_slope", ctypes.c_double)]


class GeneratorConfig(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("cls", ctypes.c_char_p), ("image_size", ctypes.c_int),
                ("num_channels", ctypes.c_int), ("num_channels_dae", ctypes.c_int),
                ("ch_mult", ctypes.c_int * 8), ("ch_mult_len", ctypes.c_int), ("num_res_blocks", ctypes.c_int),
                ("attn_resolutions", ctypes.c_int * 8), ("attn_resolutions_len", ctypes.c_int),
                ("nz", ctypes.c_int), ("z_emb_dim", ctypes.c_int), ("n_mlp", ctypes.c_int),
                ("centered", ctypes.c_int), ("not_use_tanh", ctypes.c_int), ("conditional", ctypes.c_int),
                ("fir", ctypes.c_int), ("fir_kernel", ctypes.c_double * 8), ("fir_kernel_len", ctypes.c_int),
                ("skip_rescale", ctypes.c_int), ("resamp_with_conv", ctypes.c_int), ("dropout", ctypes.c_double),
                ("resblock_type", ctypes.c_char_p), ("progressive", ctypes.c_char_p),
                ("progressive_input", ctypes.c_char_p), ("progressive_combine", ctypes.c_char_p),
                ("embedding_type", ctypes.c_char_p), ("num_timesteps", ctypes.c_int),
                ("beta_min", ctypes.c_double), ("beta_max", ctypes.c_double), ("use_geometric", ctypes.c_int),
                ("data_dim", ctypes.c_int), ("hidden_dim", ctypes.c_int), ("n_hidden", ctypes.c_int),
                ("t_emb_dim", ctypes.c_int), ("lrelu_slope", ctypes.c_double), ("data_scale", ctypes.c_double)]


class TrainerConfig(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("batch_size", ctypes.c_int), ("lr_g", ctypes.c_float),
                ("lr_d", ctypes.c_float), ("beta1", ctypes.c_float), ("beta2", ctypes.c_float),
                ("adam_eps", ctypes.c_float), ("r1_gamma", ctypes.c_float), ("lazy_reg", ctypes.c_int),
                ("use_ema", ctypes.c_int), ("ema_decay", ctypes.c_float), ("lr_schedule", ctypes.c_int),
                ("eta_min", ctypes.c_float), ("num_epoch", ctypes.c_int), ("steps_per_epoch", ctypes.c_int),
                ("seed", ctypes.c_uint64), ("skip_nonfinite", ctypes.c_int)]


class StepStats(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("err_d", ctypes.c_float), ("err_d_real", ctypes.c_float),
                ("err_d_fake", ctypes.c_float), ("err_g", ctypes.c_float), ("r1_penalty", ctypes.c_float),
                ("d_real_mean", ctypes.c_float), ("d_fake_mean", ctypes.c_float), ("global_step", ctypes.c_int64),
                ("grad_norm_d", ctypes.c_float), ("grad_norm_g", ctypes.c_float), ("lr_d", ctypes.c_float),
                ("lr_g", ctypes.c_float), ("seconds", ctypes.c_double)]


class StepDraws(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32)] + [
        (n, ctypes.c_void_p) for n in ("d_t", "d_eps_pair", "d_eps_q", "d_z", "d_eps_post",
                                       "g_t", "g_eps_pair", "g_eps_q", "g_z", "g_eps_post")]


class DDPMTrainerConfig(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("batch_size", ctypes.c_int), ("lr", ctypes.c_float),
                ("beta1", ctypes.c_float), ("beta2", ctypes.c_float), ("adam_eps", ctypes.c_float),
                ("warmup", ctypes.c_int), ("grad_clip", ctypes.c_float), ("use_ema", ctypes.c_int),
                ("ema_decay", ctypes.c_float), ("seed", ctypes.c_uint64), ("skip_nonfinite", ctypes.c_int)]


class DatasetConfig(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("kind", ctypes.c_int), ("path", ctypes.c_char_p),
                ("labels_path", ctypes.c_char_p), ("paths", ctypes.POINTER(ctypes.c_char_p)),
                ("num_paths", ctypes.c_size_t), ("idx_prefix", ctypes.c_char_p), ("split", ctypes.c_int),
                ("transpose", ctypes.c_int), ("channels", ctypes.c_int), ("image_size", ctypes.c_int),
                ("resize", ctypes.c_int), ("lazy", ctypes.c_int), ("pad", ctypes.c_int), ("hflip", ctypes.c_int),
                ("shuffle", ctypes.c_int), ("seed", ctypes.c_uint64), ("data_seed", ctypes.c_uint64),
                ("num_examples", ctypes.c_int64), ("radius", ctypes.c_double), ("sigma", ctypes.c_double)]


TOY_MAX_MODES = 32          # DDGAN_TOY_MAX_MODES
CLASSIFIER_CLASSES = 10     # DDGAN_CLASSIFIER_CLASSES
CLASSIFIER_SIZE = 32        # DDGAN_CLASSIFIER_SIZE


class ToyMetrics(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("num_modes", ctypes.c_int), ("modes", ctypes.c_int),
                ("hq_fraction", ctypes.c_double), ("reverse_kl", ctypes.c_double), ("num_samples", ctypes.c_int64),
                ("num_hq", ctypes.c_int64), ("mode_counts", ctypes.c_int64 * TOY_MAX_MODES)]


class ClassifierConfig(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("epochs", ctypes.c_int), ("batch_size", ctypes.c_int),
                ("lr", ctypes.c_float), ("beta1", ctypes.c_float), ("beta2", ctypes.c_float),
                ("adam_eps", ctypes.c_float), ("max_shift", ctypes.c_int), ("seed", ctypes.c_uint64),
                ("width", ctypes.c_int), ("hidden", ctypes.c_int)]


class StackedMetrics(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("modes", ctypes.c_int), ("kl", ctypes.c_double),
                ("num_samples", ctypes.c_int64)]


class ImageMetrics(_Struct):
    _fields_ = [("struct_size", ctypes.c_uint32), ("frechet", ctypes.c_double), ("precision", ctypes.c_double),
                ("recall", ctypes.c_double), ("feature_dim", ctypes.c_size_t)]


# mirror -> (init function, C type name, documented defaults read back through the mirror's layout)
STRUCTS = {
    BackendInfo: ("ddgan_backend_info_init", "ddgan_backend_info",
                  {"name": b"", "description": b"", "available": 0, "score": 0, "reason": b"", "path": b""}),
    ContextConfig: ("ddgan_context_config_init", "ddgan_context_config",
                    {"backend": None, "seed": 0, "num_threads": 0, "log_user": None, "log_level": 1,
                     "memory_limit": 0}),
    ScheduleConfig: ("ddgan_schedule_config_init", "ddgan_schedule_config",
                     {"num_timesteps": 4, "beta_min": 0.1, "beta_max": 20.0, "use_geometric": 0, "kind": 0}),
    ModelSummary: ("ddgan_model_summary_init", "ddgan_model_summary",
                   {"num_params": 0, "num_tensors": 0, "gflops_per_image": 0.0}),
    TensorInfo: ("ddgan_tensor_info_init", "ddgan_tensor_info", {"name": b"", "ndim": 0, "numel": 0}),
    DiscriminatorConfig: ("ddgan_discriminator_config_init", "ddgan_discriminator_config",
                          {"cls": None, "nc": 6, "ngf": 64, "t_emb_dim": 256, "image_size": 32, "data_dim": 2,
                           "hidden_dim": 128, "n_hidden": 3, "lrelu_slope": 0.2}),
    GeneratorConfig: ("ddgan_generator_config_init", "ddgan_generator_config",
                      {"cls": None, "image_size": 32, "num_channels": 3, "num_channels_dae": 128,
                       "ch_mult": [1, 2, 2, 2, 0, 0, 0, 0], "ch_mult_len": 4, "num_res_blocks": 2,
                       "attn_resolutions": [16, 0, 0, 0, 0, 0, 0, 0], "attn_resolutions_len": 1, "nz": 100,
                       "z_emb_dim": 256, "n_mlp": 4, "num_timesteps": 4, "beta_min": 0.1, "beta_max": 20.0,
                       "use_geometric": 0, "data_dim": 2, "hidden_dim": 128, "n_hidden": 3, "t_emb_dim": 32,
                       "lrelu_slope": 0.2, "data_scale": 4.0}),
    TrainerConfig: ("ddgan_trainer_config_init", "ddgan_trainer_config",
                    {"batch_size": 64, "lr_g": 1.5e-4, "lr_d": 1e-4, "beta1": 0.5, "beta2": 0.9, "adam_eps": 1e-8,
                     "r1_gamma": 0.05, "lazy_reg": 0, "use_ema": 0, "ema_decay": 0.9999, "lr_schedule": 1,
                     "eta_min": 1e-5, "num_epoch": 1200, "steps_per_epoch": 1, "seed": 1024,
                     "skip_nonfinite": 0}),
    StepStats: ("ddgan_step_stats_init", "ddgan_step_stats",
                {"err_d": 0.0, "err_g": 0.0, "r1_penalty": math.nan, "global_step": 0, "seconds": 0.0}),
    StepDraws: ("ddgan_step_draws_init", "ddgan_step_draws", {"d_t": None, "g_eps_post": None}),
    DDPMTrainerConfig: ("ddgan_ddpm_trainer_config_init", "ddgan_ddpm_trainer_config",
                        {"batch_size": 128, "lr": 2e-4, "beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-8,
                         "warmup": 0, "grad_clip": 1.0, "use_ema": 1, "ema_decay": 0.9999, "seed": 1024,
                         "skip_nonfinite": 0}),
    DatasetConfig: ("ddgan_dataset_config_init", "ddgan_dataset_config",
                    {"kind": 0, "path": None, "labels_path": None, "num_paths": 0, "idx_prefix": None, "split": 0,
                     "transpose": 0, "channels": 0, "image_size": 0, "resize": 0, "lazy": 0, "pad": 0, "hflip": 0,
                     "shuffle": 1, "seed": 0, "data_seed": 0, "num_examples": 0, "radius": 0.0, "sigma": 0.0}),
    ToyMetrics: ("ddgan_toy_metrics_init", "ddgan_toy_metrics",
                 {"num_modes": 0, "modes": 0, "hq_fraction": 0.0, "reverse_kl": 0.0, "num_samples": 0, "num_hq": 0,
                  "mode_counts": [0] * TOY_MAX_MODES}),
    ClassifierConfig: ("ddgan_classifier_config_init", "ddgan_classifier_config",
                       {"epochs": 6, "batch_size": 64, "lr": 3e-3, "beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-8,
                        "max_shift": 2, "seed": 0, "width": 32, "hidden": 128}),
    StackedMetrics: ("ddgan_stacked_metrics_init", "ddgan_stacked_metrics",
                     {"modes": 0, "kl": 0.0, "num_samples": 0}),
    ImageMetrics: ("ddgan_image_metrics_init", "ddgan_image_metrics",
                   {"frechet": 0.0, "precision": 0.0, "recall": 0.0, "feature_dim": 0}),
}


# --------------------------------------------------------------------------------------------------
# Prototypes: (name, restype, argtypes). Every one must be exported by the loaded library.

_H, _P, _Z, _I, _I64, _U64, _F, _D, _S = (c_handle, ctypes.c_void_p, c_size, ctypes.c_int, ctypes.c_int64,
                                          ctypes.c_uint64, ctypes.c_float, ctypes.c_double, ctypes.c_char_p)
_ST = c_status
_PH = ctypes.POINTER(c_handle)

PROTOTYPES = [
    ("ddgan_version_string", _S, []),
    ("ddgan_version_number", ctypes.c_uint, []),
    ("ddgan_status_string", _S, [ctypes.c_int]),
    ("ddgan_last_error", _S, []),
    ("ddgan_clear_last_error", None, []),
    # backends and context
    ("ddgan_backend_info_init", _ST, [_P, _Z]),
    ("ddgan_backend_count", _Z, []),
    ("ddgan_backend_get_info", _ST, [_Z, _P]),
    ("ddgan_context_config_init", _ST, [_P, _Z]),
    ("ddgan_context_create", _ST, [_PH, _P]),
    ("ddgan_context_destroy", None, [_H]),
    ("ddgan_context_backend", _S, [_H]),
    ("ddgan_context_seed", _U64, [_H]),
    ("ddgan_context_num_threads", _I, [_H]),
    ("ddgan_context_randn", _ST, [_H, _P, _Z]),
    ("ddgan_context_rand", _ST, [_H, _P, _Z]),
    # schedule
    ("ddgan_schedule_config_init", _ST, [_P, _Z]),
    ("ddgan_schedule_create", _ST, [_PH, _H, _P]),
    ("ddgan_schedule_destroy", None, [_H]),
    ("ddgan_schedule_num_timesteps", _I, [_H]),
    ("ddgan_schedule_coef", _ST, [_H, _S, _P, _Z]),
    ("ddgan_schedule_coef_f64", _ST, [_H, _S, _P, _Z]),
    ("ddgan_schedule_q_sample", _ST, [_H, _P, _P, _Z, _Z, _P, _P]),
    ("ddgan_schedule_q_sample_f64", _ST, [_H, _P, _P, _Z, _Z, _P, _P]),
    ("ddgan_schedule_q_sample_pairs", _ST, [_H, _P, _P, _Z, _Z, _P, _P, _P, _P]),
    ("ddgan_schedule_q_sample_pairs_f64", _ST, [_H, _P, _P, _Z, _Z, _P, _P, _P, _P]),
    ("ddgan_schedule_sample_posterior", _ST, [_H, _P, _P, _P, _Z, _Z, _P, _P]),
    ("ddgan_schedule_sample_posterior_f64", _ST, [_H, _P, _P, _P, _Z, _Z, _P, _P]),
    # networks
    ("ddgan_model_summary_init", _ST, [_P, _Z]),
    ("ddgan_tensor_info_init", _ST, [_P, _Z]),
    ("ddgan_discriminator_config_init", _ST, [_P, _Z]),
    ("ddgan_discriminator_create", _ST, [_PH, _H, _P]),
    ("ddgan_discriminator_create_json", _ST, [_PH, _H, _S]),
    ("ddgan_discriminator_load", _ST, [_PH, _H, _S]),
    ("ddgan_discriminator_load_prefixed", _ST, [_PH, _H, _S, _S, _S]),
    ("ddgan_discriminator_save", _ST, [_H, _S]),
    ("ddgan_discriminator_destroy", None, [_H]),
    ("ddgan_discriminator_config_json", _S, [_H]),
    ("ddgan_discriminator_summary", _ST, [_H, _P]),
    ("ddgan_discriminator_num_tensors", _Z, [_H]),
    ("ddgan_discriminator_tensor_info", _ST, [_H, _Z, _P]),
    ("ddgan_discriminator_forward", _ST, [_H, _P, _P, _P, _Z, _P]),
    ("ddgan_discriminator_r1", _ST, [_H, _P, _P, _P, _Z, _F, _P]),
    ("ddgan_discriminator_backward", _ST, [_H, _P, _P, _P, _Z, _P, _P]),
    ("ddgan_discriminator_zero_grad", _ST, [_H]),
    ("ddgan_discriminator_get_param", _ST, [_H, _S, _P, _Z]),
    ("ddgan_discriminator_set_param", _ST, [_H, _S, _P, _Z]),
    ("ddgan_discriminator_get_grad", _ST, [_H, _S, _P, _Z]),
    ("ddgan_generator_config_init", _ST, [_P, _Z]),
    ("ddgan_generator_create", _ST, [_PH, _H, _P]),
    ("ddgan_generator_create_json", _ST, [_PH, _H, _S]),
    ("ddgan_generator_load", _ST, [_PH, _H, _S]),
    ("ddgan_generator_load_prefixed", _ST, [_PH, _H, _S, _S, _S]),
    ("ddgan_generator_save", _ST, [_H, _S]),
    ("ddgan_generator_destroy", None, [_H]),
    ("ddgan_generator_config_json", _S, [_H]),
    ("ddgan_generator_summary", _ST, [_H, _P]),
    ("ddgan_generator_num_tensors", _Z, [_H]),
    ("ddgan_generator_tensor_info", _ST, [_H, _Z, _P]),
    ("ddgan_generator_shape", _ST, [_H, _P, _P, _P, _P]),
    ("ddgan_generator_forward", _ST, [_H, _P, _P, _P, _Z, _P]),
    ("ddgan_generator_backward", _ST, [_H, _P, _P, _P, _Z, _P]),
    ("ddgan_generator_zero_grad", _ST, [_H]),
    ("ddgan_generator_get_param", _ST, [_H, _S, _P, _Z]),
    ("ddgan_generator_set_param", _ST, [_H, _S, _P, _Z]),
    ("ddgan_generator_get_grad", _ST, [_H, _S, _P, _Z]),
    ("ddgan_generator_schedule_config", _ST, [_H, _P]),
    # sampling
    ("ddgan_sample", _ST, [_H, _H, _Z, _U64, _P]),
    ("ddgan_sample_with_draws", _ST, [_H, _H, _Z, _P, _P, _P, _P]),
    ("ddgan_sample_trajectory", _ST, [_H, _H, _Z, _U64, _P]),
    # trainer
    ("ddgan_trainer_config_init", _ST, [_P, _Z]),
    ("ddgan_step_stats_init", _ST, [_P, _Z]),
    ("ddgan_step_draws_init", _ST, [_P, _Z]),
    ("ddgan_trainer_create", _ST, [_PH, _H, _H, _H, _P]),
    ("ddgan_trainer_destroy", None, [_H]),
    ("ddgan_trainer_step", _ST, [_H, _P, _Z, _P]),
    ("ddgan_trainer_step_with_draws", _ST, [_H, _P, _Z, _P, _P]),
    ("ddgan_trainer_set_global_step", _ST, [_H, _I64]),
    ("ddgan_trainer_global_step", _I64, [_H]),
    ("ddgan_trainer_skipped_steps", _I64, [_H]),
    ("ddgan_trainer_save", _ST, [_H, _S]),
    ("ddgan_trainer_load", _ST, [_H, _S]),
    ("ddgan_trainer_ema_generator", _ST, [_PH, _H]),
    ("ddgan_trainer_attach_dataset", _ST, [_H, _H]),
    ("ddgan_trainer_set_metadata", _ST, [_H, _S, _S]),
    # DDPM baseline
    ("ddgan_ddpm_trainer_config_init", _ST, [_P, _Z]),
    ("ddgan_ddpm_trainer_create", _ST, [_PH, _H, _H, _P]),
    ("ddgan_ddpm_trainer_destroy", None, [_H]),
    ("ddgan_ddpm_trainer_step", _ST, [_H, _P, _Z, _P]),
    ("ddgan_ddpm_trainer_global_step", _I64, [_H]),
    ("ddgan_ddpm_trainer_skipped_steps", _I64, [_H]),
    ("ddgan_ddpm_trainer_save", _ST, [_H, _S]),
    ("ddgan_ddpm_trainer_load", _ST, [_H, _S]),
    ("ddgan_ddpm_trainer_ema_generator", _ST, [_PH, _H]),
    ("ddgan_ddpm_trainer_attach_dataset", _ST, [_H, _H]),
    ("ddgan_ddpm_trainer_set_metadata", _ST, [_H, _S, _S]),
    ("ddgan_ddpm_sample", _ST, [_H, _H, _Z, _I, _U64, _P]),
    # datasets
    ("ddgan_dataset_config_init", _ST, [_P, _Z]),
    ("ddgan_dataset_open", _ST, [_PH, _P]),
    ("ddgan_dataset_destroy", None, [_H]),
    ("ddgan_dataset_size", _I64, [_H]),
    ("ddgan_dataset_shape", _ST, [_H, _P, _P, _P]),
    ("ddgan_dataset_batches_per_epoch", _I64, [_H, _Z]),
    ("ddgan_dataset_get", _ST, [_H, _I64, _P, _P]),
    ("ddgan_dataset_next_batch", _ST, [_H, _Z, _P, _P]),
    ("ddgan_dataset_get_position", _ST, [_H, _P, _P]),
    ("ddgan_dataset_set_position", _ST, [_H, _I64, _I64]),
    ("ddgan_dataset_get_state", _ST, [_H, _P, _Z]),
    ("ddgan_dataset_set_state", _ST, [_H, _P, _Z]),
    # files
    ("ddgan_file_metadata", _ST, [_S, _S, _P, _Z, _P]),
    # evaluation
    ("ddgan_toy_metrics_init", _ST, [_P, _Z]),
    ("ddgan_eval_toy", _ST, [_P, _Z, _I, _P]),
    ("ddgan_feature_stats", _ST, [_P, _Z, _Z, _P, _P]),
    ("ddgan_frechet_distance", _ST, [_P, _P, _P, _P, _Z, _P]),
    ("ddgan_frechet_distance_features", _ST, [_P, _Z, _P, _Z, _Z, _P]),
    ("ddgan_precision_recall", _ST, [_P, _Z, _P, _Z, _Z, _I, _P, _P]),
    ("ddgan_classifier_config_init", _ST, [_P, _Z]),
    ("ddgan_classifier_train", _ST, [_PH, _H, _P, _P, _Z, _P]),
    ("ddgan_classifier_load", _ST, [_PH, _H, _S]),
    ("ddgan_classifier_save", _ST, [_H, _S]),
    ("ddgan_classifier_destroy", None, [_H]),
    ("ddgan_classifier_feature_dim", _Z, [_H]),
    ("ddgan_classifier_config_json", _S, [_H]),
    ("ddgan_classifier_predict", _ST, [_H, _P, _Z, _I, _P, _P]),
    ("ddgan_classifier_features", _ST, [_H, _P, _Z, _I, _P]),
    ("ddgan_classifier_accuracy", _ST, [_H, _P, _P, _Z, _P]),
    ("ddgan_stacked_metrics_init", _ST, [_P, _Z]),
    ("ddgan_stacked_metrics_from_labels", _ST, [_P, _Z, _P]),
    ("ddgan_eval_stacked", _ST, [_H, _P, _Z, _P, _P]),
    ("ddgan_eval_stacked_dataset", _ST, [_H, _H, _Z, _P]),
    ("ddgan_image_metrics_init", _ST, [_P, _Z]),
    ("ddgan_eval_images", _ST, [_H, _P, _Z, _P, _Z, _I, _P]),
    ("ddgan_time_sampling", _ST, [_H, _H, _Z, _I, _I, _U64, _P]),
]

DATASET_STATE_LEN = 5


# --------------------------------------------------------------------------------------------------
# Finding and loading the library


def _install_candidates():
    """Libraries of the install prefix the package sits in (step 2 of the search order)."""
    out = []
    try:
        from . import _install  # written by CMake at install time
        rel = getattr(_install, "LIBDIR_FROM_PACKAGE", None)
        if rel:
            out.append((_PKG_DIR / rel / _SONAME).resolve())
    except ImportError:
        pass
    # <prefix>/<libdir>/pythonX[.Y]/{dist,site}-packages/ddgan: the folder holding python* is the libdir
    for anc in _PKG_DIR.parents:
        if anc.name.startswith("python") and anc.parent.name != "bindings":
            libdir = anc.parent
            out.append(libdir / _SONAME)
            prefix = libdir.parent if libdir.name.startswith("lib") else libdir.parent.parent
            for p in sorted(glob.glob(str(prefix / "lib*" / _SONAME))) + sorted(
                    glob.glob(str(prefix / "lib" / "*" / _SONAME))):
                out.append(pathlib.Path(p))
            break
    return out


def _build_tree_candidates():
    """Libraries of the build trees beside the source tree the package is imported from (step 3)."""
    src = _PKG_DIR.parent.parent.parent  # <source>/bindings/python/ddgan
    if not ((src / "include" / "ddgan" / "ddgan.h").is_file() and (src / "CMakeLists.txt").is_file()):
        return []
    first = src / "build" / "lib" / _SONAME
    others = [pathlib.Path(p) for p in glob.glob(str(src / "build*" / "lib" / _SONAME))]
    others = sorted((p for p in others if p != first), key=lambda p: -p.stat().st_mtime)
    return [first] + others


def find_library():
    """(path or soname, how it was found) of the library this package will load; ImportError when none."""
    env = os.environ.get("DDGAN_LIBRARY")
    if env:
        return env, "DDGAN_LIBRARY"
    seen = set()
    for how, cands in (("install prefix", _install_candidates()), ("build tree", _build_tree_candidates())):
        for c in cands:
            if c in seen:
                continue
            seen.add(c)
            if c.is_file():
                return str(c), how
    name = ctypes.util.find_library("ddgan")
    if name:
        return name, "system library path"
    raise ImportError("ddgan: libddgan.so.0 not found. Set DDGAN_LIBRARY to the library's path, install "
                      "libddgan (cmake --install) with this package, or build it in <source>/build; "
                      "searched: %s" % (", ".join(str(c) for c in sorted(seen, key=str)) or "nothing"))


def _declare(handle):
    missing = []
    for name, restype, argtypes in PROTOTYPES:
        try:
            fn = getattr(handle, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise ImportError("ddgan: the library %s lacks %d function(s) this package needs: %s (an older or "
                          "foreign libddgan?)" % (handle._name, len(missing), ", ".join(missing)))


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b or (a is not None and b is not None and abs(a - b) <= 1e-6 * max(abs(a), abs(b)))
    if hasattr(a, "_length_"):
        a = list(a)
    return a == b


def check_structs(handle, path):
    """Every mirror must be accepted by its init function at the mirror's size, get struct_size stored, and
    read back the library's documented defaults through the mirror's field offsets."""
    for cls, (init_name, cname, defaults) in STRUCTS.items():
        s = cls()
        st = getattr(handle, init_name)(ctypes.byref(s), ctypes.sizeof(s))
        if st != 0:
            raise ImportError("ddgan: %s refused the Python mirror of %s (%d bytes): %s" % (
                init_name, cname, ctypes.sizeof(s), handle.ddgan_last_error().decode("utf-8", "replace")))
        bad = []
        if s.struct_size != ctypes.sizeof(s):
            bad.append("struct_size %d" % s.struct_size)
        for field, want in defaults.items():
            got = getattr(s, field)
            if not _same(got, want):
                bad.append("%s = %r (expected %r)" % (field, list(got) if hasattr(got, "_length_") else got, want))
        if bad:
            raise ImportError("ddgan: the Python mirror of %s (%d bytes) does not match the library %s: %s; the "
                              "package and the library come from different versions" % (
                                  cname, ctypes.sizeof(s), path, "; ".join(bad)))


def load():
    """Finds, loads and checks the library. Returns (CDLL, path, how)."""
    path, how = find_library()
    try:
        handle = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError("ddgan: cannot load libddgan from %s (found through %s): %s" % (path, how, e)) from None
    try:
        handle.ddgan_version_number.restype = ctypes.c_uint
        number = handle.ddgan_version_number()
    except AttributeError:
        raise ImportError("ddgan: %s (found through %s) is not libddgan: no ddgan_version_number" % (
            path, how)) from None
    major, minor = number // 10000, number // 100 % 100
    if major != EXPECTED_MAJOR:
        raise ImportError("ddgan: %s is libddgan %d.%d.%d; this package needs major version %d" % (
            path, major, minor, number % 100, EXPECTED_MAJOR))
    if major == 0 and minor != EXPECTED_MINOR:
        # 0.x minor releases may change signatures (docs/abi-policy.md); the checks below catch layouts
        warnings.warn("ddgan: %s is libddgan %d.%d.%d, this package was written for %d.%d" % (
            path, major, minor, number % 100, EXPECTED_MAJOR, EXPECTED_MINOR), RuntimeWarning)
    _declare(handle)
    check_structs(handle, path)
    return handle, path, how


lib, library_path, found_by = load()
