#!/usr/bin/env python3
"""PyTorch side of scripts/gpu-check.sh: the workloads of bench_model on PyTorch.

Times, on one device (cuda by default), the PyTorch models of bench_torch.py
(NCSN++ generator and Discriminator_small written from the reference
specification; default weights) on exactly what bench_model measures for
libddgan:

  - sampling: --samples images (default 100, one batch) with the official
    4-step sampler (sample_from_model), under torch.no_grad();
  - training: iterations/s of the official loop (section 5.2, Adam, the D step
    back-propagating through G as the official code does; --detach removes
    that) at batch --train-batch (default 64), with the R1 penalty every step
    (what bench_model times: train_it_per_s) and without it
    (train_nor1_it_per_s).

Configuration: the CIFAR-10 models (--config cifar10, the default); --nf
changes only the generator width, as bench_model's --nf does (smoke runs
only). Float32 throughout. --exact (default) disables TF32 in cuBLAS and cuDNN
(libddgan's default exact mode); --tf32 enables it in both (PyTorch's default
for cuDNN convolutions; libddgan's DDGAN_CUDA_FAST=1). cuDNN autotuning is off
(PyTorch's default, and libddgan does no timing runs either) unless
--cudnn-benchmark.

FIR up/down-sampling: --fir grouped (default) runs it as one depthwise conv2d
per filter (the work of a compiled upfirdn2d kernel; the official code builds
such a CUDA extension at import time); --fir native runs upfirdn2d's
pure-PyTorch path (a single-channel conv2d over N*C planes), as bench_torch.py
does on the CPU.

Every timed call is bracketed by torch.cuda.synchronize(); warm-up calls come
first (cuDNN plans, the caching allocator); the reported time is the median
of the timed calls. Output: one human-readable line on stderr and one line

  bench_torch device=cuda precision=exact ... sample_s=S train_it_per_s=R ...

on stdout for the script. Works with PyTorch 1.13 and 2.x.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_torch as bt  # noqa: E402  (the models, schedule and workloads)


def _try_set(obj, name, value):
    try:
        setattr(obj, name, value)
        return True
    except Exception:  # 1.13's torch.backends.cuda.matmul raises AssertionError for unknown names
        return False


def _try_get(obj, name):
    try:
        return getattr(obj, name)
    except Exception:
        return None


def set_tf32(torch, on):
    """TF32 on (cuBLAS matmuls and cuDNN convolutions) or off. PyTorch >= 2.9
    has the per-backend fp32_precision settings and refuses a mix of them with
    the legacy allow_tf32 flags, so only one of the two APIs is touched.
    Returns a description of what is in force."""
    mode = "tf32" if on else "ieee"
    cudnn = torch.backends.cudnn
    matmul = torch.backends.cuda.matmul
    if _try_get(matmul, "fp32_precision") is not None and _try_get(getattr(cudnn, "conv", None),
                                                                   "fp32_precision") is not None:
        ok = _try_set(matmul, "fp32_precision", mode)
        for obj in (cudnn, getattr(cudnn, "conv", None), getattr(cudnn, "rnn", None)):
            if obj is not None and _try_get(obj, "fp32_precision") is not None:
                ok = _try_set(obj, "fp32_precision", mode) and ok
        if ok:
            return (f"matmul.fp32_precision={_try_get(matmul, 'fp32_precision')} "
                    f"cudnn.conv.fp32_precision={_try_get(cudnn.conv, 'fp32_precision')}")
    try:
        matmul.allow_tf32 = on
        cudnn.allow_tf32 = on
        return f"matmul.allow_tf32={matmul.allow_tf32} cudnn.allow_tf32={cudnn.allow_tf32}"
    except Exception as e:  # should not happen; report rather than guess
        print(f"bench_torch_gpu: cannot set the TF32 flags: {e}", file=sys.stderr)
        return "TF32 flags UNKNOWN"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu (dry runs)")
    prec = ap.add_mutually_exclusive_group()
    prec.add_argument("--exact", dest="tf32", action="store_false", help="no TF32 (default)")
    prec.add_argument("--tf32", dest="tf32", action="store_true", help="TF32 in cuBLAS and cuDNN")
    ap.set_defaults(tf32=False)
    ap.add_argument("--config", default="cifar10", choices=sorted(bt.CONFIGS))
    ap.add_argument("--nf", type=int, default=None, help="generator width (default: the config's)")
    ap.add_argument("--samples", type=int, default=100, help="images sampled in one batch (default 100)")
    ap.add_argument("--train-batch", type=int, default=64)
    ap.add_argument("--train-iters", type=int, default=10, help="timed training iterations of each kind")
    ap.add_argument("--sample-reps", type=int, default=5, help="timed sampling calls")
    ap.add_argument("--warmup", type=int, default=2, help="untimed calls before each measurement")
    ap.add_argument("--r1", choices=["both", "on", "off"], default="both",
                    help="train with the R1 penalty every step, without, or both (default)")
    ap.add_argument("--fir", choices=["grouped", "native"], default="grouped")
    ap.add_argument("--detach", action="store_true", help="detach x0_pred in the D step (less work)")
    ap.add_argument("--cudnn-benchmark", action="store_true", help="let cuDNN time its algorithms")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (--device cpu)")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--no-sample", action="store_true")
    ap.add_argument("--seed", type=int, default=1024)
    args = ap.parse_args()
    if min(args.samples, args.train_batch, args.train_iters, args.sample_reps) < 1 or args.warmup < 0:
        ap.error("sizes must be positive")

    try:
        import torch
    except ImportError:
        print(f"bench_torch_gpu: PyTorch is not importable from {sys.executable}", file=sys.stderr)
        return 2
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda and not torch.cuda.is_available():
        print("bench_torch_gpu: torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if cuda:
        if dev.index is not None:
            torch.cuda.set_device(dev)
        tf32_state = set_tf32(torch, args.tf32)
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
        dev_name = torch.cuda.get_device_name(dev)
    else:
        tf32_state = "cpu: no TF32"
        dev_name = f"CPU, {torch.get_num_threads()} threads"

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    def timed(fn, warmup, reps):
        for _ in range(warmup):
            fn()
        sync()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    torch.manual_seed(args.seed)
    cfg = dict(bt.CONFIGS[args.config])
    if args.nf:
        cfg["nf"] = args.nf
    G, D = bt.build_models(cfg, device=dev, fir=args.fir)
    sch = bt.schedule(device=dev)
    res = dict(sample_s=-1.0, train_it_per_s=-1.0, train_nor1_it_per_s=-1.0)

    if not args.no_sample:
        G.eval()
        res["sample_s"] = timed(lambda: bt.sample(G, sch, cfg, args.samples), args.warmup, args.sample_reps)
        G.train()
    if not args.no_train:
        iteration = bt.make_train_iteration(G, D, sch, cfg, args.train_batch, args.detach)
        kinds = {"both": ((True, "train_it_per_s"), (False, "train_nor1_it_per_s")),
                 "on": ((True, "train_it_per_s"),), "off": ((False, "train_nor1_it_per_s"),)}[args.r1]
        for r1, key in kinds:
            res[key] = 1.0 / timed(lambda: iteration(r1), args.warmup, args.train_iters)
    peak_mib = torch.cuda.max_memory_allocated(dev) / 2**20 if cuda else -1.0

    precision = "tf32" if args.tf32 else "exact"
    loop = "detached" if args.detach else "official"
    print(f"bench_torch_gpu: PyTorch {torch.__version__} on {dev_name} ({args.device}); {precision} "
          f"({tf32_state}); {args.config} nf {cfg['nf']}; fir {args.fir}; loop {loop}; "
          f"sample {args.samples} x {bt.T_STEPS} steps: {res['sample_s']:.4f} s; "
          f"train b{args.train_batch}: {res['train_it_per_s']:.4f} it/s with R1, "
          f"{res['train_nor1_it_per_s']:.4f} it/s without; peak memory {peak_mib:.0f} MiB", file=sys.stderr)
    print(f"bench_torch device={dev.type} torch={torch.__version__} precision={precision} config={args.config} "
          f"nf={cfg['nf']} fir={args.fir} loop={loop} samples={args.samples} steps={bt.T_STEPS} "
          f"sample_s={res['sample_s']:.4f} train_batch={args.train_batch} train_iters={args.train_iters} "
          f"train_it_per_s={res['train_it_per_s']:.4f} train_nor1_it_per_s={res['train_nor1_it_per_s']:.4f} "
          f"peak_mem_mib={peak_mib:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
