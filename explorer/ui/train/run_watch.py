"""Follow a run folder that another process (a headless ``train``) may still be writing.

A QTimer polls about once a second. ``LogTail`` reads only the bytes appended to log.jsonl since
the last poll (a partial last line waits for the next poll); preview PNGs and checkpoint.pt are
only looked at when their folder / modification time changed. Everything here is cheap enough to
run on the GUI thread: a poll reads a few hundred bytes and stats three paths.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal

from explorer.core.training.timelapse import preview_frames
from trainer.checkpoint import is_resumable
from trainer.runfolder import RunFolder
from trainer.runlog import STAT_KEYS, row_values

COLUMNS = ("step", *STAT_KEYS, "time")


class LogTail:
    """Incremental reader of a growing log.jsonl."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self._partial = b""

    def read_new(self) -> tuple[bool, dict[str, np.ndarray]]:
        """(reset, new rows). ``reset`` is True when the file shrank (a resumed run truncates
        the steps it will redo): the rows are then the whole file, to replace what was shown."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return False, _columns([])
        reset = size < self.offset
        if reset:
            self.offset, self._partial = 0, b""
        if size == self.offset:
            return reset, _columns([])
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read(size - self.offset)
        except OSError:
            return False, _columns([])
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # b"" after a complete line
        rows = []
        for line in lines:
            try:
                rec = json.loads(line)
                rows.append(row_values(rec, COLUMNS))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
        return reset, _columns(rows)


def _columns(rows: list[list[float]]) -> dict[str, np.ndarray]:
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, len(COLUMNS))
    return {k: arr[:, i] for i, k in enumerate(COLUMNS)}


def load_grid(path: Path) -> np.ndarray | None:
    """A preview PNG as (H, W, 3) uint8, or None if it cannot be read (yet)."""
    try:
        with Image.open(path) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except OSError:
        return None


class RunWatcher(QObject):
    """Polls one run folder; emits what is new since the last poll."""

    points_added = Signal(object)  # dict of column arrays (COLUMNS), only new rows
    log_reset = Signal(object)  # the whole log again, after it shrank
    preview_found = Signal(int, object)  # step, (H, W, 3) uint8
    checkpoint_changed = Signal(object)  # Path of checkpoint.pt, after it was (re)written

    def __init__(self, interval_ms: int = 1000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_dir: Path | None = None
        self._tail: LogTail | None = None
        self._previews_mtime = 0.0
        self._preview_step = -1
        self._ckpt_mtime = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    def watch(self, run_dir: Path, from_offset: int = 0, preview_step: int = -1) -> None:
        """Follow ``run_dir``. ``from_offset`` skips log bytes the caller already shows."""
        self.run_dir = Path(run_dir)
        self._run = RunFolder(run_dir)
        self._tail = LogTail(self._run.log)
        self._tail.offset = from_offset
        self._previews_mtime = 0.0
        self._preview_step = preview_step
        self._ckpt_mtime = _mtime(self._run.checkpoint)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.run_dir, self._tail = None, None

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def poll(self) -> None:
        if self.run_dir is None or self._tail is None:
            return
        reset, rows = self._tail.read_new()
        if reset:
            self.log_reset.emit(rows)
        elif len(rows["step"]):
            self.points_added.emit(rows)
        mtime = _mtime(self._run.previews)
        if mtime != self._previews_mtime:
            self._previews_mtime = mtime
            frames = preview_frames(self.run_dir)
            if frames and frames[-1][0] != self._preview_step:
                grid = load_grid(frames[-1][1])
                if grid is not None:
                    self._preview_step = frames[-1][0]
                    self.preview_found.emit(frames[-1][0], grid)
        ckpt = self._run.checkpoint
        mtime = _mtime(ckpt)
        if mtime and mtime != self._ckpt_mtime:
            self._ckpt_mtime = mtime
            self.checkpoint_changed.emit(ckpt)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def resumable(path: Path) -> bool:
    """Whether the checkpoint file at ``path`` can continue training (cached per file version:
    reading a checkpoint takes ~20 ms, and the Train view's buttons ask on every form change)."""
    try:
        st = path.stat()
    except OSError:
        return False
    return _resumable_cached(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _resumable_cached(path: str, mtime_ns: int, size: int) -> bool:
    return is_resumable(Path(path))


def mtime(path: Path) -> float:
    """Modification time of ``path``, 0 if it cannot be read."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
