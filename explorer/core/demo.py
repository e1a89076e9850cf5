"""The bundled demo model: a conditional WGAN-GP trained on Shapes by this project's own `train`.

It is a small run folder (G_ema snapshot, config, loss log, a few preview grids, directions) that
the window opens on first launch, so a newcomer can explore before training anything. Recipe:

    python main.py train --dataset shapes --size 32 --steps 22000 --out runs/demo
    python main.py directions --checkpoint runs/demo --method supervised --project-out all
    python main.py directions --checkpoint runs/demo --method sefa --k 4 --append
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[2] / "resources" / "demo"


def demo_run_folder() -> Path | None:
    """The demo run folder, or None if this installation does not ship it."""
    return DEMO_DIR if (DEMO_DIR / "checkpoint.pt").is_file() else None
