"""ExportJob: render a batch of latents through the session, then save it in a worker thread.

Rendering goes through the session's render worker one chunk at a time (its tag slot holds one
chunk, so grid/focus renders interleave and the window stays live), with the same chunks as the
headless commands, so exported pixels match theirs. Saving (palette quantisation, PNG/GIF
encoding) runs as a ``Job``. Cancelling at any point writes nothing: the export functions write
a temp file and rename it only when complete.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from explorer.core.jobs import CancelToken, Progress, Steps, counted
from explorer.core.latent.export import ExportError, check_output_path
from explorer.core.latent.sampling import chunk_slices
from explorer.ui.shell.jobs import Job
from explorer.ui.shell.render_worker import RenderResult
from explorer.ui.shell.session import ModelSession

# save(images (N, H, W, 3) uint8, progress) -> the path written
SaveFn = Callable[[np.ndarray, Steps], Path]


class ExportJob(QObject):
    """One export. Progress is counted in samples rendered, then ``save_steps`` save steps."""

    progressed = Signal(int, int)  # done, total
    exported = Signal(str)  # the path written
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, session: ModelSession, tag: str, z: torch.Tensor, y: torch.Tensor | None,
                 save: SaveFn, save_steps: int = 1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.tag = session, tag
        self._z, self._y, self._save = z, y, save
        self._slices = chunk_slices(len(z))
        self._parts: list[np.ndarray] = []
        self.renders = session.channel(tag)
        self.total = len(z) + save_steps
        self.done = False
        self._saving: Job | None = None
        self._connected = False

    def start(self) -> None:
        self.renders.rendered.connect(self._on_rendered)
        self.renders.failed.connect(self._on_failed)
        self.session.model_changed.connect(self._on_model_changed)
        self._connected = True
        self.progressed.emit(0, self.total)
        self._request_next()

    def cancel(self) -> None:
        if self.done:
            return
        if self._saving is not None:
            self._saving.cancel()  # the job answers with cancelled
            return
        self._finish()
        self.cancelled.emit()

    # --- rendering, GUI thread --------------------------------------------------------------
    def _request_next(self) -> None:
        s = self._slices[len(self._parts)]
        y = None if self._y is None else self._y[s]
        self.renders.request(self._z[s], y)

    def _on_rendered(self, result: RenderResult) -> None:
        if self.done:
            return
        self._parts.append(result.images)
        n = sum(len(p) for p in self._parts)
        self.progressed.emit(n, self.total)
        if len(self._parts) < len(self._slices):
            self._request_next()
        else:
            self._start_save(np.concatenate(self._parts))

    def _on_failed(self, message: str) -> None:
        if self._saving is None and not self.done:
            self._fail(message)

    def _on_model_changed(self, info: object) -> None:
        if self._saving is None and not self.done:
            self._fail("the model changed while the export was rendering; nothing was written")

    # --- saving, a job --------------------------------------------------------------------
    def _start_save(self, images: np.ndarray) -> None:
        self._disconnect()
        save = self._save

        def run(progress: Progress, cancel: CancelToken) -> Path:
            return save(images, counted(progress, cancel, "saving"))

        self._saving = Job(f"{self.tag}-save", run, self)
        self._saving.progressed.connect(self._on_save_progressed)
        self._saving.completed.connect(self._on_saved)
        self._saving.failed.connect(self._fail)
        self._saving.cancelled.connect(self._on_save_cancelled)
        self._saving.start()

    def _on_save_progressed(self, fraction: float | None, _text: str) -> None:
        rendered = len(self._z)
        self.progressed.emit(rendered + int((fraction or 0.0) * (self.total - rendered)),
                             self.total)

    def _on_saved(self, path: Path) -> None:
        self._finish()
        self.session.remember_export(path)  # the next export dialog of any view starts there
        self.exported.emit(str(path))

    def _on_save_cancelled(self) -> None:
        self._finish()
        self.cancelled.emit()

    def _fail(self, message: str) -> None:
        self._finish()
        self.failed.emit(message)

    def _finish(self) -> None:
        self.done = True
        self._disconnect()
        self.renders.cancel()
        if self._saving is not None:
            self._saving.wait()  # the job has returned already: this is immediate

    def _disconnect(self) -> None:
        if not self._connected:
            return
        self._connected = False
        self.renders.rendered.disconnect(self._on_rendered)
        self.renders.failed.disconnect(self._on_failed)
        self.session.model_changed.disconnect(self._on_model_changed)


def run_with_progress(parent: QWidget, job: ExportJob, title: str, label: str) -> QProgressDialog:
    """Start ``job`` behind a window-modal progress dialog with Cancel; failures get a message
    box. The dialog shows only if the export takes longer than ~0.4 s."""
    dlg = QProgressDialog(label, "Cancel", 0, job.total, parent)
    dlg.setWindowTitle(title)
    dlg.setWindowModality(Qt.WindowModality.WindowModal)
    dlg.setMinimumDuration(400)
    dlg.setAutoReset(False)
    dlg.setAutoClose(False)
    dlg.canceled.connect(job.cancel)
    job.progressed.connect(lambda d, t: dlg.setValue(d))
    for sig in (job.exported, job.failed, job.cancelled):
        sig.connect(dlg.close)
        sig.connect(dlg.deleteLater)
    job.failed.connect(lambda msg: QMessageBox.critical(parent, title, msg))
    job.start()
    return dlg


def ask_save_path(parent: QWidget, title: str, suggested: Path, file_filter: str,
                  failed: Callable[[str], None]) -> Path | None:
    """Ask where to export: the path chosen, with ``suggested``'s suffix when the user typed
    none, or None when cancelled or refused (``failed`` gets the reason, and a message box)."""
    chosen, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), file_filter)
    if not chosen:
        return None
    path = Path(chosen) if Path(chosen).suffix else Path(chosen).with_suffix(suggested.suffix)
    try:
        check_output_path(path, (suggested.suffix,))
    except ExportError as e:
        failed(str(e))
        QMessageBox.critical(parent, title, str(e))
        return None
    return path


def start_export(parent: QWidget, job: ExportJob, title: str, path: Path,
                 exported: Callable[[str], None], failed: Callable[[str], None]) -> None:
    """Run ``job`` behind its progress dialog, reporting to the view's two handlers."""
    job.exported.connect(exported)
    job.failed.connect(failed)
    run_with_progress(parent, job, title, f"Exporting {path.name}…")
