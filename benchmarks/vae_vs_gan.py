"""A VAE's encoder against the GAN's projection: reconstruction error and time on held-out images.

    .venv/bin/python benchmarks/vae_vs_gan.py --vae runs/vae-shapes32 [--gan resources/demo]
        [--n 200] [--refine-n 50] [--json docs/vae_vs_gan.json]
        [--figure docs/vae_projection.png] [--samples docs/vae_samples.png]

Makes ``--n`` Shapes images at the models' size with seed 1 (both trained on seed 0, so none of
them was seen) and puts each into each model's latent space as ``python main.py project`` does
with its defaults: the VAE by its encoder (the latent mean, one forward pass), the GAN by the
optimiser (4 restarts, 100 steps, the run's eval classifier features). The first ``--refine-n``
images are also projected by the VAE's encoder refined with the optimiser (``--refine``).
Reports the pixel MSE (0..1 scale) of each reconstruction and the seconds per image, one
thread. The GAN's projections are slow (seconds each), so they are cached in
``runs/vae_vs_gan_cache.pt`` keyed by the GAN checkpoint and the images: a rerun reuses them.

The figure: originals / VAE reconstructions / GAN projections for the first 12 images (4x
nearest-neighbour); the samples: the VAE's decoder on seeded noise, a row per class.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explorer.core.latent.projection import project
from trainer.checkpoint import LoadedModel, load_generator
from trainer.data.shapes import make_shapes
from trainer.images import make_grid, to_uint8, upscale_nearest

ap = argparse.ArgumentParser()
ap.add_argument("--vae", required=True)
ap.add_argument("--gan", default="resources/demo/checkpoint.pt")
ap.add_argument("--n", type=int, default=200)
ap.add_argument("--refine-n", type=int, default=50)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--json", default="")
ap.add_argument("--figure", default="")
ap.add_argument("--samples", default="")
ap.add_argument("--cache", default="runs/vae_vs_gan_cache.pt")
args = ap.parse_args()
torch.set_num_threads(args.threads)

vae = load_generator(args.vae)
gan = load_generator(args.gan)
assert vae.size == gan.size and vae.class_names == gan.class_names
data = make_shapes(args.n, vae.size, seed=1)
imgs = data.images.permute(0, 2, 3, 1).numpy()
true = [vae.class_names[int(c)] for c in data.labels]


def run(model: LoadedModel, n: int, **kw: object) -> dict:
    errs, secs, recons, classes = [], [], [], []
    for i in range(n):
        t = time.perf_counter()
        p = project(model, imgs[i], **kw)
        secs.append(time.perf_counter() - t)
        errs.append(p.error)
        recons.append(p.recon)
        classes.append(model.class_names[int(p.y.argmax())] if p.y is not None else "")
        if i % 20 == 0:
            print(f"  {i}/{n}: error {p.error:.4f}, {secs[-1]:.3f} s, {p.method}", flush=True)
    return {"errors": errs, "seconds": secs, "recons": np.stack(recons), "classes": classes,
            "method": p.method, "features": p.features}


def summary(r: dict) -> dict:
    e, s = np.asarray(r["errors"]), np.asarray(r["seconds"])
    acc = float(np.mean([a == b for a, b in zip(r["classes"], true, strict=False)]))
    return {"n": len(e), "pixel_mse_mean": float(e.mean()), "pixel_mse_median": float(np.median(e)),
            "seconds_per_image_mean": float(s.mean()), "seconds_per_image_median":
            float(np.median(s)), "class_agreement": acc, "method": r["method"],
            "features": r["features"]}


print(f"VAE {args.vae}: encoder on {args.n} held-out images")
enc = run(vae, args.n)
print(f"VAE: encoder refined by the optimiser on the first {args.refine_n}")
ref = run(vae, args.refine_n, refine=True)

key = f"{Path(args.gan).resolve()}:{args.n}:{vae.size}"
cache = Path(args.cache)
gp = None
if cache.is_file():
    c = torch.load(cache, weights_only=False)
    gp = c["result"] if c.get("key") == key else None
if gp is None:
    print(f"GAN {args.gan}: optimiser on {args.n} held-out images (slow)")
    gp = run(gan, args.n)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"key": key, "result": gp}, cache)
else:
    print(f"GAN projections from the cache {cache}")

out = {"held_out": f"{args.n} Shapes images, {vae.size} px, seed 1 (training used seed 0)",
       "threads": torch.get_num_threads(),
       "vae": {"checkpoint": str(args.vae), "step": vae.step, "encoder": summary(enc),
               "encoder_refined": summary(ref),
               "encoder_on_refined_subset": summary({**enc, **{
                   k: enc[k][:args.refine_n] for k in ("errors", "seconds", "classes")}})},
       "gan": {"checkpoint": str(args.gan), "step": gan.step, "projection": summary(gp)}}
print(json.dumps(out, indent=2))
if args.json:
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")

if args.figure:
    k = 12
    rows = np.concatenate([imgs[:k], enc["recons"][:k], gp["recons"][:k]])
    grid = make_grid(rows, cols=k, pad=2, pad_value=255)
    Image.fromarray(upscale_nearest(grid, 4)).save(args.figure)
if args.samples:
    g = torch.Generator().manual_seed(0)
    n_cls = max(vae.n_classes, 1)
    z = torch.randn(n_cls * 10, vae.z_dim, generator=g)
    y = (torch.nn.functional.one_hot(torch.arange(n_cls).repeat_interleave(10), n_cls).float()
         if vae.n_classes else None)
    with torch.no_grad():
        tiles = to_uint8(vae.generator(z, y)).numpy()
    Image.fromarray(upscale_nearest(make_grid(tiles, cols=10, pad=2, pad_value=255), 3)).save(
        args.samples)
