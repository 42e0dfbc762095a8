"""libddgan from Python: Denoising Diffusion GANs through the library's C API (pure ctypes + numpy).

    import ddgan
    ctx = ddgan.Context(backend=None, seed=0, threads=0)
    s = ddgan.Schedule(ctx, num_timesteps=4, beta_min=0.1, beta_max=20.0)
    g = ddgan.Generator.load(ctx, "g.safetensors")
    x = ddgan.sample(g, s, 16, seed=0)          # numpy float32 [16, C, H, W] ([16, 2] for 2-D data)

Every failing call raises ddgan.Error (str(): the library's message; .status, .status_name). The library is
found through $DDGAN_LIBRARY, the install prefix, the build tree of a source checkout, then the system's
library path (ddgan.library_path says which file was loaded). See docs/python.md.
"""

from ._lib import PACKAGE_VERSION as __version__
from ._lib import ClosedError, Error, Status, found_by, library_path, status_name
from ._api import (Context, DDPMTrainer, Dataset, Discriminator, Generator, Schedule, Trainer, backends,
                   ddpm_sample, file_metadata, sample, sample_trajectory, sample_with_draws, status_string,
                   version, version_number)
from ._eval import (Classifier, eval_images, eval_stacked, eval_stacked_dataset, eval_toy, feature_stats,
                    frechet_distance, frechet_distance_features, precision_recall, stacked_metrics_from_labels,
                    time_sampling)

__all__ = ["Classifier", "ClosedError", "Context", "DDPMTrainer", "Dataset", "Discriminator", "Error", "Generator",
           "Schedule", "Status", "Trainer", "backends", "ddpm_sample", "eval_images", "eval_stacked",
           "eval_stacked_dataset", "eval_toy", "feature_stats", "file_metadata", "found_by", "frechet_distance",
           "frechet_distance_features", "library_path", "precision_recall", "sample", "sample_trajectory",
           "sample_with_draws", "stacked_metrics_from_labels", "status_name", "status_string", "time_sampling",
           "version", "version_number", "__version__"]
