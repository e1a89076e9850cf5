"""Try recipe variants at a fixed number of steps: one variant per process.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recipe_sweep.py --name lr5e-4 \
        --set train.lr=5e-4 --set train.lr_critic=5e-4 [--preset sngan] [--steps 1700] \
        [--eval-at 850,1700] [--n-eval 1000] [--out runs/sweep.jsonl]

Each variant is the preset with ``--set section.field=value`` changes (values parsed as JSON,
else taken as text), trained fresh for ``--steps`` steps (a decaying recipe decays over its
final steps, as a user's run of that length does) on Shapes, G_ema evaluated at each step of
``--eval-at`` with the bundled demo's eval classifier (class accuracy, FD, precision, recall).
Steps rather than seconds, so that variants run side by side on a shared machine compare on
what they learn; the CPU seconds per step (one thread) are recorded beside, which other load
barely moves. Appends one JSON line per variant to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from explorer.core.quality.eval_classifier import classifier_for_run  # noqa: E402
from explorer.core.quality.evaluate import evaluate_generator, real_set  # noqa: E402
from trainer.config import DataConfig, RunConfig, apply_preset  # noqa: E402
from trainer.data import in_memory, load_dataset  # noqa: E402
from trainer.gan import GAN  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def parse_set(items: list[str]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for item in items:
        key, _, text = item.partition("=")
        section, _, field = key.partition(".")
        try:
            value: object = json.loads(text)
        except json.JSONDecodeError:
            value = text
        if isinstance(value, list):
            value = tuple(value)
        out.setdefault(section, {})[field] = value
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--preset", default="sngan")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    ap.add_argument("--steps", type=int, default=1700)
    ap.add_argument("--eval-at", default="")
    ap.add_argument("--n-eval", type=int, default=1000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/sweep.jsonl"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    eval_at = sorted({int(s) for s in args.eval_at.split(",") if s} | {args.steps})
    data_cfg = DataConfig(dataset="shapes", size=args.size)
    data, _ = in_memory(load_dataset(data_cfg, torch.device("cpu")))
    clf, _ = classifier_for_run(DEMO if args.size == 32 else None, data_cfg, data)
    real = real_set(data, clf, args.n_eval)
    cfg = apply_preset(RunConfig(data=data_cfg), args.preset)
    for section, changes in parse_set(args.set).items():
        cfg = cfg.with_changes(**{section: changes})
    cfg = cfg.with_changes(train={"steps": args.steps, "seed": args.seed})
    n_classes = len(data.class_names) if cfg.model.conditional else 0
    gan = GAN(cfg, data.size, data.channels, n_classes, torch.device("cpu"), n_images=len(data))
    curve = []
    cpu = wall = 0.0
    for stop in eval_at:
        c0, t0 = time.process_time(), time.perf_counter()
        while gan.step < stop:
            gan.train_step(data)
        cpu += time.process_time() - c0
        wall += time.perf_counter() - t0
        fig = evaluate_generator(gan.G_ema, clf, real, cfg.model.z_dim, bool(n_classes))
        point = {"step": gan.step, "cpu_s": round(cpu, 1), "wall_s": round(wall, 1),
                 "accuracy": fig.get("accuracy"), "fd": round(fig["fd"], 1),
                 "precision": fig.get("precision"), "recall": fig.get("recall"),
                 "hue_distance": fig.get("hue_distance"),
                 "per_class": fig.get("per_class_accuracy")}
        curve.append(point)
        torch.save(gan.G_ema.state_dict(), args.out.parent / f"sweep_{args.name}_{gan.step}.pt")
        print(f"[{args.name}] step {gan.step}: {cpu / gan.step * 1000:.0f} cpu ms/step, "
              f"accuracy {point['accuracy']:.1%}, FD {point['fd']:.0f}, "
              f"P {point['precision']}, R {point['recall']}, hue {point['hue_distance']}",
              flush=True)
    line = {"name": args.name, "preset": args.preset, "set": args.set, "steps": args.steps,
            "seed": args.seed, "cpu_ms_per_step": round(cpu / gan.step * 1000, 1),
            "curve": curve}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        f.write(json.dumps(line) + "\n")
    torch.save(gan.G_ema.state_dict(), args.out.parent / f"sweep_{args.name}.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
