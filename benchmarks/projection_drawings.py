"""Images that are not from the training set, through the real command line, per model.

    .venv/bin/python benchmarks/projection_drawings.py \\
        --checkpoint gan-w32-demo=resources/demo --checkpoint vae-w32=runs/vae \\
        [--photo some.jpg] [--work runs/drawings] [--out docs/projection_drawings]

Draws two pictures with PIL that no Shapes run has seen: a wobbly hand-drawn-looking blob
filled in orange with a darker outline on a transparent background (100x80 RGBA: not square,
with alpha), and a wobbly triangle on a textured blue-grey gradient (90x90 RGB), plus
``--photo`` if given (a real photograph). For each model it runs, as a user would:

    main.py project --checkpoint CKPT --image IMG --out WORK/LABEL/NAME.png   (and NAME.pt)
    main.py project ... --target WORK/LABEL/NAME_target.png  (what the model is asked to match)
    main.py sample  --checkpoint CKPT --latent NAME.pt --sweep DIRECTION --n 5 --out ..._sweep.png
    main.py morph   --checkpoint CKPT --a-latent blob.pt --b-latent triangle.pt --ping-pong \\
        --out OUT_morph_LABEL.gif

and writes ``OUT.png``: per model and image, a row of the image as drawn, what was matched
(the model's size), the reconstruction, then the slider sweep (the direction's range, 5 steps);
and ``OUT_morph_LABEL.gif`` per model. Each command's last stderr line is printed.
"""
import argparse
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--checkpoint", action="append", required=True, metavar="LABEL=PATH")
ap.add_argument("--photo", default="", help="a real photograph to project too")
ap.add_argument("--work", default="runs/drawings")
ap.add_argument("--out", default="docs/projection_drawings")
ap.add_argument("--direction", default="size")
ap.add_argument("--tile", type=int, default=96, help="pixels per tile in the figure")
args = ap.parse_args()
ROOT = Path(__file__).resolve().parents[1]


def wobbly(cx: float, cy: float, r: float, n: int, k: int, amp: float, seed: int
           ) -> list[tuple[float, float]]:
    """A closed outline: n points around (cx, cy), radius r wobbled by k smooth bumps."""
    rng = np.random.default_rng(seed)
    ph = rng.uniform(0, 2 * math.pi, 3)
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        w = 1 + amp * (math.sin(k * t + ph[0]) + 0.5 * math.sin((k + 2) * t + ph[1])) \
            + rng.normal(0, 0.015)
        pts.append((cx + r * w * math.cos(t), cy + r * w * math.sin(t)))
    return pts


def blob(path: Path) -> None:
    im = Image.new("RGBA", (100, 80), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    pts = wobbly(50, 41, 27, 90, 3, 0.12, 1)
    d.polygon(pts, fill=(245, 140, 30, 255))
    d.line(pts + pts[:1], fill=(150, 70, 10, 255), width=3, joint="curve")
    im.save(path)


def triangle(path: Path) -> None:
    s = 90
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    rng = np.random.default_rng(2)
    bg = np.stack([60 + 50 * yy / s, 70 + 40 * xx / s, 110 + 60 * yy / s], -1)
    bg += rng.normal(0, 6, (s, s, 1))  # paper-like grain
    im = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    tri = [(45, 14), (80, 74), (12, 70)]
    pts = []
    for (x0, y0), (x1, y1) in zip(tri, tri[1:] + tri[:1], strict=True):
        for t in np.linspace(0, 1, 12, endpoint=False):
            j = rng.normal(0, 1.3, 2)
            pts.append((x0 + t * (x1 - x0) + j[0], y0 + t * (y1 - y0) + j[1]))
    d.polygon(pts, fill=(240, 230, 60))
    d.line(pts + pts[:1], fill=(40, 40, 40), width=2)
    im.filter(ImageFilter.SMOOTH).save(path)


def cli(*argv: str) -> str:
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), *argv], cwd=ROOT,
                       capture_output=True, text=True)
    last = (r.stderr.strip().splitlines() or [""])[-1].split("\r")[-1].strip()
    notes = [ln for ln in r.stderr.splitlines() if ln.startswith("note:")]
    print(f"$ main.py {' '.join(argv)}\n  -> rc {r.returncode}: {last}", flush=True)
    for n in notes:
        print(f"     {n}")
    if r.returncode:
        raise SystemExit(f"failed: {r.stderr.strip()}")
    return last


def tile(path: Path | Image.Image, size: int) -> Image.Image:
    """An image fitted into a size x size tile: pixel art enlarged nearest, photos smoothly."""
    im = path if isinstance(path, Image.Image) else Image.open(path)
    if im.mode in ("RGBA", "LA", "P"):  # show transparency on a checkerboard
        im = im.convert("RGBA")
        yy, xx = np.mgrid[0:im.height, 0:im.width]
        chk = np.where(((yy // 8 + xx // 8) % 2)[..., None] == 0, 200, 235).astype(np.uint8)
        base = Image.fromarray(np.repeat(chk, 3, axis=2), "RGB").convert("RGBA")
        im = Image.alpha_composite(base, im)
    im = im.convert("RGB")
    small = max(im.size) <= size // 2
    scale = size / max(im.size)
    im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                   Image.Resampling.NEAREST if small else Image.Resampling.LANCZOS)
    out = Image.new("RGB", (size, size), (255, 255, 255))
    out.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return out


work = Path(args.work)
work.mkdir(parents=True, exist_ok=True)
images = {"blob": work / "blob.png", "triangle": work / "triangle.png"}
blob(images["blob"])
triangle(images["triangle"])
if args.photo:
    images["photo"] = Path(args.photo)

T, pad = args.tile, 4
rows: list[tuple[str, list[Image.Image]]] = []
for spec in args.checkpoint:
    label, _, ckpt = spec.rpartition("=")
    label = label or Path(ckpt).name
    d = work / label
    d.mkdir(exist_ok=True)
    for name, img in images.items():
        rec = d / f"{name}.png"
        msg = cli("project", "--checkpoint", ckpt, "--image", str(img), "--out", str(rec),
                  "--target", str(d / f"{name}_target.png"))
        sweep = d / f"{name}_sweep.png"
        cli("sample", "--checkpoint", ckpt, "--latent", str(rec.with_suffix(".pt")),
            "--sweep", args.direction, "--n", "5", "--pad", "0", "--out", str(sweep))
        sw = Image.open(sweep)
        n = sw.width // sw.height
        tiles = [tile(img, T), tile(d / f"{name}_target.png", T), tile(rec, T)]
        tiles += [tile(sw.crop((i * sw.height, 0, (i + 1) * sw.height, sw.height)), T)
                  for i in range(n)]
        err = msg.split("pixel error ")[1].split(" ")[0] if "pixel error " in msg else "?"
        rows.append((f"{label}: {name}, pixel error {err}", tiles))
    cli("morph", "--checkpoint", ckpt, "--a-latent", str(d / "blob.pt"), "--b-latent",
        str(d / "triangle.pt"), "--frames", "16", "--fps", "8", "--ping-pong", "--scale", "4",
        "--out", f"{args.out}_morph_{label}.gif")

head = ["as drawn", "matched", "reconstruction", f"{args.direction}: low", "", "0", "", "high"]
font = ImageFont.load_default(size=13)
cols = max(len(t) for _, t in rows)
W = cols * (T + pad) + pad
H = 20 + sum(18 + T + pad for _ in rows) + pad
fig = Image.new("RGB", (W, H), (255, 255, 255))
dr = ImageDraw.Draw(fig)
for c, h in enumerate(head[:cols]):
    dr.text((pad + c * (T + pad) + 2, 3), h, fill=(0, 0, 0), font=font)
y = 20
for title, tiles in rows:
    dr.text((pad + 2, y + 1), title, fill=(60, 60, 60), font=font)
    y += 18
    for c, t in enumerate(tiles):
        fig.paste(t, (pad + c * (T + pad), y))
    y += T + pad
fig.save(f"{args.out}.png")
print(f"wrote {args.out}.png and {args.out}_morph_*.gif")
