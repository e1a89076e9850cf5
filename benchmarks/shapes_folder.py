"""Write Shapes images as an image folder (PNG files, one sub-folder per class), to measure what
a user's own folder of a few hundred pictures gets: the small-data runs and held-out sets of
docs/recipes.md.

    .venv/bin/python benchmarks/shapes_folder.py --n 500 --seed 7 --out runs/small500
    .venv/bin/python benchmarks/shapes_folder.py --n 2000 --seed 8 --out runs/small500-held-out

The built-in Shapes data uses seed 0; another seed draws other images of the same kind, so a
folder of seed 8 is a held-out set for a run trained on a folder of seed 7 (or on the built-in
data): `python main.py eval --checkpoint RUN --held-out runs/small500-held-out`.
"""
import argparse
from pathlib import Path

from PIL import Image

from trainer.data.shapes import make_shapes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    data = make_shapes(args.n, args.size, args.seed)
    assert data.labels is not None
    for i, (img, label) in enumerate(zip(data.images, data.labels.tolist(), strict=True)):
        folder = args.out / data.class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i:05d}.png")
    print(f"wrote {len(data)} images of {', '.join(data.class_names)} into {args.out}")


if __name__ == "__main__":
    main()
