"""Projecting real images into the bundled demo model: error against random samples, and time.

    .venv/bin/python benchmarks/projection_demo.py [--threads N] [--figure docs/projection_demo.png]

Makes 8 Shapes images at 32 px with seed 1 (the demo trained on seed 0, so none of them was seen),
projects each with the defaults of ``python main.py project`` (4 restarts, 100 steps, the run's
eval classifier features) and prints the pixel MSE (0..1 scale) of the reconstruction beside the
best of 64 random samples (random z, random class), and the seconds per image. With --figure it
writes original / reconstruction / "size" slider edit (+2.5) for the first 4 images.
"""
import argparse
import time

import numpy as np
import torch
from PIL import Image

from explorer.core.directions.direction import directions_path, load_directions
from explorer.core.latent.projection import pixel_mse, project
from trainer.checkpoint import load_generator
from trainer.data.shapes import make_shapes
from trainer.images import make_grid, to_uint8, upscale_nearest

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--figure", default="")
args = ap.parse_args()
torch.set_num_threads(args.threads)
m = load_generator("resources/demo/checkpoint.pt")
data = make_shapes(8, 32, seed=1)
imgs = data.images.permute(0, 2, 3, 1).numpy()
g = torch.Generator().manual_seed(0)
z = torch.randn(64, m.z_dim, generator=g)
labels = torch.randint(m.n_classes, (64,), generator=g)
y = torch.nn.functional.one_hot(labels, m.n_classes).float()
with torch.no_grad():
    rand = to_uint8(m.generator(z, y)).numpy()
errs, rnd, secs, projs = [], [], [], []
for i in range(8):
    t = time.perf_counter()
    p = project(m, imgs[i])
    secs.append(time.perf_counter() - t)
    errs.append(p.error)
    projs.append(p)
    rnd.append(min(pixel_mse(r, imgs[i]) for r in rand))
    print(f"img {i}: proj {p.error:.4f}  best-of-64 random {rnd[-1]:.4f}  {secs[-1]:.1f} s  "
          f"class {m.class_names[int(p.y.argmax())]} ({float(p.y.max()):.2f}) true "
          f"{m.class_names[int(data.labels[i])]}", flush=True)
print(f"MEAN proj {np.mean(errs):.4f}  best-of-64 random {np.mean(rnd):.4f}  "
      f"mean {np.mean(secs):.1f} s/image  {projs[0].features}, threads {torch.get_num_threads()}")
if not args.figure:
    raise SystemExit(0)
dirs = load_directions(directions_path("resources/demo/checkpoint.pt"), m.z_dim)
print("directions:", [d.name for d in dirs])
d = next((d for d in dirs if d.attribute == "size" or "size" in d.name), dirs[0])
print("edit:", d.name)
rows = []
for p in projs[:4]:
    with torch.no_grad():
        e = to_uint8(m.generator((p.z + 2.5 * d.vector)[None], p.y[None]))[0].numpy()
    rows += [p.target, p.recon, e]
grid = make_grid(np.stack(rows), cols=3, pad=2, pad_value=255)
Image.fromarray(upscale_nearest(grid, 4)).save(args.figure)
