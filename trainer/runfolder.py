"""A run folder's layout: every name a run writes or reads, owned by ``RunFolder``.

    config.json              the RunConfig
    checkpoint.pt            latest full checkpoint (resumable), replaced atomically
    snapshots/step_*.pt      G_ema-only checkpoints every checkpoint_every steps (for exploring)
    log.jsonl                one JSON object per generator step, appended as training goes
    previews/step_*.png      fixed-noise sample grids
    train.lock               held (an OS lock) by the one process training the folder
    best.json                the snapshot ``eval --over-steps`` marked best
    directions.pt, eval_classifier.pt, attribute_model.pt, projections.pt
                             side files the explorer saves or caches for the run's model

Side files are read from and written to ``side_dir``: the folder itself unless the caller says
otherwise (the explorer sends the bundled read-only demo's elsewhere, see explorer/core/demo.py);
a side file saved there wins over the folder's own. No torch here: anything may import it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

# Said when a run ends with snapshots to choose from: late steps can undo a model (measured in
# docs/recipes.md: a 64 px run's FD rose tenfold over its last 4000 steps).
BEST_SNAPSHOT_HINT = "the last step is not always the best one"


class RunFolder:
    CONFIG = "config.json"
    CHECKPOINT = "checkpoint.pt"
    LOG = "log.jsonl"
    SNAPSHOTS = "snapshots"
    PREVIEWS = "previews"
    LOCK = "train.lock"
    BEST = "best.json"
    DIRECTIONS = "directions.pt"
    EVAL_CLASSIFIER = "eval_classifier.pt"
    ATTRIBUTE_MODEL = "attribute_model.pt"
    PROJECTIONS = "projections.pt"
    # What a new run creates before its first step (all or none).
    START_FILES = (PREVIEWS, SNAPSHOTS, CONFIG, LOG)
    # The temp files fileio.atomic_open leaves when a training run is killed mid-write
    # (".<name>.*.tmp"), as (sub-folder, pattern).
    TRAIN_TEMP = (("", f".{CHECKPOINT}.*.tmp"), ("", f".{CONFIG}.*.tmp"), ("", f".{LOG}.*.tmp"),
                  (SNAPSHOTS, ".step_*.pt.*.tmp"), (PREVIEWS, ".step_*.png.*.tmp"),
                  (PREVIEWS, ".recon_*.png.*.tmp"))

    def __init__(self, path: Path | str, side_dir: Path | str | None = None) -> None:
        self.path = Path(path)
        self.side_dir = Path(side_dir) if side_dir is not None else self.path

    @classmethod
    def of(cls, path: Path | str) -> RunFolder:
        """The run folder of a checkpoint file, a snapshot, or a run folder itself."""
        p = Path(path)
        run_dir = p if p.is_dir() else p.parent
        if run_dir.name == cls.SNAPSHOTS:  # a snapshot's run folder is one level up
            run_dir = run_dir.parent
        return cls(run_dir)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, RunFolder) and self.path == other.path
                and self.side_dir == other.side_dir)

    def __hash__(self) -> int:
        return hash((self.path, self.side_dir))

    # --- what training writes ------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.path / self.CONFIG

    @property
    def checkpoint(self) -> Path:
        return self.path / self.CHECKPOINT

    @property
    def log(self) -> Path:
        return self.path / self.LOG

    @property
    def snapshots(self) -> Path:
        return self.path / self.SNAPSHOTS

    @property
    def previews(self) -> Path:
        return self.path / self.PREVIEWS

    @property
    def lock(self) -> Path:
        return self.path / self.LOCK

    @property
    def best(self) -> Path:
        return self.path / self.BEST

    def snapshot(self, step: int) -> Path:
        return self.snapshots / f"step_{step:07d}.pt"

    def preview(self, step: int) -> Path:
        return self.previews / f"step_{step:07d}.png"

    def reconstruction(self, step: int) -> Path:
        """A VAE's real | reconstruction pairs at ``step`` (beside the preview of that step)."""
        return self.previews / f"recon_{step:07d}.png"

    def snapshot_files(self) -> list[Path]:
        """The snapshots, oldest first."""
        return sorted(self.snapshots.glob("step_*.pt"))

    def has_several_snapshots(self) -> bool:
        """More than one snapshot to choose from: when BEST_SNAPSHOT_HINT applies."""
        return len(self.snapshot_files()) > 1

    def preview_files(self) -> list[Path]:
        """The preview grids, oldest first."""
        return sorted(self.previews.glob("step_*.png"))

    def newest_checkpoint(self) -> Path | None:
        """checkpoint.pt, else the last snapshot, else None."""
        if self.checkpoint.is_file():
            return self.checkpoint
        snaps = self.snapshot_files()
        return snaps[-1] if snaps else None

    # --- what a folder is ------------------------------------------------------------------------
    def is_run(self) -> bool:
        """Whether the folder is a run folder (training started in it: it has its log or its
        config), as opposed to a bare checkpoint's folder or any other folder."""
        return self.path.is_dir() and (self.log.is_file() or self.config.is_file())

    def holds_run(self) -> bool:
        """Whether a run got as far as a checkpoint here (a new run must not reuse the folder)."""
        return self.checkpoint.exists() or bool(self.snapshot_files())

    def has_model(self) -> bool:
        """Whether there is (or will soon be) a model to open: a checkpoint or the snapshots
        folder."""
        return self.checkpoint.is_file() or self.snapshots.is_dir()

    def unfinished_start(self) -> bool:
        """Whether the folder holds what a run leaves before its first checkpoint (a non-empty
        log or previews, no checkpoint): the leftovers of a killed run, which a new run
        replaces."""
        return not self.checkpoint.exists() and (
            (self.log.is_file() and self.log.stat().st_size > 0) or bool(self.preview_files()))

    def is_own_checkpoint(self, path: Path | str) -> bool:
        """Whether ``path`` is the run's checkpoint.pt (rather than a snapshot or another file)."""
        return Path(path).name == self.CHECKPOINT and Path(path).parent == self.path

    # --- side files ------------------------------------------------------------------------------
    def side_file(self, name: str) -> Path:
        """The side file ``name`` (e.g. RunFolder.DIRECTIONS) as last saved: the side_dir copy if
        there is one, else the folder's own (which may not exist)."""
        saved = self.side_dir / name
        return saved if saved.is_file() else self.path / name

    def side_save_path(self, name: str) -> Path:
        """Where saving the side file ``name`` writes, its folder created if possible (a failed
        write then says why)."""
        path = self.side_dir / name
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def directions(self) -> Path:
        return self.side_file(self.DIRECTIONS)

    @property
    def eval_classifier(self) -> Path:
        return self.side_file(self.EVAL_CLASSIFIER)

    @property
    def attribute_model(self) -> Path:
        return self.side_file(self.ATTRIBUTE_MODEL)

    @property
    def projections(self) -> Path:
        return self.side_file(self.PROJECTIONS)
