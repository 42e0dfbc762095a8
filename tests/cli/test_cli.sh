#!/usr/bin/env bash
# The `ddgan` tool end to end (ctest `cli`): error paths (one line on stderr,
# exit 2 for usage errors and 1 for failures, never a crash), a short toy25
# run with its files, Ctrl-C then --resume giving exactly the uninterrupted
# run, sample/info/backends, and the DDPM baseline.
# usage: test_cli.sh <ddgan binary> <shared dir>
set -u
BIN=$1
SHARED=${2:-}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect RC CMD...: exit status RC; for failures exactly one stderr line
# starting with "ddgan:", and no crash (status >= 128 other than the 130 of
# an interrupt would be a signal).
expect() {
  local want=$1; shift
  "$@" >out.txt 2>err.txt
  local rc=$?
  if [ "$rc" != "$want" ]; then
    fail "'$*' exited $rc, expected $want"; sed 's/^/    /' err.txt | head -5; return
  fi
  if [ "$want" != 0 ] && ! grep -q '^ddgan: ' err.txt; then
    fail "'$*': no 'ddgan:' message on stderr"
  fi
  echo "ok ($rc): $*"
}

# ---- usage errors (2) and failures (1)
expect 2 "$BIN"
expect 2 "$BIN" frobnicate
expect 2 "$BIN" train
expect 2 "$BIN" train --preset nope
expect 2 "$BIN" train --preset toy25 --bogus 3
expect 2 "$BIN" train --preset toy25 --lr_g fast
expect 2 "$BIN" train --preset toy25 --ch_mult
expect 2 "$BIN" train --preset toy25 --steps
expect 2 "$BIN" train --preset toy25 --model gan
expect 2 "$BIN" train --preset mnist --exp m0 --steps 1
expect 1 "$BIN" train --preset mnist --data "$WORK/no-such-dir" --exp m1 --steps 1
expect 1 "$BIN" train --exp nothing-here --resume
expect 2 "$BIN" sample
expect 2 "$BIN" sample --ckpt x --n 0 --out a.png
expect 2 "$BIN" sample --ckpt x --n 4 --out a.jpg
expect 1 "$BIN" sample --ckpt "$WORK/missing.safetensors" --n 4 --out a.png
expect 2 "$BIN" info
expect 1 "$BIN" info "$WORK/missing.safetensors"
printf 'garbage, not safetensors' > junk.safetensors
expect 1 "$BIN" info junk.safetensors
expect 1 "$BIN" sample --ckpt junk.safetensors --n 4 --out a.png
expect 0 "$BIN" backends
grep -q '^ref ' out.txt || fail "backends does not list ref"
expect 0 "$BIN" --help
expect 0 "$BIN" train --help

# ---- a short toy25 run
expect 0 "$BIN" train --preset toy25 --batch_size 64 --steps 400 --log_every 100 --exp run1 --quiet
for f in checkpoint.safetensors log.jsonl samples.png; do
  [ -s "run1/$f" ] || fail "run1/$f missing"
done
[ "$(wc -l < run1/log.jsonl)" = 4 ] || fail "log.jsonl has $(wc -l < run1/log.jsonl) lines, expected 4"
for k in step err_d err_g lr_g lr_d sec_per_step; do
  grep -q "\"$k\": " run1/log.jsonl || fail "log.jsonl lacks $k"
done
head -c 8 run1/samples.png | od -An -tx1 | grep -q '89 50 4e 47' || fail "samples.png is not a PNG"
# an existing checkpoint is never overwritten without --resume
expect 2 "$BIN" train --preset toy25 --steps 400 --exp run1
# official flags override the preset; a changed network refuses to resume
expect 1 "$BIN" train --exp run1 --resume --steps 500 --hidden_dim 32
expect 0 "$BIN" info run1/checkpoint.safetensors
grep -q 'global step    400' out.txt || fail "info does not show step 400"
grep -q '24482 parameters' out.txt || fail "info does not show the G parameter count"

# ---- eval of the 2-D model: the table, JSON keys, the real-data floor
expect 0 "$BIN" eval --ckpt run1/checkpoint.safetensors --n 500
grep -q 'real data (floor): *modes 25/25' out.txt || fail "eval: no 25/25 floor: $(cat out.txt)"
expect 0 "$BIN" eval --ckpt run1/checkpoint.safetensors --n 500 --json
for k in modes hq_fraction reverse_kl sec_per_image floor; do
  grep -q "\"$k\": " out.txt || fail "eval --json lacks $k: $(cat out.txt)"
done
[ "$(wc -l < out.txt)" = 1 ] || fail "eval --json printed more than one line"
expect 2 "$BIN" eval
expect 2 "$BIN" eval --ckpt run1/checkpoint.safetensors --n 3
expect 1 "$BIN" eval --ckpt "$WORK/missing.safetensors"
expect 2 "$BIN" eval --ckpt run1/checkpoint.safetensors --dataset cifar10

# ---- sampling: .npy header and shape, determinism, scatter PNG
expect 0 "$BIN" sample --ckpt run1/checkpoint.safetensors --n 50 --out s1.npy --seed 5
expect 0 "$BIN" sample --ckpt run1/checkpoint.safetensors --n 50 --out s2.npy --seed 5
cmp -s s1.npy s2.npy || fail "same seed, different samples"
head -c 128 s1.npy | grep -aq "'shape': (50, 2)" || fail "s1.npy header: $(head -c 80 s1.npy | tr -d '\0')"
[ "$(stat -c %s s1.npy)" = $((128 + 50 * 2 * 4)) ] || fail "s1.npy has $(stat -c %s s1.npy) bytes"
expect 0 "$BIN" sample --ckpt run1/checkpoint.safetensors --n 50 --out s3.npy --seed 5 --no-ema
cmp -s s1.npy s3.npy && fail "--no-ema gave the EMA samples"
expect 0 "$BIN" sample --ckpt run1/checkpoint.safetensors --n 300 --out s.png
expect 2 "$BIN" sample --ckpt run1/checkpoint.safetensors --n 5 --out s.png --steps 7

# ---- Ctrl-C, then --resume: the same model as an uninterrupted run
"$BIN" train --preset toy25 --batch_size 64 --steps 1200 --exp cut --quiet >/dev/null 2>err.txt &
pid=$!
for _ in $(seq 1 100); do [ -s cut/log.jsonl ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
rc=$?
if [ $rc = 130 ]; then
  grep -q 'interrupted at step' err.txt || fail "no interrupt message"
  [ -s cut/checkpoint.safetensors ] || fail "no checkpoint after Ctrl-C"
  expect 0 "$BIN" train --exp cut --resume --quiet
elif [ $rc = 0 ]; then
  echo "note: the run finished before the interrupt; resume not exercised"
else
  fail "interrupted run exited $rc: $(tail -5 err.txt)"
fi
expect 0 "$BIN" train --preset toy25 --batch_size 64 --steps 1200 --exp whole --quiet
"$BIN" sample --ckpt cut/checkpoint.safetensors --n 64 --out cut.npy >/dev/null
"$BIN" sample --ckpt whole/checkpoint.safetensors --n 64 --out whole.npy >/dev/null
cmp -s cut.npy whole.npy || fail "interrupted + resumed run differs from the uninterrupted one"
expect 0 "$BIN" train --exp cut --resume --steps 1200
grep -q 'nothing to train' out.txt || fail "resume at the target step should do nothing"

# ---- the DDPM baseline on the same data
expect 0 "$BIN" train --preset toy25 --batch_size 64 --model ddpm --steps 200 --exp ddpm --quiet
expect 0 "$BIN" sample --ckpt ddpm/checkpoint.safetensors --n 20 --out d.npy --steps 10
grep -q '10 DDPM steps' out.txt || fail "DDPM sampling did not use 10 steps: $(cat out.txt)"

if [ $fails != 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all CLI checks passed"
