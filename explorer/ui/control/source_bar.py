"""The Control view's source bar: pick a direction source (SeFa, GANSpace, Supervised, By
example), compute in a background thread with progress and Cancel, hand back the directions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from explorer.core.directions.compute import ComputeOptions, compute_directions
from explorer.core.directions.direction import Direction
from explorer.core.jobs import CancelToken, Progress
from explorer.ui.control.examples import ExamplePicker
from explorer.ui.shell.jobs import Job
from explorer.ui.shell.session import ModelSession
from trainer.checkpoint import load_generator


def directions_job(checkpoint: Path, opts: ComputeOptions, device: str
                   ) -> Callable[[Progress, CancelToken], tuple[list[Direction], list[str]]]:
    """The Compute button's job: its own generator loaded from the checkpoint (never the render
    thread's live module), then the directions and the remarks for the user."""

    def run(progress: Progress, cancel: CancelToken) -> tuple[list[Direction], list[str]]:
        model = load_generator(checkpoint, device)
        notes: list[str] = []
        return compute_directions(model, opts, progress, cancel, notes), notes

    return run


SOURCES = [("SeFa", "sefa"), ("GANSpace", "ganspace"), ("Supervised", "supervised"),
           ("By example", "example")]


class SourceBar(QWidget):
    computed = Signal(object)  # list[Direction] for the model that is open
    status = Signal(str)

    def __init__(self, session: ModelSession, examples: ExamplePicker,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.examples = session, examples
        self.task: Job | None = None
        self._checkpoint: Path | None = None  # what the running task computes for
        self.notes: list[str] = []  # remarks from the last computation
        self.source = QComboBox()
        for text, key in SOURCES:
            self.source.addItem(text, key)
        self.source.currentIndexChanged.connect(self._on_source_changed)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 64)
        self.k_spin.setValue(8)
        self.k_spin.setPrefix("k = ")
        self.conditional = QCheckBox("project out the other attributes")
        self.conditional.setToolTip("conditional manipulation: each attribute's direction is made "
                                    "orthogonal to the other attributes' directions")
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Source"), self.source, self.k_spin, self.conditional,
                  self.compute_button, self.cancel_button):
            lay.addWidget(w)
        lay.addWidget(self.progress, 1)
        self._set_busy(False)
        self._on_source_changed()
        session.model_changed.connect(self._on_model_changed)

    def compute(self) -> None:
        info, key = self.session.info, self.source.currentData()
        if key == "example":
            self.examples.make_direction()
            return
        if self.task is not None:
            self.status.emit("a computation is already running")
            return
        if info is None or info.path is None:
            self.status.emit("open a model from a checkpoint first")
            return
        conditional = key == "supervised" and self.conditional.isChecked()
        opts = ComputeOptions(methods=(key,), k=self.k_spin.value(),
                              project_out=["all"] if conditional else [],
                              device=self.session.device)
        self._checkpoint = info.path
        self.task = Job("directions", directions_job(info.path, opts, self.session.device), self)
        self.task.progressed.connect(self._on_progressed)
        self.task.completed.connect(self._on_completed)
        self.task.failed.connect(self.status)
        self.task.cancelled.connect(self._on_cancelled)
        self.task.finished.connect(self._on_task_done)
        self._set_busy(True)
        self.notes = []
        self.status.emit(f"computing {self.source.currentText()} directions…")
        self.task.start()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self._sync_compute_button()
        self.progress.setValue(0)
        self.progress.setFormat("%p%" if busy else "")

    def _sync_compute_button(self) -> None:
        """Compute needs an open model; every source but "By example" needs its checkpoint."""
        info = self.session.info
        self.compute_button.setEnabled(
            self.task is None and info is not None
            and (info.path is not None or self.source.currentData() == "example"))

    def _on_model_changed(self, _info: object) -> None:
        self._sync_compute_button()

    def _on_progressed(self, fraction: float | None, what: str) -> None:
        if fraction is not None:
            self.progress.setValue(round(1000 * fraction))
        self.progress.setFormat(f"{what} %p%")

    def _on_completed(self, result: tuple[list[Direction], list[str]]) -> None:
        dirs, self.notes = result
        info = self.session.info
        if info is None or info.path != self._checkpoint:
            return  # computed for a model that is no longer open
        self.computed.emit(dirs)

    def _on_cancelled(self) -> None:
        self.status.emit("cancelled")

    def _on_task_done(self) -> None:
        if self.task is not None:
            self.task.deleteLater()
        self.task = None
        self._set_busy(False)

    def _on_source_changed(self) -> None:
        key = self.source.currentData()
        self.examples.setVisible(key == "example")
        self.k_spin.setVisible(key in ("sefa", "ganspace"))
        self.conditional.setVisible(key == "supervised")
        self.compute_button.setText("Add direction" if key == "example" else "Compute")
        self._sync_compute_button()
        if key == "example" and self.examples.z is None:
            self.examples.refresh()

    def select(self, key: str) -> None:
        self.source.setCurrentIndex([k for _, k in SOURCES].index(key))
