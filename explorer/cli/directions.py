"""``python main.py directions``: compute latent feature directions headless and save them
beside the checkpoint (``directions.pt``), optionally measuring them on Shapes. No Qt.

    python main.py directions --checkpoint runs/shapes-32 --method all --project-out all --measure
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from explorer.core.directions.compute import METHODS, ComputeOptions, compute_directions
from explorer.core.directions.direction import (
    Direction,
    DirectionsError,
    directions_path,
    directions_save_path,
    load_directions,
    save_directions,
)
from explorer.core.jobs import Cancelled
from trainer.checkpoint import load_generator
from trainer.config import DEVICES
from trainer.device import resolve_device
from trainer.errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path,
                   help="checkpoint file, snapshot, or run folder")
    p.add_argument("--method", default="sefa",
                   help=f"{', '.join(METHODS)}, all, or a comma list (default: sefa)")
    p.add_argument("--k", type=int, default=8, help="directions per unsupervised method (8)")
    p.add_argument("--n", type=int, default=3000,
                   help="generated samples for GANSpace / supervised fits (3000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--project-out", nargs="+", default=[], metavar="ATTR",
                   help="attributes to project out of every direction (conditional "
                   "manipulation), e.g. hue,background, or 'all' for all other attributes")
    p.add_argument("--orthogonalize", action="store_true",
                   help="Gram-Schmidt the final set, in order")
    p.add_argument("--naming", choices=("auto", "train", "off"), default="auto",
                   help="name unsupervised directions after the attribute they move most: auto "
                   "(if an attribute model exists or is trained anyway), train, off")
    p.add_argument("--attribute-steps", type=int, default=1000,
                   help="training steps of the attribute model when it is not cached (1000)")
    p.add_argument("--measure", action="store_true",
                   help="measure control and leakage from pixels (Shapes models only)")
    p.add_argument("--measure-n", type=int, default=200, help="samples per direction (200)")
    p.add_argument("--out", type=Path, help="output file (default: directions.pt in the run "
                   "folder)")
    p.add_argument("--append", action="store_true",
                   help="keep the directions already in the output file and add these after "
                   "them (e.g. supervised with --project-out, then raw SeFa)")
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="auto (default) = cuda, else mps, else cpu")


def _methods(text: str) -> tuple[str, ...]:
    parts = [m.strip().lower() for m in text.split(",") if m.strip()]
    if parts == ["all"]:
        return METHODS
    return tuple(parts)


def _progress(fraction: float, what: str, state: dict) -> None:
    if what != state.get("what"):  # one line per stage: readable in logs and terminals alike
        state["what"] = what
        print(f"[{fraction:4.0%}] {what}", file=sys.stderr, flush=True)


def direction_table(dirs: list[Direction]) -> str:
    rows = [(str(i), d.name, d.source, f"{d.range[0]:+.1f}..{d.range[1]:+.1f}",
             d.attribute or "-") for i, d in enumerate(dirs)]
    head = ("#", "name", "source", "range", "attribute")
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*r) for r in rows])


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
    except OSError as e:
        print(f"error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
    except RuntimeError as e:  # e.g. a device that is not available
        print(f"error: {str(e).splitlines()[0] if str(e) else 'runtime error'}", file=sys.stderr)
    except (KeyboardInterrupt, Cancelled):
        print("cancelled", file=sys.stderr)
        return 130
    return 1


def _run(args: argparse.Namespace) -> int:
    if not 1 <= args.measure_n <= 100_000:
        raise DirectionsError(f"--measure-n must be in [1, 100000] (got {args.measure_n})")
    device = resolve_device(args.device)
    project = [a.strip() for arg in args.project_out for a in arg.split(",") if a.strip()]
    opts = ComputeOptions(methods=_methods(args.method), k=args.k, n=args.n, seed=args.seed,
                          project_out=project, orthogonalize=args.orthogonalize,
                          naming=args.naming, attribute_steps=args.attribute_steps,
                          device=str(device))
    model = load_generator(args.checkpoint, device)
    state: dict = {}
    notes: list[str] = []
    dirs = compute_directions(model, opts, progress=lambda f, s: _progress(f, s, state),
                              notes=notes)
    for note in notes:
        print(f"note: {note}")
    out = args.out or directions_save_path(args.checkpoint)
    src = args.out or directions_path(args.checkpoint)  # a saved copy of the demo's, say
    if args.append and Path(src).is_file():
        kept = load_directions(src, z_dim=model.config.model.z_dim)
        print(f"note: kept the {len(kept)} directions already in {src}")
        dirs = kept + dirs
    save_directions(out, dirs)
    print(direction_table(dirs))
    if args.measure:
        if model.config.data.dataset != "shapes":
            print("note: --measure needs a model trained on Shapes (known factors); skipped",
                  file=sys.stderr)
        else:
            from explorer.core.directions.measure import format_table, measure_directions

            print(f"[    ] measuring {len(dirs)} directions from pixels", file=sys.stderr)
            with torch.inference_mode():
                rows = measure_directions(model.generator, dirs, n=args.measure_n,
                                          seed=args.seed + 1)
            print()
            print(format_table(rows, markdown=False))
    print(f"\nsaved {len(dirs)} directions to {out}")
    return 0
