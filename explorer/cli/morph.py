"""``python main.py morph``: a two-point morph to an animated GIF (or a PNG strip), headless.

    python main.py morph --checkpoint runs/shapes-32 --a 3 --b 11 --frames 48 --fps 24 \\
        --ping-pong --scale 4 --out morph.gif
    python main.py morph --checkpoint runs/shapes-32 --a 3 --b 3 --class-a circle \\
        --class-b star --frames 8 --out circle_to_star.png      # same z, class blend, strip
    python main.py morph --checkpoint runs/shapes-32 --a-latent me.pt --b-latent you.pt \
        --frames 32 --out me_to_you.gif                         # between two projected images

Spherical interpolation (--slerp, the default) keeps intermediate z at a typical norm; --lerp
cuts straight through, where the midpoint's norm is too small and samples look washed out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explorer.cli.common import UsageError, add_common, check_range, fail, load_renderer
from explorer.core.latent.export import check_output_path, save_morph
from explorer.core.latent.latent_math import check_seed, one_hot, truncate
from explorer.core.latent.morph import (
    MAX_FRAMES,
    MIN_FRAMES,
    Endpoint,
    endpoint_from_seed,
    morph_latents,
)
from explorer.core.latent.projection import load_latent
from explorer.core.latent.render import ModelInfo
from explorer.core.latent.sampling import render_chunked, resolve_class
from trainer.errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--a", type=int, default=0, metavar="SEED", help="seed of A (default 0)")
    p.add_argument("--b", type=int, default=1, metavar="SEED", help="seed of B (default 1)")
    p.add_argument("--a-latent", type=Path, metavar="FILE",
                   help="A is this saved latent (recon.pt from `project`) instead of a seed")
    p.add_argument("--b-latent", type=Path, metavar="FILE",
                   help="B is this saved latent instead of a seed")
    p.add_argument("--class-a", metavar="C", help="class of A (name or index; default the first)")
    p.add_argument("--class-b", metavar="C", help="class of B (default: the class of A)")
    p.add_argument("--frames", type=int, default=24,
                   help=f"frames from A to B inclusive, {MIN_FRAMES}..{MAX_FRAMES} (default 24)")
    p.add_argument("--fps", type=float, default=12, help="frames per second, 1..50 (default 12)")
    interp = p.add_mutually_exclusive_group()
    interp.add_argument("--slerp", dest="spherical", action="store_true", default=True,
                        help="spherical interpolation (default)")
    interp.add_argument("--lerp", dest="spherical", action="store_false",
                        help="linear interpolation")
    p.add_argument("--ping-pong", action="store_true", help="go A -> B -> A (loops smoothly)")
    p.add_argument("--pad", type=int, default=2, metavar="P", help="pixels between strip frames")
    p.add_argument("--out", type=Path, default=Path("morph.gif"),
                   help="morph.gif (animation) or morph.png (strip of frames)")


def run(args: argparse.Namespace) -> int:
    try:
        check_range("--frames", args.frames, MIN_FRAMES, MAX_FRAMES)
        check_seed(args.a, "--a")
        check_seed(args.b, "--b")
        check_range("--fps", args.fps, 1, 50)
        check_range("--truncation", args.truncation, 0.01, 1.0)
        check_range("--scale", args.scale, 1, 32)
        check_range("--pad", args.pad, 0, 256)
        out = check_output_path(args.out, (".gif", ".png"))
        renderer = load_renderer(args.checkpoint, args.device)
        info = renderer.info
        ca = cb = None
        if info.conditional:
            ca = resolve_class(args.class_a, info.class_names) if args.class_a else 0
            cb = resolve_class(args.class_b, info.class_names) if args.class_b else ca
        elif args.class_a or args.class_b:
            raise UsageError("this model is unconditional: --class-a/--class-b need a "
                             "class-conditional model")
        a = endpoint_from_seed(args.a, info.z_dim, args.truncation, ca, info.n_classes)
        b = endpoint_from_seed(args.b, info.z_dim, args.truncation, cb, info.n_classes)
        if args.a_latent is not None:
            a = _latent_endpoint(args.a_latent, info, args.truncation, args.class_a)
        if args.b_latent is not None:
            b = _latent_endpoint(args.b_latent, info, args.truncation, args.class_b)
        z, y = morph_latents(a, b, args.frames, args.spherical, args.ping_pong)
    except (UserError, ValueError) as e:
        return fail(str(e), 2)
    try:
        frames = render_chunked(renderer.render, z, y)
        save_morph(frames, out, args.fps, args.scale, args.pad)
    except (UserError, RuntimeError) as e:
        return fail(str(e).splitlines()[0], 1)
    print(f"wrote {out} ({len(frames)} frames)", file=sys.stderr)
    return 0


def _latent_endpoint(path: Path, info: ModelInfo, truncation: float,
                     class_: str | None) -> Endpoint:
    """An endpoint from a saved latent: its own class vector unless a class is given."""
    z, y = load_latent(path, info.z_dim, info.n_classes)
    if y is not None and class_:
        y = one_hot([resolve_class(class_, info.class_names)], info.n_classes)[0]
    return Endpoint(truncate(z, truncation), y)
