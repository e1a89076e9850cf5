"""Sweep GIF export for one slider: the frames are rendered through the render thread (slot
"control-sweep") and written by the Qt-free ``save_gif`` as a ``Job``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal

from explorer.core.jobs import CancelToken, Progress, counted
from explorer.core.latent.export import save_gif
from explorer.ui.shell.jobs import Job
from explorer.ui.shell.render_worker import RenderResult
from explorer.ui.shell.session import ModelSession

TAG = "control-sweep"


def sweep_alphas(lo: float, hi: float, frames: int) -> torch.Tensor:
    """(2·frames − 2,) α from lo to hi and back (ping-pong without repeated end frames)."""
    a = torch.linspace(lo, hi, frames)
    return torch.cat([a, a.flip(0)[1:-1]])


class SweepExporter(QObject):
    saved = Signal(str)  # path
    failed = Signal(str)

    def __init__(self, session: ModelSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.renders = session.channel(TAG)
        self.renders.rendered.connect(self._on_rendered)

    def export(self, z: torch.Tensor, y: torch.Tensor | None, path: Path, fps: float) -> None:
        """z (F, z_dim) frames, y (n_classes,) or None; the GIF is written when they arrive."""
        ys = None if y is None else y.view(1, -1).repeat(len(z), 1)
        self.renders.request(z, ys, {"path": Path(path), "fps": fps})

    def _on_rendered(self, result: RenderResult) -> None:
        path, fps = result.meta["path"], result.meta["fps"]
        frames: np.ndarray = result.images  # (F, H, W, 3) uint8
        scale = max(1, 128 // frames.shape[1])  # small GAN frames upscaled crisp to >= 128 px

        def run(progress: Progress, cancel: CancelToken) -> Path:
            return save_gif(frames, path, fps, scale=scale,
                            progress=counted(progress, cancel, "saving"))

        job = Job("sweep-gif", run, self)
        job.completed.connect(lambda written: self.saved.emit(str(written)))
        job.failed.connect(lambda message: self.failed.emit(f"cannot export the sweep: {message}"))
        job.finished.connect(job.deleteLater)
        job.start()
