"""Computing directions off the GUI thread: a thin QObject adapter around the Qt-free
``compute_directions``, living in its own QThread.

The worker loads its own generator from the checkpoint file (never the render thread's live
module), forwards progress at most ~20 times a second, and always ends with ``finished`` after
exactly one of ``completed(list[Direction])``, ``failed(str)`` or ``cancelled()``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from explorer.core.direction_jobs import ComputeOptions, compute_directions
from explorer.core.directions import Cancelled, DirectionsError
from trainer.checkpoint import CheckpointError, load_generator
from trainer.data import DataError

EMIT_INTERVAL_S = 0.05


class DirectionsWorker(QObject):
    progressed = Signal(float, str)  # fraction, what is happening
    noted = Signal(str)  # a remark for the user (attribute-model quality, skipped attributes)
    completed = Signal(object)  # list[Direction]
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, checkpoint: Path, opts: ComputeOptions, device: str = "cpu") -> None:
        super().__init__()
        self.checkpoint, self.opts, self.device = Path(checkpoint), opts, device
        self._cancel = threading.Event()
        self._last_emit = 0.0

    def cancel(self) -> None:
        """Thread-safe: the job stops at its next check (between batches)."""
        self._cancel.set()

    def _progress(self, fraction: float, what: str) -> None:
        now = time.monotonic()
        if now - self._last_emit >= EMIT_INTERVAL_S or fraction >= 1.0:
            self._last_emit = now
            self.progressed.emit(fraction, what)

    @Slot()
    def run(self) -> None:
        try:
            model = load_generator(self.checkpoint, self.device)
            notes: list[str] = []
            dirs = compute_directions(model, self.opts, self._progress, self._cancel.is_set,
                                      notes)
            for note in notes:
                self.noted.emit(note)
            self.completed.emit(dirs)
        except Cancelled:
            self.cancelled.emit()
        except (DirectionsError, CheckpointError, DataError) as e:
            self.failed.emit(str(e))
        except (OSError, RuntimeError, ValueError) as e:  # out of memory, bad device, ...
            self.failed.emit(f"computing directions failed: {e}")
        finally:
            self.finished.emit()


class DirectionsTask(QObject):
    """Owns one worker and its thread for one computation; ``done`` when the thread is joined."""

    done = Signal()

    def __init__(self, checkpoint: Path, opts: ComputeOptions, device: str = "cpu",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("directions")
        self.worker = DirectionsWorker(checkpoint, opts, device)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.finished.connect(self.thread.quit)
        self.thread.finished.connect(self._on_thread_finished)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def wait(self, ms: int = 10000) -> bool:
        return self.thread.wait(ms)

    def _on_thread_finished(self) -> None:
        self.done.emit()
