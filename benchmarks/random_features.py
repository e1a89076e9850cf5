"""Write eval classifiers that are fixed random CNNs, to measure FD in a feature space that owes
nothing to the data's labels (docs/recipes.md, "A folder of photographs").

On a folder of a few hundred images the eval classifier `eval` trains is weak (it is scored on
a tenth of the images), so a ranking of runs by FD in its features wants a second opinion. A
random CNN of the same shape, its features scaled on the folder's images, gives one; three seeds
give three:

    .venv/bin/python benchmarks/random_features.py --data-path hymenoptera_data/train \\
        --out runs/random_features
    python main.py eval --checkpoint RUN --classifier runs/random_features_1.pt

The files are ordinary `eval_classifier.pt` files (kind "random-features"); every run measured
with one file is measured in the same space.
"""
import argparse
from pathlib import Path

from explorer.core.quality.eval_classifier import save_classifier, train_classifier
from trainer.config import DataConfig
from trainer.data import load_dataset
from trainer.data.base import in_memory


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-path", type=Path, required=True, help="the runs' image folder")
    p.add_argument("--size", type=int, default=32, help="the runs' image size")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--out", type=Path, required=True, help="prefix: writes PREFIX_SEED.pt")
    args = p.parse_args()
    cfg = DataConfig(dataset="folder", path=str(args.data_path), size=args.size)
    data, _ = in_memory(load_dataset(cfg, "cpu"))
    for seed in args.seeds:
        clf = train_classifier(data, f"random-features seed {seed}", seed=seed,
                               random_features=True)
        path = Path(f"{args.out}_{seed}.pt")
        save_classifier(path, clf)
        print(f"wrote {path} (a random CNN of seed {seed}, scaled on {len(data)} images)")


if __name__ == "__main__":
    main()
