#!/usr/bin/env bash
# The seed experiment (issue [7/9], docs/results.md): the three corners of
# the generative trilemma on MNIST with the same network (the small CPU
# config) and the same wall-clock training budget:
#   DDGAN T = 4        (4 generator calls per sample)
#   DDPM               (the same network as an eps-predictor, sampled with 200 steps)
#   DDGAN T = 1        (a plain conditional GAN: one step)
# Each model is trained on one thread with `ddgan train --max_cpu_seconds
# BUDGET` (CPU time: other load on the machine does not change the budget;
# on an idle machine it is the wall time), scored with
# `ddgan eval --json` (the same classifier, real-data floors) and drawn as a
# grid. Writes OUT/results.md (and the grids, JSON and logs beside it).
#
#   scripts/seed-experiment.sh [--budget SECONDS] [--data DIR] [--out DIR] [--n N] [--backend B]
#                              [--threads N] [--no-ema]
# --no-ema scores the training weights (an EMA with decay 0.999 still sits
# near the initial weights after a few hundred steps).
# n (default 256) is the number of samples scored per model: DDPM needs 200
# network calls per sample, so its evaluation dominates the run time.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=1800
threads=1
ema=()
data=../shared/data/mnist-10k
out=runs/seed-experiment
n=256
backend=auto
while [ $# -gt 0 ]; do
  case $1 in
    --budget) budget=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-ema) ema=(--no-ema); shift ;;
    *) echo "seed-experiment.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bin=${DDGAN_BIN:-build/bin/ddgan}
[ -x "$bin" ] || { echo "seed-experiment.sh: build first (cmake -S . -B build && cmake --build build -j)" >&2; exit 1; }
[ -d "$data" ] || { echo "seed-experiment.sh: no data folder $data (--data DIR)" >&2; exit 1; }
mkdir -p "$out"

# constant learning rates: a wall-clock budget has no known end for a cosine schedule
common=(--preset mnist --data "$data" --steps 1000000 --max_cpu_seconds "$budget" --backend "$backend"
        --threads "$threads"
        --no_lr_decay --sample_every 0 --save_every 100 --quiet)
run() { # name, extra flags...
  local name=$1; shift
  if [ -s "$out/$name/checkpoint.safetensors" ]; then
    echo "== $name: already trained (delete $out/$name to retrain)"
  else
    echo "== $name: training for $budget s"
    "$bin" train "${common[@]}" --exp "$out/$name" "$@"
  fi
}
run ddgan-t4
run ddpm --model ddpm --ddpm_timesteps 1000
run ddgan-t1 --num_timesteps 1

# one classifier for all three (trained once, about a minute on "cpu")
cls=$out/classifier.safetensors
for name in ddgan-t4 ddpm ddgan-t1; do
  steps=()
  [ $name = ddpm ] && steps=(--steps 200)
  [ -s "$cls" ] && [ ! -e "$out/$name/classifier.safetensors" ] && cp "$cls" "$out/$name/"
  if [ -s "$out/$name.json" ] && [ "$out/$name.json" -nt "$out/$name/checkpoint.safetensors" ] &&
     [ -s "$out/$name.png" ]; then
    echo "== $name: already evaluated ($out/$name.json)"
    continue
  fi
  echo "== $name: eval (n = $n)"
  "$bin" eval --ckpt "$out/$name/checkpoint.safetensors" --n "$n" --backend "$backend" --threads "$threads" --json "${steps[@]}" "${ema[@]}" \
    > "$out/$name.json"
  [ -s "$cls" ] || cp "$out/$name/classifier.safetensors" "$cls"
  "$bin" sample --ckpt "$out/$name/checkpoint.safetensors" --n 64 --seed 1 --backend "$backend" --threads "$threads" \
    --out "$out/$name.png" "${steps[@]}" "${ema[@]}" > /dev/null
done

python3 - "$out" "$budget" <<'PY'
import json, sys, os
out, budget = sys.argv[1], float(sys.argv[2])
rows = []
for name, label, calls in [("ddgan-t4", "DDGAN, T = 4", "4"), ("ddpm", "DDPM, 200 of 1000 steps", "200"),
                           ("ddgan-t1", "DDGAN, T = 1 (plain GAN)", "1")]:
    r = json.load(open(os.path.join(out, name + ".json")))
    steps = "?"
    for line in open(os.path.join(out, name, "log.jsonl")):
        steps = json.loads(line)["step"]
    rows.append((label, calls, steps, r))
f = rows[0][3]["floor"]
with open(os.path.join(out, "results.md"), "w") as md:
    md.write("| model | network calls per sample | training steps in %.0f CPU s | classes covered | KL | Frechet | precision | recall | s per image |\n" % budget)
    md.write("|---|---|---|---|---|---|---|---|---|\n")
    for label, calls, steps, r in rows:
        md.write("| %s | %s | %s | %d/%d | %.4f | %.2f | %.3f | %.3f | %.4g |\n" % (
            label, calls, steps, r["modes"], r["num_modes"], r["kl"], r["frechet"], r["precision"], r["recall"],
            r["sec_per_image"]))
    md.write("| real data (floor) | | | %d/10 | %.4f | %.2f | %.3f | %.3f | |\n" % (
        f["modes"], f["kl"], f["frechet"], f["precision"], f["recall"]))
print(open(os.path.join(out, "results.md")).read())
PY
echo "grids: $out/ddgan-t4.png $out/ddpm.png $out/ddgan-t1.png"
