#!/bin/bash
# Copy a finished Shapes run into a bundled demo folder (resources/demo64, the model the window
# opens on, or resources/demo, the 32 px one; see explorer/core/demo.py).
#
#   bash benchmarks/bundle_demo.sh RUN [SNAPSHOT [OUT [CLASSIFIER]]]
#
# RUN is a run folder of `python main.py train` whose directions were computed with the two
# `directions` commands in README ("The demo model was made with ..."), on SNAPSHOT if given.
# The bundle keeps SNAPSHOT (default: the final G_ema snapshot) as checkpoint.pt, the config,
# the log and one preview per 1000 steps up to the snapshot's step (so the Train view shows the
# run as far as the model the window explores, not the steps after it), the directions, the
# attribute model, and an eval classifier: CLASSIFIER, else the one already in OUT (so FDs stay
# comparable between successive demos: they depend on the classifier file), else the run's own.
set -euo pipefail
run=${1:?usage: bundle_demo.sh RUN [SNAPSHOT [OUT [CLASSIFIER]]]}
last=${2:-$(ls "$run"/snapshots/step_*.pt | sort | tail -1)}
out=${3:-resources/demo}
clf=${4:-}
[ -n "$clf" ] || { [ -f "$out/eval_classifier.pt" ] && clf=$out/eval_classifier.pt; } || clf=$run/eval_classifier.pt
[ -f "$clf" ] || { echo "error: no eval classifier: $clf is missing" >&2; exit 2; }
[ -f "$last" ] || { echo "error: $last is not a snapshot file" >&2; exit 2; }
for f in config.json log.jsonl directions.pt attribute_model.pt; do
  [ -f "$run/$f" ] || { echo "error: $run/$f is missing" >&2; exit 2; }
done
tmp=$(mktemp -d)
chmod 755 "$tmp"
cp "$last" "$tmp/checkpoint.pt"
step_of() { local b; b=$(basename "$1"); b=${b#step_}; echo $((10#${b%.*})); }  # step_0016000.pt -> 16000
step=$(step_of "$last")
cp "$run"/{config.json,directions.pt,attribute_model.pt} "$tmp/"
# log.jsonl lines start {"step": N, ...} in step order.
awk -F'[:,]' -v last="$step" '$2 + 0 <= last' "$run/log.jsonl" > "$tmp/log.jsonl"
cp "$clf" "$tmp/eval_classifier.pt"
mkdir "$tmp/previews"
for p in "$run"/previews/step_*000.png; do
  [ "$(step_of "$p")" -le "$step" ] && cp "$p" "$tmp/previews/"
done
rm -rf "$out.old"
[ -e "$out" ] && mv "$out" "$out.old"
mv "$tmp" "$out" && rm -rf "$out.old"
echo "bundled $(basename "$last") of $run into $out (log and previews up to step $step)"
