"""ExportJob: render a batch of latents through the session, then save it in a worker thread.

Rendering goes through the session's render worker one chunk at a time (its tag slot holds one
chunk, so grid/focus renders interleave and the window stays live), with the same chunks as the
headless commands, so exported pixels match theirs. Saving (palette quantisation, PNG/GIF
encoding) runs in a QObject worker moved to a QThread. Cancelling at any point writes nothing:
the export functions write a temp file and rename it only when complete.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from explorer.core.export import ExportError, Steps
from explorer.core.jobs import Cancelled
from explorer.core.sampling import chunk_slices
from explorer.ui.render_worker import RenderRequest, RenderResult
from explorer.ui.session import ModelSession

# save(images (N, H, W, 3) uint8, progress) -> the path written
SaveFn = Callable[[np.ndarray, Steps], Path]


class _SaveWorker(QObject):
    """Runs ``save`` in its QThread; the progress callback raises Cancelled on cancel."""

    progressed = Signal(int, int)
    saved = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, save: SaveFn, images: np.ndarray) -> None:
        super().__init__()
        self._save, self._images = save, images
        self.cancel_event = threading.Event()

    def _progress(self, done: int, total: int) -> None:
        if self.cancel_event.is_set():
            raise Cancelled
        self.progressed.emit(done, total)

    @Slot()
    def run(self) -> None:
        try:
            path = self._save(self._images, self._progress)
        except Cancelled:
            self.cancelled.emit()
        except ExportError as e:
            self.failed.emit(str(e))
        except (OSError, ValueError, RuntimeError, MemoryError) as e:
            self.failed.emit(f"export failed: {e}")
        else:
            self.saved.emit(str(path))


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
        self._stamp = -1
        self.total = len(z) + save_steps
        self.done = False
        self._thread: QThread | None = None
        self._worker: _SaveWorker | None = None
        self._connected = False

    def start(self) -> None:
        self.session.rendered.connect(self._on_rendered)
        self.session.failed.connect(self._on_failed)
        self.session.model_changed.connect(self._on_model_changed)
        self._connected = True
        self.progressed.emit(0, self.total)
        self._request_next()

    def cancel(self) -> None:
        if self.done:
            return
        if self._worker is not None:
            self._worker.cancel_event.set()  # the worker answers with cancelled
            return
        self._finish()
        self.cancelled.emit()

    # --- rendering, GUI thread --------------------------------------------------------------
    def _request_next(self) -> None:
        s = self._slices[len(self._parts)]
        y = None if self._y is None else self._y[s]
        self._stamp = self.session.request(RenderRequest(self.tag, self._z[s], y))

    def _on_rendered(self, result: RenderResult) -> None:
        if result.tag != self.tag or result.stamp != self._stamp or self.done:
            return
        self._parts.append(result.images)
        n = sum(len(p) for p in self._parts)
        self.progressed.emit(n, self.total)
        if len(self._parts) < len(self._slices):
            self._request_next()
        else:
            self._start_save(np.concatenate(self._parts))

    def _on_failed(self, message: str) -> None:
        if self._worker is None and not self.done:
            self._fail(message)

    def _on_model_changed(self, info: object) -> None:
        if self._worker is None and not self.done:
            self._fail("the model changed while the export was rendering; nothing was written")

    # --- saving, worker thread --------------------------------------------------------------
    def _start_save(self, images: np.ndarray) -> None:
        self._disconnect()
        self._thread = QThread()
        self._thread.setObjectName(f"{self.tag}-save")
        self._worker = _SaveWorker(self._save, images)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        # Bound methods of this GUI-thread object: queued, so every slot below (the progress
        # dialog included) runs in the GUI thread, never in the worker's.
        self._worker.progressed.connect(self._on_save_progressed)
        self._worker.saved.connect(self._on_saved)
        self._worker.failed.connect(self._fail)
        self._worker.cancelled.connect(self._on_worker_cancelled)
        self._thread.start()

    def _on_save_progressed(self, done: int, total: int) -> None:
        rendered = len(self._z)
        self.progressed.emit(rendered + done * (self.total - rendered) // max(1, total),
                             self.total)

    def _on_saved(self, path: str) -> None:
        self._finish()
        self.exported.emit(path)

    def _on_worker_cancelled(self) -> None:
        self._finish()
        self.cancelled.emit()

    def _fail(self, message: str) -> None:
        self._finish()
        self.failed.emit(message)

    def _finish(self) -> None:
        self.done = True
        self._disconnect()
        self.session.cancel(self.tag)
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()  # the worker has returned already: this is immediate

    def _disconnect(self) -> None:
        if not self._connected:
            return
        self._connected = False
        self.session.rendered.disconnect(self._on_rendered)
        self.session.failed.disconnect(self._on_failed)
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
