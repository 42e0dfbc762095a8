#!/usr/bin/env python3
"""Trains DDGAN (T = 4) on the 25-Gaussian grid from Python and scores the samples.

    python3 examples/python/train_toy.py [--steps 12000] [--out runs/toy25-py]

The recipe is the one of docs/toy-learning.md (ToyMLP G and D with 3 ReLU layers of 96, Adam lr 3e-3 with
cosine decay, R1 gamma 0.01 every step, batch 64, EMA 0.995). It writes a trainer checkpoint, the EMA
generator, samples.npy, and -- when matplotlib is installed -- samples.png (samples over the grid's means)
and losses.png (the loss curves); without matplotlib it prints a coarse text plot instead. Mode coverage is
measured as in the C learning test: a sample is high quality within 3 sigma (0.15) of its nearest mean, a
mode is covered when it is the nearest mean of at least one high-quality sample.

The package is found through PYTHONPATH (bindings/python or <prefix>/lib/python3/dist-packages) and the
library as docs/python.md describes (e.g. DDGAN_LIBRARY=build/lib/libddgan.so.0).
"""

import argparse
import json
import math
import os
import pathlib
import sys
import time

import numpy as np

try:
    import ddgan
except ImportError:  # running from the source tree without PYTHONPATH
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import ddgan

MEANS = np.array([(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)], np.float64)
SIGMA = 0.05


def score(x):
    """modes covered, high-quality fraction, reverse KL of the covered-mode histogram against uniform."""
    d = np.sqrt(((x.astype(np.float64)[:, None, :] - MEANS[None]) ** 2).sum(-1))
    nearest, dist = d.argmin(1), d.min(1)
    hq = dist < 3 * SIGMA
    counts = np.bincount(nearest[hq], minlength=len(MEANS))
    q = counts[counts > 0] / max(1, hq.sum())
    rev_kl = float((q * np.log(q * len(MEANS))).sum()) if hq.any() else float("nan")
    return {"modes": int((counts > 0).sum()), "hq_fraction": float(hq.mean()), "reverse_kl": rev_kl}


def text_plot(x, width=61, height=25):
    """A coarse scatter of x in [-5, 5]^2 for terminals without matplotlib."""
    grid = [[" "] * width for _ in range(height)]
    for a, b in MEANS:
        grid[int((5 - b) / 10 * (height - 1) + 0.5)][int((a + 5) / 10 * (width - 1) + 0.5)] = "+"
    for a, b in x:
        if -5 <= a <= 5 and -5 <= b <= 5:
            grid[int((5 - b) / 10 * (height - 1) + 0.5)][int((a + 5) / 10 * (width - 1) + 0.5)] = "o"
    return "\n".join("|" + "".join(r) + "|" for r in grid)


def moving_average(v, k):
    v = np.asarray(v, np.float64)
    if len(v) < k or k < 2:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    return (c[k:] - c[:-k]) / k


def plot(out, samples, history):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, label="samples (EMA generator)")
    ax.scatter(MEANS[:, 0], MEANS[:, 1], s=30, marker="x", color="red", label="grid means")
    ax.set_xlim(-6, 6)
    ax.set_ylim(-6, 6)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    fig.savefig(out / "samples.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    steps = [h["global_step"] for h in history]
    k = max(1, len(history) // 100)
    fig, ax = plt.subplots(figsize=(8, 4))
    for key in ("err_d", "err_g"):
        ma = moving_average([h[key] for h in history], k)
        ax.plot(steps[len(steps) - len(ma):], ma, label="%s (moving average of %d)" % (key, k))
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.savefig(out / "losses.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=12000, help="training steps (default 12000)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1, help="context (initialisation) seed; the trainer uses seed + 100")
    ap.add_argument("--backend", default=None, help="ref, cpu, cuda (default: auto)")
    ap.add_argument("--threads", type=int, default=1, help="worker threads (0 = all; 1 is fastest for these sizes)")
    ap.add_argument("--n-samples", type=int, default=2500)
    ap.add_argument("--log-every", type=int, default=0, help="print the losses every N steps (default steps/10)")
    ap.add_argument("--out", default="runs/toy25-py", help="output folder")
    ap.add_argument("--no-plot", action="store_true", help="do not use matplotlib even when installed")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.batch < 1:
        ap.error("--steps and --batch must be positive")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    ctx = ddgan.Context(backend=args.backend, seed=args.seed, threads=args.threads)
    print("libddgan %s (%s), backend %s, %d thread(s)" % (ddgan.version(), ddgan.library_path, ctx.backend,
                                                          ctx.num_threads))
    common = {"cls": "ToyMLP", "hidden_dim": 96, "n_hidden": 3, "t_emb_dim": 32, "lrelu_slope": 0.0}
    s = ddgan.Schedule(ctx, num_timesteps=4)
    g = ddgan.Generator.from_json(ctx, dict(common, nz=2, data_scale=1.0, num_timesteps=4))
    d = ddgan.Discriminator.from_json(ctx, common)
    tr = ddgan.Trainer(g, d, s, batch_size=args.batch, lr_g=3e-3, lr_d=3e-3, r1_gamma=0.01, lazy_reg=0,
                       use_ema=True, ema_decay=0.995, lr_schedule="cosine", eta_min=1e-5, num_epoch=args.steps,
                       steps_per_epoch=1, seed=args.seed + 100)
    data = ddgan.Dataset.grid25(seed=args.seed, data_seed=args.seed)
    print("G %d parameters, D %d; %d steps of batch %d on %d grid samples" % (
        g.num_params, d.num_params, args.steps, args.batch, len(data)))

    every = args.log_every or max(1, args.steps // 10)
    history = []
    t0 = time.time()
    for step in range(args.steps):
        x, _ = data.next_batch(args.batch)
        st = tr.step(x)
        history.append(st)
        if not all(math.isfinite(st[k]) for k in ("err_d", "err_g")):
            print("step %d: non-finite loss %s" % (st["global_step"], st), file=sys.stderr)
            return 1
        if st["global_step"] % every == 0 or step == args.steps - 1:
            print("step %6d  err_d %.4f  err_g %.4f  r1 %.5f  lr %.2e  %.1f ms/step" % (
                st["global_step"], st["err_d"], st["err_g"], st["r1_penalty"], st["lr_g"],
                1e3 * (time.time() - t0) / (step + 1)))
    train_s = time.time() - t0

    tr.save(out / "checkpoint.safetensors")
    ema = tr.ema_generator()
    ema.save(out / "generator_ema.safetensors")
    samples = ddgan.sample(ema, s, args.n_samples, seed=0)
    np.save(out / "samples.npy", samples)
    if not np.all(np.isfinite(samples)):
        print("non-finite samples", file=sys.stderr)
        return 1
    result = dict(score(samples), steps=tr.global_step, seconds=round(train_s, 2),
                  err_d_last100=float(np.mean([h["err_d"] for h in history[-100:]])),
                  err_g_last100=float(np.mean([h["err_g"] for h in history[-100:]])))
    with open(out / "log.jsonl", "w") as f:
        for h in history:
            f.write(json.dumps(h) + "\n")
    print("EMA generator: %d / 25 modes, high quality %.1f%%, reverse KL %.3f" % (
        result["modes"], 100 * result["hq_fraction"], result["reverse_kl"]))
    if not args.no_plot and plot(out, samples, history):
        print("wrote %s and %s" % (out / "samples.png", out / "losses.png"))
    else:
        print(text_plot(samples[:1000]))
        print("(matplotlib not available: no PNG files written)" if not args.no_plot else "")
    print(json.dumps(result))
    for h in (ema, tr, g, d, s, data, ctx):
        h.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
