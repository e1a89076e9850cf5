"""The Control view's source bar: pick a direction source (SeFa, GANSpace, Supervised, By
example), compute in a background thread with progress and Cancel, hand back the directions."""

from __future__ import annotations

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

from explorer.core.direction_jobs import ComputeOptions
from explorer.core.directions import Direction
from explorer.ui.control_examples import ExamplePicker
from explorer.ui.control_worker import DirectionsTask
from explorer.ui.session import ModelSession

SOURCES = [("SeFa", "sefa"), ("GANSpace", "ganspace"), ("Supervised", "supervised"),
           ("By example", "example")]


class SourceBar(QWidget):
    computed = Signal(object)  # list[Direction] for the model that is open
    status = Signal(str)

    def __init__(self, session: ModelSession, examples: ExamplePicker,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.examples = session, examples
        self.task: DirectionsTask | None = None
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
        self.task = DirectionsTask(info.path, opts, self.session.device, self)
        w = self.task.worker
        w.progressed.connect(self._on_progressed)
        w.noted.connect(self._on_noted)
        w.completed.connect(self._on_completed)
        w.failed.connect(self.status)
        w.cancelled.connect(self._on_cancelled)
        self.task.done.connect(self._on_task_done)
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

    def _on_progressed(self, fraction: float, what: str) -> None:
        self.progress.setValue(round(1000 * fraction))
        self.progress.setFormat(f"{what} %p%")

    def _on_noted(self, note: str) -> None:
        self.notes.append(note)

    def _on_completed(self, dirs: list[Direction]) -> None:
        info = self.session.info
        if self.task is None or info is None or info.path != self.task.worker.checkpoint:
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
