"""The bundled demo model: a conditional WGAN-GP trained on Shapes by this project's own `train`.

It is a small run folder (G_ema snapshot, config, loss log, a few preview grids, directions) that
the window opens on first launch, so a newcomer can explore before training anything. Recipe:

    python main.py train --dataset shapes --size 32 --steps 22000 --out runs/demo
    python main.py directions --checkpoint runs/demo --method supervised --project-out all
    python main.py directions --checkpoint runs/demo --method sefa --k 4 --append
"""

from __future__ import annotations

import contextlib
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[2] / "resources" / "demo"


def demo_run_folder() -> Path | None:
    """The demo run folder, or None if this installation does not ship it."""
    return DEMO_DIR if (DEMO_DIR / "checkpoint.pt").is_file() else None


def _is_demo(run_dir: Path) -> bool:
    try:
        return Path(run_dir).resolve() == DEMO_DIR
    except OSError:
        return False


def write_dir(run_dir: Path) -> Path:
    """Where the files a run folder caches or saves (directions, eval classifier, attribute
    model) are written: the folder itself, except for the bundled demo, which stays as shipped
    (an install may be read-only, a checkout should stay clean); its go to ~/latent-lab/demo."""
    return Path.home() / "latent-lab" / "demo" if _is_demo(run_dir) else Path(run_dir)


def save_path(run_dir: Path, name: str) -> Path:
    """``write_dir(run_dir) / name``, its folder created if possible (a failed write says why)."""
    path = write_dir(run_dir) / name
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def find_file(run_dir: Path, name: str) -> Path:
    """``name`` as last saved for run_dir: the write_dir copy if there is one, else the
    folder's own (which may not exist)."""
    saved = write_dir(run_dir) / name
    return saved if saved.is_file() else Path(run_dir) / name
