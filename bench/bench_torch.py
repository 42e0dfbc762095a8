#!/usr/bin/env python3
"""PyTorch baseline for bench_train (docs/performance.md).

Runs, in one invocation, libddgan's `bench_train --json` and the same
measurements on PyTorch models written from the reference specification
(docs: NCSN++ generator with AdaGN, section 2; Discriminator_small, section 3;
training iteration, section 5.2; sampler, section 1.7), then prints both and
the ratios libddgan / PyTorch.

The PyTorch side follows the official code's CPU execution where it matters
for speed: the FIR filters run as upfirdn2d's pure-PyTorch path does
(zero-insertion, padding, a 4x4 single-channel conv2d over N*C planes, then
subsampling), attention uses einsum, and the training iteration is the
official loop statement by statement (the D step's fake branch is not
detached, so it also back-propagates through G, as the official code does;
--detach removes that extra work). Weights keep PyTorch's default init: speed
does not depend on the values, and the parameter counts are checked against
libddgan's (ddgan_generator_summary / ddgan_discriminator_summary).

Each job (config x {train, sample}) runs in a child process so that its peak
RSS (wait4's ru_maxrss) is its own. The FLOP convention is bench_train's:
an iteration is B x (4 F_G + 9 F_D) model FLOPs, R1 adds B x 3 F_D.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

CONFIGS = {
    # name: generator, discriminator (the configurations of bench_train.c)
    "mnist": dict(img=32, c_img=1, nf=32, ch_mult=(1, 2, 2), nrb=1, attn=(16,), nz=32, z_emb=64, n_mlp=2,
                  ngf=16, t_emb=64),
    "cifar10": dict(img=32, c_img=3, nf=128, ch_mult=(1, 2, 2, 2), nrb=2, attn=(16,), nz=100, z_emb=256,
                    n_mlp=4, ngf=64, t_emb=256),
}
T_STEPS = 4


# --------------------------------------------------------------------------
# Models (built only in the children, after the thread settings)

def build_models(cfg, device="cpu", fir="native"):
    """The generator and discriminator of `cfg`, on `device`. fir="native"
    runs the FIR filters as upfirdn2d's pure-PyTorch path (every channel a
    separate plane of a single-channel conv2d); fir="grouped" runs the same
    arithmetic as one depthwise conv2d (groups = channels, the stride doing
    the subsampling), the shape of work a compiled upfirdn2d kernel does on a
    GPU."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def timestep_embedding(t, dim):
        # 2.2.5: all sines, then all cosines, float32, of the integer index
        half = dim // 2
        freq = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) *
                         (-math.log(10000.0) / (half - 1)))
        a = t.float()[:, None] * freq[None, :]
        e = torch.cat([torch.sin(a), torch.cos(a)], dim=1)
        if dim % 2:
            e = F.pad(e, (0, 1))
        return e

    fir1d = torch.tensor([1.0, 3.0, 3.0, 1.0])
    fir2d = torch.outer(fir1d, fir1d)
    fir2d = (fir2d / fir2d.sum()).to(device)
    if fir not in ("native", "grouped"):
        raise ValueError(f"fir must be native or grouped, not {fir}")
    weights = {}  # (id of kernel, channels) -> flipped kernel repeated per channel

    def upfirdn(x, kernel, up, down, p0, p1):
        # 2.2.7, executed like the official CPU path: every channel as a
        # separate plane through a single-channel 4x4 convolution
        n, c, h, w = x.shape
        if fir == "grouped":
            key = (id(kernel), c, x.dtype)
            wt = weights.get(key)
            if wt is None:
                wt = torch.flip(kernel, [0, 1]).reshape(1, 1, 4, 4).repeat(c, 1, 1, 1).to(x.dtype)
                weights[key] = wt
            y = x
            if up > 1:
                z = y.new_zeros(n, c, h, up, w, up)
                z[:, :, :, 0, :, 0] = y
                y = z.reshape(n, c, h * up, w * up)
            y = F.pad(y, (p0, p1, p0, p1))
            return F.conv2d(y, wt, stride=down, groups=c)
        y = x.reshape(n * c, 1, h, w)
        if up > 1:
            z = y.new_zeros(n * c, 1, h, up, w, up)
            z[:, :, :, 0, :, 0] = y
            y = z.reshape(n * c, 1, h * up, w * up)
        y = F.pad(y, (p0, p1, p0, p1))
        y = F.conv2d(y, torch.flip(kernel, [0, 1]).reshape(1, 1, 4, 4))
        y = y[:, :, ::down, ::down]
        return y.reshape(n, c, y.shape[2], y.shape[3])

    fir2d_up = fir2d * 4.0

    def fir_up(x):
        return upfirdn(x, fir2d_up, 2, 1, 2, 1)

    def fir_down(x):
        return upfirdn(x, fir2d, 1, 2, 1, 1)

    def groups(c):
        return min(c // 4, 32)

    class AdaGN(nn.Module):
        def __init__(self, c, zdim):
            super().__init__()
            self.norm = nn.GroupNorm(groups(c), c, eps=1e-6, affine=False)
            self.style = nn.Linear(zdim, 2 * c)
            self.c = c

        def forward(self, x, zemb):
            s = self.style(zemb)
            gamma, beta = s[:, :self.c, None, None], s[:, self.c:, None, None]
            return gamma * self.norm(x) + beta

    class ResBlock(nn.Module):
        # 2.3 ResnetBlockBigGANpp_Adagn
        def __init__(self, cin, cout, tdim, zdim, up=False, down=False):
            super().__init__()
            self.GroupNorm_0 = AdaGN(cin, zdim)
            self.Conv_0 = nn.Conv2d(cin, cout, 3, padding=1)
            self.Dense_0 = nn.Linear(tdim, cout)
            self.GroupNorm_1 = AdaGN(cout, zdim)
            self.Conv_1 = nn.Conv2d(cout, cout, 3, padding=1)
            self.Conv_2 = nn.Conv2d(cin, cout, 1) if (cin != cout or up or down) else None
            self.up, self.down = up, down

        def forward(self, x, temb, zemb):
            h = F.silu(self.GroupNorm_0(x, zemb))
            if self.up:
                h, x = fir_up(h), fir_up(x)
            if self.down:
                h, x = fir_down(h), fir_down(x)
            h = self.Conv_0(h)
            h = h + self.Dense_0(F.silu(temb))[:, :, None, None]
            h = F.silu(self.GroupNorm_1(h, zemb))
            h = self.Conv_1(h)
            if self.Conv_2 is not None:
                x = self.Conv_2(x)
            return (x + h) / math.sqrt(2.0)

    class NIN(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.W = nn.Parameter(torch.randn(c, c) * 0.01)  # [in, out]
            self.b = nn.Parameter(torch.zeros(c))

        def forward(self, x):
            y = torch.einsum("bihw,io->bohw", x, self.W)
            return y + self.b[None, :, None, None]

    class Attn(nn.Module):
        # 2.4 AttnBlockpp
        def __init__(self, c):
            super().__init__()
            self.GroupNorm_0 = nn.GroupNorm(groups(c), c, eps=1e-6)
            self.NIN_0, self.NIN_1, self.NIN_2, self.NIN_3 = NIN(c), NIN(c), NIN(c), NIN(c)

        def forward(self, x):
            b, c, hh, ww = x.shape
            h = self.GroupNorm_0(x)
            q, k, v = self.NIN_0(h), self.NIN_1(h), self.NIN_2(h)
            w = torch.einsum("bchw,bcij->bhwij", q, k) * (c ** -0.5)
            w = torch.softmax(w.reshape(b, hh, ww, hh * ww), dim=-1).reshape(b, hh, ww, hh, ww)
            o = torch.einsum("bhwij,bcij->bchw", w, v)
            return (x + self.NIN_3(o)) / math.sqrt(2.0)

    class PyramidDown(nn.Module):
        # 2.2.7 conv-downsample: blur with pads (2, 2), 3x3 conv stride 2, no padding
        def __init__(self, cin, cout):
            super().__init__()
            self.Conv2d_0 = nn.Conv2d(cin, cout, 3, stride=2)

        def forward(self, x):
            return self.Conv2d_0(upfirdn(x, fir2d, 1, 1, 2, 2))

    class PixelNorm(nn.Module):
        def forward(self, z):
            return z / torch.sqrt(torch.mean(z * z, dim=1, keepdim=True) + 1e-8)

    class Generator(nn.Module):
        # 2.5 / 2.6 NCSNpp
        def __init__(self, c):
            super().__init__()
            nf, L, nrb = c["nf"], len(c["ch_mult"]), c["nrb"]
            tdim, zdim = 4 * nf, c["z_emb"]
            self.nf, self.L, self.nrb, self.attn = nf, L, nrb, c["attn"]
            layers = [PixelNorm(), nn.Linear(c["nz"], zdim), nn.SiLU()]
            for _ in range(c["n_mlp"]):
                layers += [nn.Linear(zdim, zdim), nn.SiLU()]
            self.z_transform = nn.Sequential(*layers)
            m = [nn.Linear(nf, tdim), nn.Linear(tdim, tdim), nn.Conv2d(c["c_img"], nf, 3, padding=1)]
            hs_c = [nf]
            cin, pyr_c, res = nf, c["c_img"], c["img"]
            for lvl in range(L):
                for _ in range(nrb):
                    cout = nf * c["ch_mult"][lvl]
                    m.append(ResBlock(cin, cout, tdim, zdim))
                    cin = cout
                    if res in self.attn:
                        m.append(Attn(cin))
                    hs_c.append(cin)
                if lvl != L - 1:
                    m.append(ResBlock(cin, cin, tdim, zdim, down=True))
                    m.append(PyramidDown(pyr_c, cin))
                    pyr_c = cin
                    hs_c.append(cin)
                    res //= 2
            m += [ResBlock(cin, cin, tdim, zdim), Attn(cin), ResBlock(cin, cin, tdim, zdim)]
            for lvl in reversed(range(L)):
                for _ in range(nrb + 1):
                    cout = nf * c["ch_mult"][lvl]
                    m.append(ResBlock(cin + hs_c.pop(), cout, tdim, zdim))
                    cin = cout
                if res in self.attn:
                    m.append(Attn(cin))
                if lvl != 0:
                    m.append(ResBlock(cin, cin, tdim, zdim, up=True))
                    res *= 2
            m += [nn.GroupNorm(groups(cin), cin, eps=1e-6), nn.Conv2d(cin, c["c_img"], 3, padding=1)]
            self.all_modules = nn.ModuleList(m)

        def forward(self, x, t, z):
            m = iter(self.all_modules)
            zemb = self.z_transform(z)
            temb = next(m)(timestep_embedding(t, self.nf))
            temb = next(m)(F.silu(temb))
            hs = [next(m)(x)]
            pyr = x
            for lvl in range(self.L):
                for _ in range(self.nrb):
                    h = next(m)(hs[-1], temb, zemb)
                    if h.shape[-1] in self.attn:
                        h = next(m)(h)
                    hs.append(h)
                if lvl != self.L - 1:
                    h = next(m)(hs[-1], temb, zemb)
                    pyr = next(m)(pyr)
                    pyr = (pyr + h) / math.sqrt(2.0)
                    hs.append(pyr)
            h = hs[-1]
            h = next(m)(h, temb, zemb)
            h = next(m)(h)
            h = next(m)(h, temb, zemb)
            for lvl in reversed(range(self.L)):
                for _ in range(self.nrb + 1):
                    h = next(m)(torch.cat([h, hs.pop()], dim=1), temb, zemb)
                if h.shape[-1] in self.attn:
                    h = next(m)(h)
                if lvl != 0:
                    h = next(m)(h, temb, zemb)
            h = F.silu(next(m)(h))
            return torch.tanh(next(m)(h))

    def lrelu(x):
        return F.leaky_relu(x, 0.2)

    class DownConvBlock(nn.Module):
        # 3.3
        def __init__(self, cin, cout, tdim, down):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
            self.dense_t1 = nn.Linear(tdim, cout)
            self.skip = nn.Conv2d(cin, cout, 1, bias=False)
            self.down = down

        def forward(self, x, temb):
            h = self.conv1(lrelu(x))
            h = lrelu(h + self.dense_t1(temb)[:, :, None, None])
            if self.down:
                h, x = fir_down(h), fir_down(x)
            return (self.conv2(h) + self.skip(x)) / math.sqrt(2.0)

    class Discriminator(nn.Module):
        # 3.4 Discriminator_small
        def __init__(self, c):
            super().__init__()
            ngf, e = c["ngf"], c["t_emb"]
            self.e = e
            self.dense_1, self.dense_2 = nn.Linear(e, e), nn.Linear(e, e)
            self.start_conv = nn.Conv2d(2 * c["c_img"], 2 * ngf, 1)
            self.conv1 = DownConvBlock(2 * ngf, 2 * ngf, e, False)
            self.conv2 = DownConvBlock(2 * ngf, 4 * ngf, e, True)
            self.conv3 = DownConvBlock(4 * ngf, 8 * ngf, e, True)
            self.conv4 = DownConvBlock(8 * ngf, 8 * ngf, e, True)
            self.final_conv = nn.Conv2d(8 * ngf + 1, 8 * ngf, 3, padding=1)
            self.end_linear = nn.Linear(8 * ngf, 1)

        def forward(self, x_prev, t, x_t):
            temb = lrelu(self.dense_2(lrelu(self.dense_1(timestep_embedding(t, self.e)))))
            h = self.start_conv(torch.cat([x_prev, x_t], dim=1))
            for blk in (self.conv1, self.conv2, self.conv3, self.conv4):
                h = blk(h, temb)
            # 3.6 minibatch std, group min(B, 4), strided groups
            b, c, hh, ww = h.shape
            g = min(b, 4)
            mm = b // g
            y = h.reshape(g, mm, c, hh, ww)
            y = torch.sqrt(((y - y.mean(0)) ** 2).mean(0) + 1e-8).mean(dim=(1, 2, 3))
            y = y.reshape(mm, 1, 1, 1).repeat(g, 1, hh, ww)
            h = lrelu(self.final_conv(torch.cat([h, y], dim=1)))
            return self.end_linear(h.sum(dim=(2, 3)))

    return Generator(cfg).to(device), Discriminator(cfg).to(device)


def schedule(device="cpu"):
    """Float32 coefficients of sections 1.3-1.5 for T = 4, on `device`."""
    import torch
    T, bmin, bmax = T_STEPS, 0.1, 20.0
    t = [(i / T) * (1 - 1e-3) + 1e-3 for i in range(T + 1)]
    abar = [math.exp(-0.5 * s * s * (bmax - bmin) - s * bmin) for s in t]
    betas = [1e-8] + [1 - abar[i] / abar[i - 1] for i in range(1, T + 1)]
    betas = torch.tensor(betas, dtype=torch.float32)
    a_s = torch.sqrt(1 - betas)
    a_s_cum = torch.cumprod(a_s, 0)
    sigmas_cum = torch.sqrt(1 - a_s_cum ** 2)
    pb = betas[1:]
    alphas = 1 - pb
    ac = torch.cumprod(alphas, 0)
    ac_prev = torch.cat([torch.ones(1), ac[:-1]])
    var = pb * (1 - ac_prev) / (1 - ac)
    sch = dict(a_s=a_s, sigmas=torch.sqrt(betas), a_s_cum=a_s_cum, sigmas_cum=sigmas_cum,
               coef1=pb * torch.sqrt(ac_prev) / (1 - ac),
               coef2=(1 - ac_prev) * torch.sqrt(alphas) / (1 - ac),
               logvar=torch.log(var.clamp(min=1e-20)))
    return {k: v.to(device) for k, v in sch.items()}


# --------------------------------------------------------------------------
# The workloads (shared with bench_torch_gpu.py): tensors are created on the
# device of the schedule's tensors

def _ex(v, t):
    return v[t][:, None, None, None]


def q_pairs(sch, x0, t):
    """Section 1.6: (x_t, x_{t+1}) for clean images x0 and integer steps t."""
    import torch
    eps_pair = torch.randn_like(x0)
    x_t = _ex(sch["a_s_cum"], t) * x0 + _ex(sch["sigmas_cum"], t) * torch.randn_like(x0)
    return x_t, _ex(sch["a_s"], t + 1) * x_t + _ex(sch["sigmas"], t + 1) * eps_pair


def posterior(sch, x0p, x_tp1, t):
    """Section 1.7: a draw of x_t given the predicted x_0 and x_{t+1}."""
    import torch
    mean = _ex(sch["coef1"], t) * x0p + _ex(sch["coef2"], t) * x_tp1
    noise = torch.randn_like(x_tp1)
    nz = (1 - (t == 0).float())[:, None, None, None]
    return mean + nz * torch.exp(0.5 * _ex(sch["logvar"], t)) * noise


def sample(G, sch, cfg, n):
    """The official sampler (sample_from_model): n images, T_STEPS generator
    evaluations, without autograd."""
    import torch
    dev = sch["a_s"].device
    with torch.no_grad():
        x = torch.randn(n, cfg["c_img"], cfg["img"], cfg["img"], device=dev)
        for i in reversed(range(T_STEPS)):
            t = torch.full((n,), i, dtype=torch.int64, device=dev)
            z = torch.randn(n, cfg["nz"], device=dev)
            x = posterior(sch, G(x, t, z), x, t)
    return x


def make_train_iteration(G, D, sch, cfg, B, detach=False):
    """A function iteration(r1) running one training iteration of the
    official loop (section 5.2) at batch B on fixed data, with Adam."""
    import torch
    import torch.nn.functional as F
    dev = sch["a_s"].device
    optD = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.9))
    optG = torch.optim.Adam(G.parameters(), lr=1.5e-4, betas=(0.5, 0.9))
    x0 = torch.rand(B, cfg["c_img"], cfg["img"], cfg["img"], device=dev) * 2 - 1

    def iteration(r1):
        # 5.2, statement by statement
        for p in D.parameters():
            p.requires_grad = True
        D.zero_grad()
        t = torch.randint(0, T_STEPS, (B,), device=dev)
        x_t, x_tp1 = q_pairs(sch, x0, t)
        x_t.requires_grad = True
        d_real = D(x_t, t, x_tp1.detach()).view(-1)
        err_real = F.softplus(-d_real).mean()
        err_real.backward(retain_graph=True)
        if r1:
            grad = torch.autograd.grad(outputs=d_real.sum(), inputs=x_t, create_graph=True)[0]
            penalty = (0.05 / 2) * grad.view(B, -1).norm(2, dim=1).pow(2).mean()
            penalty.backward()
        z = torch.randn(B, cfg["nz"], device=dev)
        x0p = G(x_tp1.detach(), t, z)
        if detach:
            x0p = x0p.detach()
        x_pos = posterior(sch, x0p, x_tp1, t)
        err_fake = F.softplus(D(x_pos, t, x_tp1.detach()).view(-1)).mean()
        err_fake.backward()
        optD.step()
        for p in D.parameters():
            p.requires_grad = False
        G.zero_grad()
        t = torch.randint(0, T_STEPS, (B,), device=dev)
        x_t, x_tp1 = q_pairs(sch, x0, t)
        z = torch.randn(B, cfg["nz"], device=dev)
        x0p = G(x_tp1.detach(), t, z)
        x_pos = posterior(sch, x0p, x_tp1, t)
        err_g = F.softplus(-D(x_pos, t, x_tp1.detach()).view(-1)).mean()
        err_g.backward()
        optG.step()

    return iteration


# --------------------------------------------------------------------------
# Child: one job

def child(args):
    import torch
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(1024)
    cfg = CONFIGS[args.child_config]
    G, D = build_models(cfg)
    sch = schedule()
    B = args.batch
    res = dict(g_params=sum(p.numel() for p in G.parameters()),
               d_params=sum(p.numel() for p in D.parameters()))

    if args.child_job == "serve1":
        # bench_train --serve-sample1's protocol (interleaved rounds)
        G.eval()
        for _ in range(args.sample_warmup):
            sample(G, sch, cfg, 1)
        print("READY", flush=True)
        for line in sys.stdin:
            n = int(line.strip() or 0)
            if n <= 0:
                break
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                sample(G, sch, cfg, 1)
                times.append(time.perf_counter() - t0)
            print(json.dumps({"times": times}), flush=True)
        return
    if args.child_job == "train":
        iteration = make_train_iteration(G, D, sch, cfg, B, args.detach)
        for r1, key in ((False, "step_s"), (True, "step_r1_s")):
            for _ in range(args.warmup):
                iteration(r1)
            times = []
            for _ in range(args.steps):
                t0 = time.perf_counter()
                iteration(r1)
                times.append(time.perf_counter() - t0)
            res[key] = statistics.median(times)
    else:
        G.eval()
        for n, key, reps, warm in ((1, "sample1_s", args.sample_reps, args.sample_warmup),
                                   (B, "sample_b_s", max(1, args.sample_reps // 4), min(args.warmup, 1))):
            for _ in range(warm):
                sample(G, sch, cfg, n)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                sample(G, sch, cfg, n)
                times.append(time.perf_counter() - t0)
            res[key] = statistics.median(times)
    import resource
    res["rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print("RESULT " + json.dumps(res), flush=True)


def run_child(args, config, job):
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["OMP_NUM_THREADS"] = str(args.threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--child-config", config, "--child-job", job,
           "--threads", str(args.threads), "--batch", str(args.batch), "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--sample-reps", str(args.sample_reps),
           "--sample-warmup", str(args.sample_warmup)]
    if args.detach:
        cmd.append("--detach")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    out, _ = p.communicate()
    # the child reports its own ru_maxrss (RUSAGE_CHILDREN would only give
    # the largest over all children)
    res = None
    for line in out.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
    if p.returncode != 0 or res is None:
        print(f"bench_torch: {config} {job} failed (exit {p.returncode})", file=sys.stderr)
        return None
    return res


def _serve_open(cmd, env):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    line = p.stdout.readline().strip()
    if line != "READY":
        p.kill()
        raise RuntimeError(f"{cmd[0]}: {line or 'no READY line'}")
    return p


def _serve_times(p, n):
    p.stdin.write(f"{n}\n")
    p.stdin.flush()
    o = json.loads(p.stdout.readline())
    if "times" not in o:
        raise RuntimeError(o.get("error", "no times"))
    return o["times"]


def interleaved_b1(args, bench, config, rounds, per_round):
    """Batch-1 sampling on both sides in alternating rounds (libddgan first
    in even rounds, PyTorch first in odd ones), each side a long-lived
    process that samples on request: the machine's batch-1 rate drifts by
    up to 1.7x between minutes, which the main table's measurements, minutes
    apart, cannot separate from the implementations. Returns per-round
    medians (seconds) of both sides, or None when a side fails."""
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["OMP_NUM_THREADS"] = str(args.threads)
    ours_cmd = [bench, "--serve-sample1", "--config", config, "--threads", str(args.threads),
                "--sample-warmup", str(args.sample_warmup)]
    torch_cmd = [sys.executable, os.path.abspath(__file__), "--child-config", config, "--child-job", "serve1",
                 "--threads", str(args.threads), "--sample-warmup", str(args.sample_warmup)]
    procs = []
    try:
        ours = _serve_open(ours_cmd, env)
        procs.append(ours)
        theirs = _serve_open(torch_cmd, env)
        procs.append(theirs)
        res = []
        for r in range(rounds):
            order = (ours, theirs) if r % 2 == 0 else (theirs, ours)
            med = {}
            for p in order:
                med[p is ours] = statistics.median(_serve_times(p, per_round))
            res.append((med[True], med[False]))
        return res
    except (RuntimeError, OSError, ValueError) as e:
        print(f"bench_torch: interleaved batch-1 rounds ({config}) failed: {e}", file=sys.stderr)
        return None
    finally:
        for p in procs:
            try:
                p.stdin.write("0\n")
                p.stdin.flush()
                p.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()


# --------------------------------------------------------------------------
# Parent

def fmt_rss(kib):
    if kib is None or kib < 0:
        return "-"
    return f"{kib / 1048576:.2f} GiB" if kib >= 1048576 else f"{kib / 1024:.0f} MiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", default=None, help="path of bench_train (default: build/bin/bench_train)")
    ap.add_argument("--config", default="all", choices=["all", "mnist", "cifar10"])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=None, help="timed iterations (default 5; PyTorch: 2)")
    ap.add_argument("--torch-steps", type=int, default=None, help="timed PyTorch iterations of each kind")
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--sample-reps", type=int, default=None, help="timed batch-1 sampling calls (default 16)")
    ap.add_argument("--sample-warmup", type=int, default=None,
                    help="untimed batch-1 sampling calls first (default 3; the training batch gets --warmup, at most 1)")
    ap.add_argument("--quick", action="store_true", help="1 iteration each, no warm-up: checks, not measurements")
    ap.add_argument("--detach", action="store_true", help="PyTorch: detach x0_pred in the D step (less work than the official loop)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="interleaved batch-1 sampling rounds per config (default 10; 0: none)")
    ap.add_argument("--round-calls", type=int, default=None, help="timed calls per side and round (default 8)")
    ap.add_argument("--skip-ddgan", action="store_true")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--child-config", help=argparse.SUPPRESS)
    ap.add_argument("--child-job", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child_config:
        args.steps = args.steps or 1
        args.warmup = args.warmup if args.warmup is not None else 0
        args.sample_reps = args.sample_reps or 1
        args.sample_warmup = args.sample_warmup if args.sample_warmup is not None else 0
        child(args)
        return 0

    steps = args.steps if args.steps is not None else (1 if args.quick else 5)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    reps = args.sample_reps if args.sample_reps is not None else (1 if args.quick else 16)
    swarm = args.sample_warmup if args.sample_warmup is not None else (0 if args.quick else 3)
    torch_steps = args.torch_steps if args.torch_steps is not None else (1 if args.quick else 2)

    ours = {}
    machine = {}
    if not args.skip_ddgan:
        bench = args.bench or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin",
                                           "bench_train")
        cmd = [bench, "--json", "--threads", str(args.threads), "--batch", str(args.batch), "--steps",
               str(steps), "--warmup", str(warmup), "--sample-reps", str(reps), "--sample-warmup", str(swarm),
               "--config", args.config]
        print("running: " + " ".join(cmd), file=sys.stderr, flush=True)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        for line in p.stdout.splitlines():
            o = json.loads(line)
            if o["type"] == "machine":
                machine = o
            elif o["type"] == "result":
                ours[(o["config"], o["backend"])] = o
        if p.returncode != 0:
            print(f"bench_torch: bench_train exited with {p.returncode}", file=sys.stderr)

    try:
        import torch  # the version line; the children import it too
    except ImportError:
        print(f"bench_torch: PyTorch is not importable from {sys.executable}; run this script with the "
              "Python that has PyTorch 1.13 (Debian: python3-torch, for the system python3)", file=sys.stderr)
        return 2
    theirs = {}
    if not args.skip_torch:
        targs = argparse.Namespace(**vars(args))
        targs.steps, targs.warmup, targs.sample_reps, targs.sample_warmup = torch_steps, warmup, reps, swarm
        for name in CONFIGS:
            if args.config not in ("all", name):
                continue
            for job in ("train", "sample"):
                print(f"running: PyTorch {name} {job}", file=sys.stderr, flush=True)
                t0 = time.time()
                r = run_child(targs, name, job)
                if r is not None:
                    theirs.setdefault(name, {}).update(r)
                    theirs[name]["rss_" + job] = r.get("rss_kib")
                print(f"  {time.time() - t0:.0f} s", file=sys.stderr, flush=True)

    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 10)
    per_round = args.round_calls if args.round_calls is not None else (1 if args.quick else 8)
    paired = {}
    if rounds > 0 and not args.skip_ddgan and not args.skip_torch:
        bench = args.bench or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin",
                                           "bench_train")
        pargs = argparse.Namespace(**vars(args))
        pargs.sample_warmup = swarm
        for name in CONFIGS:
            if args.config not in ("all", name):
                continue
            print(f"running: interleaved batch-1 sampling, {name}, {rounds} rounds of {per_round} calls",
                  file=sys.stderr, flush=True)
            t0 = time.time()
            r = interleaved_b1(pargs, bench, name, rounds, per_round)
            if r:
                paired[name] = r
            print(f"  {time.time() - t0:.0f} s", file=sys.stderr, flush=True)

    peak = machine.get("peak_gflops")
    print(f"machine: {machine.get('nproc', os.cpu_count())} CPUs, {machine.get('cpu', '?')}; "
          f"{args.threads} threads; measured FMA peak {peak if peak else '?'} GFLOP/s "
          f"({machine.get('fma_isa', '?')}); libddgan {machine.get('libddgan', '?')}; "
          f"PyTorch {torch.__version__}; batch {args.batch}")
    print(f"PyTorch loop: {'x0_pred detached in the D step' if args.detach else 'official (D step back-propagates through G)'}; "
          f"{'QUICK run: not a measurement' if args.quick else 'full run'}")
    print()
    print(f"| config | impl | train it/s | train it/s (R1) | GFLOP/s (no R1) | % of peak | sample img/s (b1) | "
          f"sample img/s (b{args.batch}) | peak RSS train | peak RSS sample |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    B = args.batch
    ratios = []
    for name in CONFIGS:
        if args.config not in ("all", name):
            continue
        rows = []
        for be in ("cpu", "ref"):
            o = ours.get((name, be))
            if o:
                def num(v):
                    return float("nan") if v is None else v
                rows.append((f"libddgan {be}", num(o["train_it_per_s"]), num(o["train_r1_it_per_s"]),
                             num(o["train_gflops"]), num(o["sample_b1_img_per_s"]), num(o["sample_b_img_per_s"]),
                             o["peak_rss_train_kib"], o["peak_rss_sample_kib"]))
        th = theirs.get(name)
        o = ours.get((name, "cpu")) or ours.get((name, "ref"))
        if th and "step_s" in th and "sample1_s" in th:
            fg = o["g_gflop_per_image"] if o else float("nan")
            fd = o["d_gflop_per_image"] if o else float("nan")
            gfl = B * (4 * fg + 9 * fd) / th["step_s"]
            rows.append(("PyTorch", 1 / th["step_s"], 1 / th["step_r1_s"], gfl, 1 / th["sample1_s"],
                         B / th["sample_b_s"], th.get("rss_train"), th.get("rss_sample")))
        for r in rows:
            pk = f"{100 * r[3] / peak:.0f}%" if peak and r[3] == r[3] else "-"
            print(f"| {name} | {r[0]} | {r[1]:.4g} | {r[2]:.4g} | {r[3]:.1f} | {pk} | {r[4]:.3g} | {r[5]:.3g} | "
                  f"{fmt_rss(r[6])} | {fmt_rss(r[7])} |")
        oc = ours.get((name, "cpu"))
        if oc and not (oc.get("train_ok") and oc.get("sample_ok")):
            oc = None  # a failed libddgan job: no ratios
        if oc and th and "step_s" in th and "sample1_s" in th:
            ratios.append((name, oc["train_it_per_s"] * th["step_s"], oc["train_r1_it_per_s"] * th["step_r1_s"],
                           oc["sample_b1_img_per_s"] * th["sample1_s"],
                           oc["sample_b_img_per_s"] * th["sample_b_s"] / B,
                           oc["peak_rss_train_kib"] / th["rss_train"] if th.get("rss_train") else float("nan")))
        if o and th:
            same = o["g_params"] == th["g_params"] and o["d_params"] == th["d_params"]
            print(f"<!-- {name}: parameters G {o['g_params']} / PyTorch {th['g_params']}, D {o['d_params']} / "
                  f"PyTorch {th['d_params']}: {'identical' if same else 'DIFFERENT'} -->")
    if ratios:
        print()
        print("| config | train speed-up | train speed-up (R1) | sampling speed-up b1 | "
              f"sampling speed-up b{B} | peak RSS train ratio |")
        print("|---|---|---|---|---|---|")
        for r in ratios:
            print(f"| {r[0]} | {r[1]:.2f}x | {r[2]:.2f}x | {r[3]:.2f}x | {r[4]:.2f}x | {r[5]:.2f} |")
        print()
        print("Targets (issue 5): training >= 3x (cifar10), >= 2x (mnist); sampling >= 3x at b1, >= 2x at b64; "
              "peak RSS <= 1/3 of PyTorch's.")
    if paired:
        print()
        print(f"Batch-1 sampling in interleaved rounds ({rounds} rounds of {per_round} calls per side, "
              "alternating which side goes first; per-round medians):")
        print()
        print("| config | libddgan img/s (median of rounds) | PyTorch img/s | speed-up (median of rounds) | "
              "speed-up min / max | per-round speed-ups |")
        print("|---|---|---|---|---|---|")
        for name, r in paired.items():
            sp = [t / o for o, t in r]
            print(f"| {name} | {1 / statistics.median(o for o, _ in r):.3g} | "
                  f"{1 / statistics.median(t for _, t in r):.3g} | {statistics.median(sp):.2f}x | "
                  f"{min(sp):.2f}x / {max(sp):.2f}x | {' '.join(f'{x:.2f}' for x in sp)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
