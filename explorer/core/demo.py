"""The bundled demo models: conditional SN-GANs trained on Shapes by this project's own `train`.

Each is a small run folder (G_ema snapshot, config, loss log, a few preview grids, directions)
that the window can open before the user trains anything: the first one shipped opens on first
launch, the others are in File > Open demo model. How each was trained is in README ("The demo
models were made with ...").
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from trainer.config import ConfigError, RunConfig
from trainer.runfolder import RunFolder

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
# In the order the window offers them; the first one shipped opens on first launch.
DEMO_DIRS: tuple[Path, ...] = (RESOURCES / "demo64", RESOURCES / "demo")


def demo_run_folders() -> list[Path]:
    """The demo run folders this installation ships, the one to open first first."""
    return [d for d in DEMO_DIRS if RunFolder(d).checkpoint.is_file()]


def demo_run_folder() -> Path | None:
    """The demo the window opens on first launch, or None if this installation ships none."""
    shipped = demo_run_folders()
    return shipped[0] if shipped else None


def demo_title(run_dir: Path) -> str:
    """What the demo is, for a menu: "Shapes, 64 px" (from its config; the folder's name if
    the config cannot be read)."""
    try:
        data = RunConfig.load(RunFolder(run_dir).config).data
    except ConfigError:  # unreadable or damaged (RunConfig.load wraps OSError)
        return Path(run_dir).name
    return f"{data.dataset.capitalize()}, {data.size} px"


def _demo_of(run_dir: Path) -> Path | None:
    try:
        resolved = Path(run_dir).resolve()
    except OSError:
        return None
    return next((d for d in DEMO_DIRS if resolved == d.resolve()), None)


def is_demo(run_dir: Path) -> bool:
    """Whether ``run_dir`` is one of the bundled demos (which no process trains)."""
    return _demo_of(run_dir) is not None


def write_dir(run_dir: Path) -> Path:
    """Where the files a run folder caches or saves (directions, eval classifier, attribute
    model) are written: the folder itself, except for a bundled demo, which stays as shipped
    (an install may be read-only, a checkout should stay clean). Its files go to
    ~/latent-lab/demo-<model id>, so directions saved for one demo model are never loaded for
    another demo or a retrained one that a later version ships."""
    demo = _demo_of(run_dir)
    if demo is None:
        return Path(run_dir)
    return Path.home() / "latent-lab" / f"demo-{_model_id(RunFolder(demo).checkpoint)}"


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
