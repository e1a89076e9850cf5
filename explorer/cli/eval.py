"""``python main.py eval``: sample quality of a checkpoint as JSON and a readable table.

    python main.py eval --checkpoint runs/shapes-32            newest checkpoint of a run
    python main.py eval --checkpoint runs/shapes-32 --over-steps --out eval.json

The first eval of a run trains a small classifier on its real data and caches it in the run
folder (eval_classifier.pt); later evals reuse it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from explorer.cli.common import write_report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True,
                   help="checkpoint.pt, a snapshot, or a run folder (its newest checkpoint)")
    p.add_argument("--n", type=int, default=2000,
                   help="generated (and real) images per figure (default 2000)")
    p.add_argument("--out", type=Path, default=Path("eval.json"), help="JSON output path")
    p.add_argument("--over-steps", action="store_true",
                   help="also evaluate every snapshot in the run's snapshots/ (quality vs step)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--classifier-steps", type=int, default=500,
                   help="training steps of the eval classifier when it is not cached yet")
    p.add_argument("--retrain-classifier", action="store_true",
                   help="train the eval classifier again even if a cached one matches")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated samples")


def run(args: argparse.Namespace) -> int:
    from explorer.core.latent import check_seed
    from explorer.core.quality import QualityError, evaluate_checkpoint
    from trainer.checkpoint import CheckpointError
    from trainer.gan import resolve_device

    if args.n < 2 or args.classifier_steps < 1:
        print("error: --n must be >= 2 and --classifier-steps >= 1", file=sys.stderr)
        return 2
    try:
        check_seed(args.seed, "--seed")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        device = resolve_device(args.device)
        result = evaluate_checkpoint(
            args.checkpoint, args.n, device, args.classifier_steps, args.retrain_classifier,
            args.over_steps, args.seed,
            progress=lambda s: print(f"... {s}", file=sys.stderr, flush=True))
    except (QualityError, CheckpointError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return write_report(args.out, result, format_table(result))


def format_table(r: dict[str, Any]) -> str:
    from explorer.core.quality import summary_lines

    lines = [f"checkpoint {r['checkpoint']}", *summary_lines(r), ""]
    head = f"{'model':<6} {'FD':>9} {'accuracy':>9} {'coverage':>9}  per-class accuracy / share"
    lines += [head, "-" * len(head)]
    for name, m in r["models"].items():
        per = m.get("per_class_accuracy") or m.get("predicted_share") or []
        lines.append(f"{name:<6} {m['fd']:>9.3f} {_pct(m.get('accuracy')):>9} "
                     f"{_pct(m.get('coverage')):>9}  "
                     + " ".join("-" if p is None else f"{p:.2f}" for p in per))
    if r.get("over_steps"):
        lines += ["", f"{'step':>8} {'FD':>9} {'accuracy':>9} {'coverage':>9}"]
        for row in r["over_steps"]:
            if "error" in row:
                lines.append(f"{row['snapshot']}: {row['error']}")
                continue
            lines.append(f"{row['step']:>8} {row['fd']:>9.3f} {_pct(row.get('accuracy')):>9} "
                         f"{_pct(row.get('coverage')):>9}")
    return "\n".join(lines)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"
