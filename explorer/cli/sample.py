"""``python main.py sample``: render a grid of samples to a PNG, headless.

    python main.py sample --checkpoint runs/shapes-32 --seed 7 --n 16 --out grid.png
    python main.py sample --checkpoint runs/shapes-32 --class circle --scale 4 --out circles.png
    python main.py sample --checkpoint runs/shapes-32 --per-class --n 8 --out classes.png
    python main.py sample --checkpoint runs/shapes-32 --latent recon.pt --scale 4 --out me.png
    python main.py sample --checkpoint runs/shapes-32 --latent recon.pt --edit size=2.5 --out b.png
    python main.py sample --checkpoint runs/shapes-32 --latent recon.pt --sweep size --n 7 \
        --out sweep.png

Sample i of a grid with seed S has its own seed S + i (so the Generate view's "Copy seed" gives a
seed that re-makes that sample); with --per-class, column c uses seed S + c in every row.

``--edit NAME=A`` moves every tile by A along a slider direction of the run (``directions.pt``
beside the checkpoint, as the Control view shows them; ``--directions FILE`` for another), as
that slider at A would; ``--sweep NAME`` renders the first tile (or the latent) at ``--n``
values across the direction's slider range, one row. NAME is a direction's name, its index, or
an attribute it moves ("size" finds "size ⊥ 4 others").
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import torch

from explorer.cli.common import UsageError, add_common, check_range, fail, load_renderer
from explorer.core.directions.direction import (
    Direction,
    directions_path,
    find_direction,
    load_directions,
    offset,
)
from explorer.core.latent.export import check_output_path, save_grid_png
from explorer.core.latent.latent_math import check_seed, one_hot, truncate
from explorer.core.latent.projection import load_latent
from explorer.core.latent.render import ModelInfo
from explorer.core.latent.sampling import (
    MAX_SAMPLES,
    ONE_CLASS,
    PER_CLASS,
    RANDOM,
    GridLatents,
    GridSpec,
    grid_latents,
    render_chunked,
    resolve_class,
)
from trainer.errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the first sample (default 0)")
    p.add_argument("--n", type=int, default=16,
                   help="number of samples; with --per-class, samples per class (default 16)")
    cls = p.add_mutually_exclusive_group()
    cls.add_argument("--class", dest="class_", metavar="C",
                     help="conditional models: every sample of this class (name or index)")
    cls.add_argument("--per-class", action="store_true",
                     help="conditional models: one row per class, the same z in each column")
    p.add_argument("--cols", type=int, help="columns (default: as square as possible)")
    p.add_argument("--pad", type=int, default=2, metavar="P", help="pixels between tiles")
    p.add_argument("--latent", type=Path, metavar="FILE",
                   help="render this saved latent (recon.pt from `project`) instead of seeds; "
                        "--class overrides its class")
    p.add_argument("--edit", action="append", default=[], metavar="NAME=A",
                   help="move every tile by A along the slider direction NAME (its name, index "
                        "or attribute, e.g. size=2.5); repeat for several sliders")
    p.add_argument("--sweep", metavar="NAME",
                   help="one row: the first tile (or --latent) at --n values across the slider "
                        "range of direction NAME")
    p.add_argument("--directions", type=Path, metavar="FILE",
                   help="directions file for --edit/--sweep (default: the run's directions.pt)")
    p.add_argument("--out", type=Path, default=Path("grid.png"), help="PNG file (default grid.png)")


def run(args: argparse.Namespace) -> int:
    try:
        check_range("--n", args.n, 1, MAX_SAMPLES)
        check_seed(args.seed, "--seed")
        check_range("--truncation", args.truncation, 0.01, 1.0)
        check_range("--scale", args.scale, 1, 32)
        check_range("--pad", args.pad, 0, 256)
        if args.cols is not None:
            check_range("--cols", args.cols, 1, MAX_SAMPLES)
        out = check_output_path(args.out, (".png",))
        renderer = load_renderer(args.checkpoint, args.device)
        info = renderer.info
        mode, index = RANDOM, 0
        if (args.class_ is not None or args.per_class) and not info.conditional:
            raise UsageError("this model is unconditional: --class and --per-class need a "
                             "class-conditional model")
        if args.class_ is not None:
            mode, index = ONE_CLASS, resolve_class(args.class_, info.class_names)
        elif args.per_class:
            mode = PER_CLASS
        spec = GridSpec(args.seed, args.n, args.truncation, mode, index, args.cols)
        lat = grid_latents(spec, info.z_dim, info.class_names)
        if args.latent is not None:
            lat = _latent_grid(args.latent, info, args.truncation, args.class_)
        edits, sweep = _edits(args, info.z_dim)
        if edits:
            lat = replace(lat, z=lat.z + offset([d for d, _ in edits], [a for _, a in edits]))
        if sweep is not None:
            lat = _sweep_row(lat, sweep, args.n)
    except (UserError, ValueError) as e:
        return fail(str(e), 2)
    try:
        images = render_chunked(renderer.render, lat.z, lat.y)
        save_grid_png(images, out, lat.cols, args.pad, args.scale)
    except (UserError, RuntimeError) as e:
        return fail(str(e).splitlines()[0], 1)
    what = (f"the latent {args.latent.name}" if args.latent is not None
            else f"seed {lat.seeds[0]}" if sweep is not None
            else f"{len(images)} samples, seeds {min(lat.seeds)}..{max(lat.seeds)}")
    if edits:
        what += ", " + ", ".join(f"{d.name} {a:+.2f}" for d, a in edits)
    if sweep is not None:
        lo, hi = sweep.range
        what += f", {len(images)} steps along {sweep.name} {lo:+.2f}..{hi:+.2f}"
    print(f"wrote {out} ({what})", file=sys.stderr)
    return 0


def _latent_grid(path: Path, info: ModelInfo, truncation: float,
                 class_: str | None) -> GridLatents:
    """A one-tile grid of a saved latent (its class, or --class)."""
    z, y = load_latent(path, info.z_dim, info.n_classes)
    label = None
    if y is not None and class_ is not None:
        label = resolve_class(class_, info.class_names)
        y = one_hot([label], info.n_classes)[0]
    return GridLatents(truncate(z[None], truncation), None if y is None else y[None], [0],
                       None if label is None else [label], 1)


def _edits(args: argparse.Namespace, z_dim: int
           ) -> tuple[list[tuple[Direction, float]], Direction | None]:
    """The --edit (direction, amount) pairs and the --sweep direction, from the run's file."""
    if not args.edit and args.sweep is None:
        return [], None
    if args.sweep is not None and args.per_class:
        raise UsageError("--sweep renders one row: it cannot be combined with --per-class")
    path = args.directions or directions_path(args.checkpoint)
    if not Path(path).is_file():
        raise UsageError(f"--edit and --sweep need slider directions, and {path} does not exist: "
                         f"compute them with `python main.py directions --checkpoint "
                         f"{args.checkpoint}` (or give --directions FILE)")
    dirs = load_directions(path, z_dim)
    edits = []
    for e in args.edit:
        name, eq, amount = e.rpartition("=")
        try:
            a = float(amount)
        except ValueError:
            a = float("nan")
        if not eq or not name.strip() or not -100 <= a <= 100:
            raise UsageError(f"--edit takes NAME=AMOUNT with an amount between -100 and 100, "
                             f"e.g. size=2.5 (got '{e}')")
        edits.append((find_direction(dirs, name), a))
    return edits, None if args.sweep is None else find_direction(dirs, args.sweep)


def _sweep_row(lat: GridLatents, d: Direction, n: int) -> GridLatents:
    """n tiles of the first latent, along ``d`` from its range's low to its high end."""
    a = torch.linspace(d.range[0], d.range[1], n) if n > 1 else torch.zeros(1)
    z = lat.z[:1] + a[:, None] * d.vector
    y = None if lat.y is None else lat.y[:1].expand(n, -1).clone()
    labels = None if lat.labels is None else lat.labels[:1] * n
    return GridLatents(z, y, lat.seeds[:1] * n, labels, n)
