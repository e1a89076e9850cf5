#!/usr/bin/env bash
# The GPU measurements of the training-speed work (README, "How a training step runs"), each part sized for one ≤10-minute call on
# a lent GPU machine, whose python3 has torch, numpy, pillow and tqdm but no Qt (none needed).
#
#   bash benchmarks/gpu_checks.sh bench-128     # 128 px: every loop vs the notebook + profile
#   bash benchmarks/gpu_checks.sh bench-small   # 64 px and 32 px, the same
#   bash benchmarks/gpu_checks.sh train-compare # eager / compiled / bf16 runs, then eval each
#
# Results go to $OUT (default gpu_out/): per part one .log and its JSON files, at most 8 files
# (what the device tool brings back); run folders go to $RUNS. On a CPU, a smoke test:
#   DEVICE=cpu SMOKE=1 bash benchmarks/gpu_checks.sh all
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-gpu_out}
RUNS=${RUNS:-/tmp/latent-lab-gpu-runs}
SIZE=${SIZE:-64}          # train-compare image size
STEPS=${STEPS:-2000}      # train-compare steps per run
BENCH_STEPS=${BENCH_STEPS:-20}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
tiny=()
if [[ -n "${SMOKE:-}" ]]; then  # the same commands on toy sizes, to check the script
    tiny=(--size 8 --width 4 --batch 4)
    SIZE=16 STEPS=20 BENCH_STEPS=1
fi

bench() {  # bench NAME CONFIG
    "$PY" main.py bench --device "$DEVICE" --config "$2" --loops all --profile ours_compiled \
        --steps "$BENCH_STEPS" "${tiny[@]}" --out "$OUT/bench_$1.json" 2>&1 \
        | tee -a "$OUT/bench.log"
}

train_compare() {
    # The same run three ways (reference preset, seed 0): eager fp32 is the baseline; the faster
    # variants should reach the same eval figures after the same number of steps.
    for v in eager:off:fp32 compiled:on:fp32 bf16:on:bf16; do
        IFS=: read -r name compile precision <<< "$v"
        rm -rf "${RUNS:?}/$name"
        # The progress bar's carriage returns become lines; one line per 10% is kept.
        "$PY" main.py train --device "$DEVICE" --size "$SIZE" --steps "$STEPS" \
            --compile "$compile" --precision "$precision" --preview-every 500 \
            --checkpoint-every 500 --out "$RUNS/$name" 2>&1 | tr '\r' '\n' \
            | grep -v '^ *$' | awk '!/%\|/ || /[0-9]0%\|/' | tee -a "$OUT/train_compare.log"
        "$PY" main.py eval --checkpoint "$RUNS/$name" --device "$DEVICE" --over-steps \
            --out "$OUT/eval_$name.json" 2>&1 | tee -a "$OUT/train_compare.log"
    done
}

case "${1:-}" in
    bench-128) bench 128px 128px ;;
    bench-small) bench 64px 64px; bench 32px 32px ;;
    train-compare) train_compare ;;
    all) bench 128px 128px; bench 64px 64px; bench 32px 32px; train_compare ;;
    *) echo "usage: $0 bench-128 | bench-small | train-compare | all" >&2; exit 2 ;;
esac
