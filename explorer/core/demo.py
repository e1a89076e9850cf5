"""The bundled demo model: a conditional SN-GAN trained on Shapes by this project's own `train`.

It is a small run folder (G_ema snapshot, config, loss log, a few preview grids, directions) that
the window opens on first launch, so a newcomer can explore before training anything. Recipe:

    python main.py train --dataset shapes --size 32 --steps 22000 --lr-decay 0.19 --out runs/demo
    python main.py directions --checkpoint runs/demo --method supervised --project-out all
    python main.py directions --checkpoint runs/demo --method sefa --k 4 --append
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from trainer.runfolder import RunFolder

DEMO_DIR = Path(__file__).resolve().parents[2] / "resources" / "demo"


def demo_run_folder() -> Path | None:
    """The demo run folder, or None if this installation does not ship it."""
    return DEMO_DIR if RunFolder(DEMO_DIR).checkpoint.is_file() else None


def _is_demo(run_dir: Path) -> bool:
    try:
        return Path(run_dir).resolve() == DEMO_DIR
    except OSError:
        return False


def write_dir(run_dir: Path) -> Path:
    """Where the files a run folder caches or saves (directions, eval classifier, attribute
    model) are written: the folder itself, except for the bundled demo, which stays as shipped
    (an install may be read-only, a checkout should stay clean). Its files go to
    ~/latent-lab/demo-<model id>, so directions saved for one demo model are never loaded for a
    retrained one that a later version ships."""
    if not _is_demo(run_dir):
        return Path(run_dir)
    return Path.home() / "latent-lab" / f"demo-{_model_id(RunFolder(DEMO_DIR).checkpoint)}"


def _model_id(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return _hash_file(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=4)
def _hash_file(path: str, mtime_ns: int, size: int) -> str:
    """First 12 hex digits of the file's SHA-1 (cached per file version: ~5 ms for the demo)."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def run_folder(path: Path | str) -> RunFolder:
    """The run folder of a checkpoint, a snapshot or a run folder, with its side files
    (directions, cached classifiers, projections) read from and saved to ``write_dir``."""
    run = RunFolder.of(path)
    return RunFolder(run.path, side_dir=write_dir(run.path))
