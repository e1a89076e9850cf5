"""The Train view on a finished VAE run, for docs/vae.md (run under a display, e.g.
`xvfb-run -a -s "-screen 0 1920x1200x24" python benchmarks/vae_screenshot.py --run RUN`).

Opens the run folder as File > Open run folder does: its curves, its newest sample grid and, beside
them, its newest real | reconstruction pairs. A run trained before the loop wrote those pairs to
disk gets them written now for its checkpoint's step, by the loop's own functions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image
from window_shot import ROOT, open_window, pump

from trainer.checkpoint import load_raw
from trainer.config import RunConfig
from trainer.data import load_dataset
from trainer.loop import _fixed_real, _reconstructions
from trainer.runfolder import RunFolder
from trainer.vae import VAE


def ensure_reconstructions(run_dir: Path) -> None:
    run = RunFolder(run_dir)
    d = load_raw(run.checkpoint)
    path = run.reconstruction(int(d["step"]))
    if path.is_file():
        return
    cfg = RunConfig.load(run.config)
    data = load_dataset(cfg.data, "cpu")
    import torch

    vae = VAE(cfg, data.size, data.channels, len(data.class_names), torch.device("cpu"))
    vae.load_state_dict(d)
    grid = _reconstructions(vae, _fixed_real(vae, data))
    path.parent.mkdir(parents=True, exist_ok=True)  # a copied run may lack its previews
    Image.fromarray(grid).save(path)
    print(f"wrote {path}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "train_view_vae.png")
    args = p.parse_args()
    ensure_reconstructions(args.run)
    app, w = open_window(args.out.parent / ".screenshots.ini", settle_s=2)
    w.open_run_folder(args.run)
    w.tabs.setCurrentWidget(w.train_view)
    pump(app, 3)
    w.grab().save(str(args.out))
    print(f"wrote {args.out}")
    w.close()
    pump(app, 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
