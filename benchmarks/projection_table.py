"""Projection of held-out images, per model: a table (JSON + markdown) and a figure per model.

    .venv/bin/python benchmarks/projection_table.py \\
        --checkpoint resources/demo --checkpoint runs/w16 --checkpoint runs/vae \\
        [--n 50] [--random 64] [--json docs/projection.json] [--figures docs/projection]

Makes ``--n`` Shapes images at each model's size with seed 1 (the Shapes runs train on seed 0,
so none of them was seen) and puts each into each model's latent space as
``python main.py project`` does with its defaults: a GAN by the optimiser (4 restarts, 100
steps, the run's eval classifier features), a VAE by its encoder (the latent mean, one forward
pass). Per model it reports the mean and median pixel MSE (0..1 scale) of the reconstructions,
the mean over images of the best of ``--random`` random samples (random z, random class: what
"looking through samples" would find), how often the projection beats that, and the seconds
per image on ``--threads`` threads (CPU seconds, which other work on the machine does not
inflate, and wall-clock seconds); for a conditional model, how often the projected class (the
largest of its class mix) is the image's true class.

With ``--figures PREFIX`` it writes ``PREFIX_<label>.png`` per model: a row per image (the
first ``--rows``) of original / reconstruction / the reconstruction moved along one of the
run's slider directions (``directions.pt`` beside the checkpoint: the one named ``--direction``
if there is one, else the first), by ``--amount`` (default: 3/4 of the direction's range),
4x nearest-neighbour. A model's label is its run folder's name, or ``LABEL=PATH``.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from explorer.core.directions.direction import (
    Direction,
    DirectionsError,
    directions_path,
    find_direction,
    load_directions,
)
from explorer.core.latent.projection import pixel_mse, project
from trainer.checkpoint import load_generator
from trainer.data.shapes import make_shapes
from trainer.images import make_grid, to_uint8, upscale_nearest

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--checkpoint", action="append", required=True, metavar="[LABEL=]PATH",
                help="a checkpoint or run folder; repeat for each model")
ap.add_argument("--n", type=int, default=50, help="held-out images (default 50)")
ap.add_argument("--random", type=int, default=64, help="random samples to beat (default 64)")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--json", default="docs/projection.json")
ap.add_argument("--figures", default="", metavar="PREFIX",
                help="write PREFIX_<label>.png per model (e.g. docs/projection)")
ap.add_argument("--rows", type=int, default=6, help="images in each figure (default 6)")
ap.add_argument("--direction", default="size", help="slider direction of the figures: a name, "
                "index or attribute, as `sample --edit` takes (default size; else the first)")
ap.add_argument("--amount", type=float, default=None,
                help="slider value of the edit (default: 3/4 of the direction's range)")
args = ap.parse_args()
torch.set_num_threads(args.threads)


def pick_direction(checkpoint: Path, z_dim: int) -> Direction | None:
    """The figure's slider direction, as ``sample --edit`` finds it (name, index, attribute)."""
    path = directions_path(checkpoint)
    if not path.is_file():
        return None
    dirs = load_directions(path, z_dim)
    try:
        return find_direction(dirs, args.direction)
    except DirectionsError:
        return dirs[0]


rows, models = [], []
for spec in args.checkpoint:
    label, _, path = spec.rpartition("=")
    m = load_generator(Path(path))
    label = label or (m.info.path.parent.name if m.info.path.name == "checkpoint.pt"
                      else m.info.path.stem)
    data = make_shapes(args.n, m.size, seed=1)
    imgs = data.images.permute(0, 2, 3, 1).numpy()  # uint8 (N, H, W, 3)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(args.random, m.z_dim, generator=g)
    y = None
    if m.n_classes:
        labels = torch.randint(m.n_classes, (args.random,), generator=g)
        y = torch.nn.functional.one_hot(labels, m.n_classes).float()
    with torch.no_grad():
        rand = to_uint8(m.generator(z, y)).numpy()
    errs, rnd, secs, cpu, projs, agree = [], [], [], [], [], []
    for i in range(args.n):
        t, c = time.perf_counter(), time.process_time()
        p = project(m, imgs[i])
        secs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        errs.append(p.error)
        rnd.append(min(pixel_mse(r, imgs[i]) for r in rand))
        if p.y is not None:  # the projected class (argmax of its class mix) is the true one
            agree.append(int(p.y.argmax()) == int(data.labels[i]))
        if i < args.rows:
            projs.append(p)
    cfg = m.info.config
    row = {
        "label": label, "checkpoint": str(m.info.path), "arch": cfg.model.arch,
        "width": cfg.model.width, "z_dim": m.z_dim, "step": m.info.step,
        "parameters_G": sum(t.numel() for t in m.generator.parameters()),
        "method": projs[0].method, "features": projs[0].features, "n": args.n,
        "projection_mse_mean": float(np.mean(errs)),
        "projection_mse_median": float(np.median(errs)),
        f"best_of_{args.random}_random_mse_mean": float(np.mean(rnd)),
        "projection_beats_random": int(sum(e < r for e, r in zip(errs, rnd, strict=True))),
        "class_agreement": float(np.mean(agree)) if agree else None,
        "seconds_per_image_mean": float(np.mean(secs)),
        "seconds_per_image_median": float(np.median(secs)),
        "cpu_seconds_per_image_mean": float(np.mean(cpu)),
    }
    rows.append(row)
    print(json.dumps(row), flush=True)
    d = pick_direction(m.info.path, m.z_dim)
    if args.figures:
        tiles = []
        amount = args.amount if args.amount is not None else (0.75 * d.range[1] if d else 0.0)
        for p in projs:
            zz = p.z + amount * d.vector if d is not None else p.z
            with torch.no_grad():
                e = to_uint8(m.generator(zz[None], None if p.y is None else p.y[None]))[0]
            tiles += [p.target, p.recon, e.numpy()]
        grid = Image.fromarray(upscale_nearest(make_grid(np.stack(tiles), cols=3, pad=2,
                                                         pad_value=255), 4))
        fig = Image.new("RGB", (grid.width, grid.height + 36), (255, 255, 255))
        fig.paste(grid, (0, 36))
        draw, font = ImageDraw.Draw(fig), ImageFont.load_default(size=12)
        draw.text((4, 2), f"{label} ({cfg.model.arch}, width {cfg.model.width})", fill=(0, 0, 0),
                  font=font)
        col = grid.width / 3
        edit = f"{d.name.split(' ')[0]} {amount:+.2f}" if d is not None else "no directions"
        for c, h in enumerate(("held-out image", "reconstruction", edit)):
            draw.text((c * col + 8, 19), h, fill=(70, 70, 70), font=font)
        out = Path(f"{args.figures}_{label}.png")
        fig.save(out)
        row["figure"] = {"path": str(out), "direction": d.name if d else None,
                         "amount": round(amount, 3)}
        print(f"wrote {out} (edit: {d.name if d else 'none'} {amount:+.2f})", flush=True)
    models.append(m)

result = {"images": f"Shapes seed 1, {args.n} images (held out: the runs trained on seed 0)",
          "random": args.random, "threads": torch.get_num_threads(), "models": rows}
Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
r = f"best of {args.random} random"
print(f"\n| model | arch, width | step | how | pixel MSE (mean / median) | {r} | "
      f"beats random | class right | CPU s / image | wall s / image |")
print("|---|---|---|---|---|---|---|---|---|---|")
for row in rows:
    ca = row["class_agreement"]
    agree_text = "" if ca is None else f"{100 * ca:.0f}%"
    how = "encoder" if row["method"] == "encoder" else f"optimiser ({row['features']})"
    print(f"| {row['label']} | {row['arch']}, {row['width']} | {row['step']} | {how} | "
          f"{row['projection_mse_mean']:.4f} / {row['projection_mse_median']:.4f} | "
          f"{row[f'best_of_{args.random}_random_mse_mean']:.4f} | "
          f"{row['projection_beats_random']}/{row['n']} | "
          f"{agree_text} | "
          f"{row['cpu_seconds_per_image_mean']:.3f} | {row['seconds_per_image_mean']:.3f} |")
print(f"\nwritten: {args.json}")
