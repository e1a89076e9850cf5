"""``python main.py project``: find the latent point whose sample reproduces your image, headless.

    python main.py project --checkpoint runs/shapes-32 --image photo.png --out recon.png
    python main.py project --checkpoint runs/shapes-32 --image star.png --class star \\
        --restarts 8 --steps 300 --out star.png

Writes the reconstruction at the model's size (``--scale`` to enlarge) and the projected latent
beside it (``recon.pt``), which ``sample --latent`` (``--edit``/``--sweep`` to move it along a
slider) and ``morph --a-latent/--b-latent`` accept. ``--target`` also writes what was matched:
the image cropped, its transparency filled and resized, as the model sees it.
A VAE's encoder answers at once (its latent mean); ``--refine`` runs the optimiser from there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from explorer.cli.common import UsageError, check_range, fail
from explorer.core.jobs import Cancelled
from explorer.core.latent.export import check_output_path, save_grid_png
from explorer.core.latent.projection import FEATURES, project_file, save_latent
from explorer.core.latent.sampling import resolve_class
from trainer.checkpoint import CheckpointError, load_generator
from trainer.errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path, metavar="PATH",
                   help="checkpoint file or run folder")
    p.add_argument("--image", required=True, type=Path, metavar="IMG",
                   help="the image to project (PNG, JPEG, ...; cropped to a square, resized)")
    p.add_argument("--class", dest="class_", metavar="C",
                   help="conditional models: keep this class (name or index) instead of "
                        "searching a soft class mix")
    p.add_argument("--refine", action="store_true",
                   help="VAE only: refine the encoder's answer with the optimiser (slower; "
                        "default: the encoder alone, instant)")
    p.add_argument("--restarts", type=int, default=4, help="random restarts, run as one batch "
                   "(default 4)")
    p.add_argument("--steps", type=int, default=100, help="optimisation steps (default 100)")
    p.add_argument("--feature", choices=FEATURES, default="auto",
                   help="feature loss: the run's eval classifier, its critic (full GAN "
                        "checkpoints only), none (pixels only), or auto: the first available "
                        "(default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random starts (default 0)")
    p.add_argument("--scale", type=int, default=1, metavar="K",
                   help="upscale the PNG K times, nearest neighbour (default 1)")
    p.add_argument("--out", type=Path, default=Path("recon.png"),
                   help="reconstruction PNG (default recon.png); the latent goes to the same "
                        "name with .pt")
    p.add_argument("--target", type=Path, metavar="PNG",
                   help="also write what was matched: your image as the model sees it "
                        "(cropped to a square, transparency filled, at the model's size)")


def run(args: argparse.Namespace) -> int:
    try:
        check_range("--restarts", args.restarts, 1, 256)
        check_range("--steps", args.steps, 0, 100000)
        check_range("--scale", args.scale, 1, 32)
        out = check_output_path(args.out, (".png",))
        target = None if args.target is None else check_output_path(args.target, (".png",))
        if target is not None and target.resolve() == out.resolve():
            raise UsageError("--target must differ from --out")
        try:
            model = load_generator(args.checkpoint)
        except CheckpointError as e:
            raise UsageError(str(e)) from None
        if args.refine and model.encoder is None:
            raise UsageError("--refine refines a VAE's encoder: this model has no encoder "
                             "(a GAN is always projected by the optimiser)")
        cls = None
        if args.class_ is not None:
            if not model.n_classes:
                raise UsageError("this model is unconditional: --class needs a "
                                 "class-conditional model")
            cls = resolve_class(args.class_, model.class_names)
        t0 = time.monotonic()
        last = [0.0]

        def progress(fraction: float, text: str) -> None:
            now = time.monotonic()
            if now - last[0] > 1.0 or fraction >= 1.0:
                last[0] = now
                print(f"\r{100 * fraction:5.1f}%  {text}".ljust(70), end="", file=sys.stderr,
                      flush=True)

        p = project_file(model, args.image, cls=cls, restarts=args.restarts, steps=args.steps,
                         feature=args.feature, progress=progress, seed=args.seed,
                         refine=args.refine)
        print(file=sys.stderr)
    except (UserError, ValueError) as e:
        return fail(str(e), 2)
    except (Cancelled, KeyboardInterrupt):
        return fail("cancelled", 130)
    latent = out.with_suffix(".pt")
    try:
        save_grid_png(p.recon[None], out, 1, 0, args.scale)
        save_latent(latent, p, model.class_names if model.n_classes else ())
        if target is not None:
            save_grid_png(p.target[None], target, 1, 0, args.scale)
    except UserError as e:
        return fail(str(e), 1)
    for note in p.notes:
        print(f"note: {note}", file=sys.stderr)
    cls_text = ""
    if p.y is not None:
        k = int(p.y.argmax())
        cls_text = f", class {model.class_names[k]} ({float(p.y[k]):.2f})"
    how = "the encoder (instant)" if p.method == "encoder" else f"{p.method}, {p.features}"
    also = "" if target is None else f" (what was matched: {target})"
    print(f"wrote {out} and {latent}{also}: pixel error {p.error:.4f} (best of the random starts "
          f"{p.random_error:.4f}), {how}{cls_text}, "
          f"{time.monotonic() - t0:.2f} s",
          file=sys.stderr)
    return 0
