"""``python main.py eval``: sample quality of a checkpoint as JSON and a readable table.

    python main.py eval --checkpoint runs/shapes-32            newest checkpoint of a run
    python main.py eval --checkpoint runs/shapes-32 --over-steps --out eval.json
    python main.py sample --checkpoint runs/shapes-32/best     the snapshot marked best
    python main.py eval --checkpoint runs/shapes-32 --watch    each new snapshot while training
    python main.py eval --checkpoint runs/mine --held-out photos-unseen   against unseen images

The first eval of a run trains a small classifier on its real data and caches it in the run
folder (eval_classifier.pt); later evals reuse it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from explorer.cli.common import write_report
from trainer.config import DEVICES
from trainer.errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True,
                   help="checkpoint.pt, a snapshot, a run folder (its newest checkpoint), "
                        "or RUN/best")
    p.add_argument("--n", type=int, default=2000,
                   help="generated (and real) images per figure (default 2000)")
    p.add_argument("--out", type=Path, default=Path("eval.json"), help="JSON output path")
    p.add_argument("--over-steps", action="store_true",
                   help="also evaluate every snapshot in the run's snapshots/ (quality vs "
                        "step) and mark the best in RUN/best.json (--checkpoint RUN/best)")
    p.add_argument("--watch", action="store_true",
                   help="evaluate each snapshot as training writes it (run beside `train`, in "
                        "another shell), mark the best, and advise stopping after --patience "
                        "evaluations without gain; Ctrl-C ends it")
    p.add_argument("--patience", type=int, default=3,
                   help="with --watch: evaluations without a lower FD before advising to stop")
    p.add_argument("--poll", type=float, default=30.0,
                   help="with --watch: seconds between looks for a new snapshot (default 30)")
    p.add_argument("--stop-after-idle", type=float, default=None, metavar="SECONDS",
                   help="with --watch: end after this long without a new snapshot "
                        "(default: until Ctrl-C)")
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="auto (default) = cuda, else mps, else cpu")
    p.add_argument("--classifier-steps", type=int, default=500,
                   help="training steps of the eval classifier when it is not cached yet")
    p.add_argument("--retrain-classifier", action="store_true",
                   help="train the eval classifier again even if a cached one matches")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated samples")
    p.add_argument("--held-out", type=Path, default=None, metavar="FOLDER",
                   help="measure against this folder of images the model never trained on "
                        "(one sub-folder per class, named as the run's classes) instead of "
                        "its training images; memorisation is still checked against those")
    p.add_argument("--classifier", type=Path, default=None, metavar="FILE",
                   help="an eval_classifier.pt to measure in (e.g. another run's, to compare "
                        "runs in one feature space) instead of the run's own")


def run(args: argparse.Namespace) -> int:
    from explorer.core.latent.latent_math import check_seed
    from explorer.core.quality.evaluate import evaluate_checkpoint
    from trainer.device import resolve_device

    if args.n < 2 or args.classifier_steps < 1:
        print("error: --n must be >= 2 and --classifier-steps >= 1", file=sys.stderr)
        return 2
    if args.watch:
        return _watch(args)
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
            progress=lambda s: print(f"... {s}", file=sys.stderr, flush=True),
            reference=_reference(args))
    except (UserError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return write_report(args.out, result, format_table(result))


def _watch(args: argparse.Namespace) -> int:
    """``eval --watch``: one line per new snapshot, the JSON rewritten after each."""
    from explorer.core.quality.evaluate import summary_lines, watch_run
    from trainer.device import resolve_device
    from trainer.fileio import atomic_write_text

    if args.patience < 1 or args.poll <= 0:
        print("error: --patience must be >= 1 and --poll > 0", file=sys.stderr)
        return 2
    shown: dict[str, Any] = {"advice": None, "header": False}

    def on_row(row: dict[str, Any], r: dict[str, Any]) -> None:
        if not shown["header"]:
            print("\n".join(summary_lines({**r, "best": None})), flush=True)
            shown["header"] = True
        if "error" in row:
            print(f"{row['snapshot']}: {row['error']}", flush=True)
        else:
            best = " <- best" if (r.get("best") or {}).get("step") == row["step"] else ""
            print(f"step {row['step']:>8}  FD {row['fd']:9.3f}  precision "
                  f"{_pct(row.get('precision'))}  recall {_pct(row.get('recall'))}  accuracy "
                  f"{_pct(row.get('accuracy'))}  near-copies {_pct(row.get('near_copy_share'))}"
                  f"  hue dist. {_num(row.get('hue_distance'))}{best}", flush=True)
        if r["advice"] and r["advice"] != shown["advice"]:
            print(f"advice: {r['advice']}", flush=True)
        shown["advice"] = r["advice"]
        try:
            atomic_write_text(args.out, json.dumps(r, indent=2) + "\n")
        except OSError as e:
            print(f"warning: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)

    try:
        watch_run(args.checkpoint, args.n, resolve_device(args.device), args.classifier_steps,
                  args.patience, args.seed, args.poll, args.stop_after_idle,
                  progress=lambda s: print(f"... {s}", file=sys.stderr, flush=True),
                  on_row=on_row, reference=_reference(args))
    except (UserError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped watching", file=sys.stderr)
    if not shown["header"]:
        print("no snapshot to evaluate appeared in the run's snapshots/ folder", file=sys.stderr)
        return 1
    print(f"written: {args.out}")
    return 0


def _reference(args: argparse.Namespace) -> Any:
    from explorer.core.quality.evaluate import Reference

    return Reference(held_out=args.held_out, classifier=args.classifier)


def format_table(r: dict[str, Any]) -> str:
    from explorer.core.quality.colour import missing_hues_text
    from explorer.core.quality.evaluate import summary_lines

    lines = [f"checkpoint {r['checkpoint']}", *summary_lines(r), ""]
    head = (f"{'model':<6} {'FD':>9} {'precision':>9} {'recall':>9} {'accuracy':>9} "
            f"{'coverage':>9} {'copies':>7} {'nn ratio':>8} {'hue dist.':>9}  "
            "per-class accuracy / share")
    lines += [head, "-" * len(head)]
    for name, m in r["models"].items():
        per = m.get("per_class_accuracy") or m.get("predicted_share") or []
        mem = m.get("memorisation") or {}
        ratio = mem.get("median_ratio")
        lines.append(f"{name:<6} {m['fd']:>9.3f} {_pct(m.get('precision')):>9} "
                     f"{_pct(m.get('recall')):>9} {_pct(m.get('accuracy')):>9} "
                     f"{_pct(m.get('coverage')):>9} {_pct(mem.get('near_copy_share')):>7} "
                     f"{'-' if ratio is None else f'{ratio:.2f}':>8} "
                     f"{_num(m.get('hue_distance')):>9}  "
                     + " ".join("-" if p is None else f"{p:.2f}" for p in per))
    lines.append("copies: share of samples nearer a training image than 99% of real images; "
                 "nn ratio: their median distance to it over real images' (~1 = like the data)")
    if any("hue_shares" in m or "hue_note" in m for m in r["models"].values()):
        lines.append("hue dist.: how far the samples' colour mix is from the real images' "
                     "(0 = the same, 1 = no colour in common)")
    for name, m in r["models"].items():
        if m.get("hue_note"):
            lines.append(f"{name}: {m['hue_note']}")
        elif (gone := missing_hues_text(m.get("hue_shares") or {})):
            lines.append(f"{name} draws too little of (share of the real colour → of its "
                         f"samples'): {gone}")
    if r.get("over_steps"):
        best = (r.get("best") or {}).get("step")
        lines += ["", f"{'step':>8} {'FD':>9} {'precision':>9} {'recall':>9} {'accuracy':>9} "
                      f"{'coverage':>9} {'copies':>7} {'hue dist.':>9}"]
        for row in r["over_steps"]:
            if "error" in row:
                lines.append(f"{row['snapshot']}: {row['error']}")
                continue
            lines.append(f"{row['step']:>8} {row['fd']:>9.3f} {_pct(row.get('precision')):>9} "
                         f"{_pct(row.get('recall')):>9} {_pct(row.get('accuracy')):>9} "
                         f"{_pct(row.get('coverage')):>9} {_pct(row.get('near_copy_share')):>7} "
                         f"{_num(row.get('hue_distance')):>9}"
                         + ("  <- best" if row["step"] == best else ""))
    return "\n".join(lines)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"
