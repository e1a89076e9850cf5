"""``python main.py bench``: training throughput and rendering latency, as JSON and a table.

    python main.py bench                        all configs, short CPU defaults
    python main.py bench --config 128px --device cuda --steps 20 --profile ours_compiled
    python main.py bench --loops reference,ours_explicit,ours_bf16 --config 32px
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from explorer.cli.common import write_report
from trainer.config import DEVICES, PRECISIONS
from trainer.errors import UserError


def _budgets(text: str) -> list[float]:
    try:
        budgets = [float(b) for b in text.split(",") if b.strip()]
    except ValueError:
        budgets = []
    if not budgets or any(b <= 0 for b in budgets):
        raise argparse.ArgumentTypeError(f"seconds > 0, comma-separated (got {text!r})")
    return budgets


def _loops(text: str) -> list[str]:
    from explorer.core.bench.speed import LOOPS

    names = list(LOOPS) if text == "all" else [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in LOOPS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown loop(s) {', '.join(bad) or '(none)'}; "
                                         f"choose from {', '.join(LOOPS)} or 'all'")
    return names


def _presets(text: str) -> list[str]:
    from trainer.config import PRESETS

    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in PRESETS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown preset(s) {', '.join(bad) or '(none)'}; "
                                         f"choose from {', '.join(PRESETS)}")
    return names


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="auto (default) = cuda, else mps, else cpu")
    p.add_argument("--config", choices=("32px", "64px", "128px", "all"), default="all",
                   help="named config: 128px = the reference model (z 200, width 64, batch 128, "
                   "n_critic 5), 64px the same at 64 px, 32px the cpu-fast preset")
    p.add_argument("--steps", type=int, default=None,
                   help="timed generator steps per loop (default 2 on CPU, 20 on a GPU)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    p.add_argument("--batch", type=int, default=None,
                   help="batch size (default: the preset's; on CPU 32/8/4 for 32/64/128px)")
    p.add_argument("--size", type=int, default=None, help="override the image size (tests)")
    p.add_argument("--width", type=int, default=None, help="override the model width (tests)")
    p.add_argument("--loops", type=_loops, default=None,
                   help="comma-separated training loops to time, or 'all': reference (the course "
                   "notebook), ours_autograd, ours_explicit, ours_compiled, ours_bf16, "
                   "ours_compiled_bf16, ours_sngan (the SN-GAN recipe's step; default: all on "
                   "CUDA; reference, ours_autograd, ours_explicit, ours_sngan elsewhere, where "
                   "compiling gains nothing)")
    p.add_argument("--profile", choices=("ours_autograd", "ours_explicit", "ours_compiled",
                                         "ours_bf16", "ours_compiled_bf16", "ours_sngan"),
                   help="also profile this loop: the ops that take the most time per step")
    p.add_argument("--channels-last", action="store_true", help="CUDA only: channels-last models")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's choice; 1 is steadier on a busy "
                   "machine)")
    p.add_argument("--no-accuracy", action="store_true",
                   help="skip the gradient check of each loop's critic loss against float64")
    p.add_argument("--out", type=Path, default=Path("bench.json"), help="JSON output path")
    q = p.add_argument_group(
        "time to quality", "train each recipe and report the seconds of training it needs to "
        "reach 80/90/95%% class accuracy (instead of the speed figures)")
    q.add_argument("--time-to-quality", metavar="PRESETS", type=_presets,
                   help="comma-separated presets to compare, e.g. cpu-fast,sngan")
    q.add_argument("--budget", type=_budgets, default=[600.0], metavar="SECONDS",
                   help="seconds of training per run, or several, comma-separated (e.g. "
                        "120,600: one fresh run each; a recipe with lr decay plans its run to "
                        "end with the budget) (default 600)")
    q.add_argument("--eval-every", type=float, default=30,
                   help="seconds of training between evaluations (default 30)")
    q.add_argument("--n-eval", type=int, default=1000, help="samples per evaluation")
    q.add_argument("--stop-at", type=float, default=None,
                   help="stop a recipe once its class accuracy reaches this (e.g. 0.95)")
    q.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="train every recipe in this precision instead of its preset's (auto: "
                   "bf16 where the CPU has bf16 units, fp32 elsewhere)")
    q.add_argument("--dataset", choices=("shapes", "folder"), default="shapes")
    q.add_argument("--data-path", default="", help="image folder (with --dataset folder)")
    q.add_argument("--n-images", type=int, default=None, help="Shapes images (default 20000)")
    q.add_argument("--classifier-steps", type=int, default=500,
                   help="training steps of the eval classifier when one is trained (default 500)")
    q.add_argument("--classifier-from", type=Path, default=None, metavar="RUN",
                   help="a run folder whose eval classifier to use (and cache into); it must "
                   "be for the same data. Default: train one, not cached")


def run(args: argparse.Namespace) -> int:
    import torch

    from explorer.core.bench.speed import CONFIGS, run_bench
    from trainer.device import resolve_device

    try:
        device = resolve_device(args.device)
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name in ("steps", "warmup", "batch", "size", "width", "threads"):
        v = getattr(args, name)
        if v is not None and v < (0 if name == "warmup" else 1):
            print(f"error: --{name} must be positive", file=sys.stderr)
            return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.time_to_quality:
        return _run_time_to_quality(args, device)
    steps = args.steps or (2 if device.type == "cpu" else 20)
    names = list(CONFIGS) if args.config == "all" else [args.config]
    try:
        result = run_bench(names, device, steps, args.warmup, args.batch, args.size, args.width,
                           args.loops, args.channels_last,
                           render_repeats=11 if device.type == "cpu" else 20,
                           accuracy=not args.no_accuracy, profile=args.profile,
                           progress=lambda s: print(f"... {s}", file=sys.stderr, flush=True))
    except torch.OutOfMemoryError:
        print("error: out of GPU memory; lower --batch or pick a smaller --config",
              file=sys.stderr)
        return 1
    except ValueError as e:  # e.g. a config override out of range
        print(f"error: {e}", file=sys.stderr)
        return 2
    return write_report(args.out, result, format_table(result))


def _run_time_to_quality(args: argparse.Namespace, device: Any) -> int:
    from explorer.core.bench.speed import system_info
    from explorer.core.bench.time_to_quality import time_to_quality
    from explorer.core.quality.eval_classifier import classifier_for_run
    from explorer.core.quality.evaluate import real_set
    from trainer.config import DataConfig, RunConfig
    from trainer.data import in_memory, load_dataset

    def say(s: str) -> None:
        print(f"... {s}", file=sys.stderr, flush=True)

    try:
        data_cfg = DataConfig(dataset=args.dataset, path=args.data_path,
                              size=args.size or 32,
                              **({"n_images": args.n_images} if args.n_images else {}))
        data, _ = in_memory(load_dataset(data_cfg, device))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not data.class_names:
        print("error: time to quality measures class accuracy: the data needs classes",
              file=sys.stderr)
        return 2
    clf, note = classifier_for_run(args.classifier_from, data_cfg, data, args.classifier_steps,
                                   progress=say)
    say(f"eval classifier: {note}")
    real = real_set(data, clf, args.n_eval)
    base = RunConfig(data=data_cfg)
    if args.width:
        base = base.with_changes(model={"width": args.width})
    overrides = {"train": {"precision": args.precision}} if args.precision else None
    result = time_to_quality(args.time_to_quality, base, data, clf, real, args.budget,
                             args.eval_every, device, stop_at=args.stop_at,
                             overrides=overrides, progress=say)
    result["system"] = system_info(device)
    result["classifier"] = {"cache": note, "held_out": clf.held_out}
    lines = [f"{'recipe':<10} {'budget':>7} " + " ".join(f"{t:>8}" for t in result["thresholds"])
             + f" {'steps/s':>8} {'last acc':>9} {'last FD':>8} {'precision':>9}"]
    for r in result["recipes"]:
        cells = [("-" if v is None else f"{v['seconds']:.0f} s") for v in r["reached"].values()]
        last = r["curve"][-1]
        lines.append(f"{r['recipe']:<10} {r['budget_s']:>6.0f}s "
                     + " ".join(f"{c:>8}" for c in cells)
                     + f" {r['steps_per_s']:>8.1f} {last['accuracy'] or 0:>9.1%} "
                     f"{last['fd']:>8.1f} {r['precision']:>9}")
    return write_report(args.out, result, "\n".join(lines))


def format_table(result: dict[str, Any]) -> str:
    s = result["system"]
    lines = [f"device {s['device']} ({s.get('gpu') or s['cpu']}), torch {s['torch']}, "
             f"python {s['python']}, {s['torch_threads']} threads"]
    head = (f"{'config':<7} {'loop':<19} {'batch':>5} {'ms/step':>9} {'cpu ms':>9} "
            f"{'steps/s':>8} {'img/s':>8} {'peak MiB':>9} {'vs ref':>7} {'precision':>9}")
    lines += ["", "training (per generator step; img/s = real images through the critic; cpu ms = "
              "process CPU time)", head, "-" * len(head)]
    notes = []
    for name, c in result["configs"].items():
        for loop, r in c["train"].items():
            ratio = r.get("speedup_vs_reference")
            lines.append(f"{name:<7} {loop:<19} {c['model']['batch_size']:>5} "
                         f"{r['ms_per_gen_step']:>9.1f} {r['process_cpu_ms_per_gen_step']:>9.1f} "
                         f"{r['gen_steps_per_s']:>8.2f} "
                         f"{r['real_images_per_s']:>8.1f} {r['peak_memory_mib']:>9.0f} "
                         f"{'' if ratio is None else f'{ratio:.2f}x':>7} "
                         f"{r.get('precision', ''):>9}")
            notes += [f"{name} {loop}: {n}" for n in r.get("notes", [])]
    head = (f"{'config':<7} {'1 img ms':>9} {'64 img ms':>10} {'slider ms':>10} "
            f"{'GIF60 ms':>9}")
    lines += ["", "rendering (median)", head, "-" * len(head)]
    for name, c in result["configs"].items():
        r = c["render"]
        lines.append(f"{name:<7} {r['render_1_ms']:>9.2f} {r['render_64_ms']:>10.1f} "
                     f"{r['slider_ms']:>10.2f} {r['gif_60_frames_ms']:>9.0f}")
    errors = {name: c["gp_grad_rel_error_vs_fp64"] for name, c in result["configs"].items()
              if c.get("gp_grad_rel_error_vs_fp64")}
    if errors:
        lines += ["", "critic-loss gradient error against float64 (||g - g64|| / ||g64||)"]
        lines += [f"{name:<7} " + "  ".join(f"{k} {v:.1e}" for k, v in e.items())
                  for name, e in errors.items()]
    for name, c in result["configs"].items():
        prof = c.get("profile")
        if prof:
            lines += ["", f"profile {name} {prof['loop']} ({prof['step']}; {prof['time']}, "
                      f"{prof['total_ms_per_gen_step']:.1f} ms per generator step)"]
            lines += [f"  {o['percent']:5.1f}%  {o['ms_per_gen_step']:8.2f} ms  {o['op']}"
                      for o in prof["ops"]]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)
