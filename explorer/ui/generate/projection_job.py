"""Projecting an image off the GUI thread, and the controller that turns the result into the
session's focused latent.

The job loads its own generator from the open checkpoint (never the render thread's live
module), reads the image, and runs the Qt-free ``project``, as a ``Job``: for a VAE its
encoder answers at once, unless ``refine`` asks the optimiser to go on from there. The controller
(``ImageProjector``) shows a progress dialog with Cancel, makes the result the focus (so the
Control sliders edit it and Morph can take it as A or B) and saves it with the run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from explorer.core.jobs import CancelToken, Progress
from explorer.core.latent.projection import (
    Projection,
    ProjectionError,
    SavedProjection,
    as_saved,
    load_saved,
    project_file,
    save_saved,
)
from explorer.ui.shell.jobs import Job
from explorer.ui.shell.session import Focus, ModelSession
from trainer.checkpoint import load_generator

STEPS, RESTARTS = 100, 4  # the window's settings: ~3 s on a CPU at 32 px


def projection_job(checkpoint: Path, image: Path, steps: int, restarts: int,
                   refine: bool = False) -> Callable[[Progress, CancelToken], Projection]:
    """The job that projects ``image`` into the latent space of ``checkpoint``'s generator
    (a VAE's: by its encoder, refined by the optimiser if ``refine``)."""

    def run(progress: Progress, cancel: CancelToken) -> Projection:
        model = load_generator(checkpoint)
        return project_file(model, image, steps=steps, restarts=restarts,
                            progress=progress, cancel=cancel, refine=refine)

    return run


class ImageProjector(QObject):
    """Projects images for a session, one at a time; keeps the run's saved projections.

    ``projected(Projection)`` after the focus is set; ``saved_changed(list)`` when the run's
    list changes (model opened, image projected); ``message(str)`` for the status line."""

    projected = Signal(object)
    saved_changed = Signal(object)  # list[SavedProjection]
    message = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, session: ModelSession, parent_widget: QWidget,
                 steps: int = STEPS, restarts: int = RESTARTS) -> None:
        super().__init__(parent_widget)
        self.session, self.parent_widget = session, parent_widget
        self.steps, self.restarts = steps, restarts
        self.refine = False  # a VAE: refine the encoder's answer with the optimiser
        self.saved: list[SavedProjection] = []
        self.current: Projection | SavedProjection | None = None
        self.focus: Focus | None = None  # the focus the current projection made
        self.job: Job | None = None
        self.dialog: QProgressDialog | None = None
        session.model_changed.connect(self._on_model_changed)
        self._on_model_changed(session.info)

    # --- public ------------------------------------------------------------------------------
    def busy(self) -> bool:
        return self.job is not None

    def project(self, image: Path | str) -> bool:
        """Start projecting ``image``; False (with a message box) if it cannot start."""
        info = self.session.info
        problem = None
        if self.busy():
            problem = "An image is being projected already; wait for it or cancel it."
        elif info is None:
            problem = "Open a model first."
        elif info.path is None:
            problem = ("The model of the run in progress has no checkpoint file yet; open a "
                       "saved checkpoint to project images into it.")
        elif Path(image).is_dir():
            problem = f"{image} is a folder; choose an image file."
        elif not Path(image).is_file():
            problem = f"Image not found: {image}"
        if problem is not None:
            QMessageBox.warning(self.parent_widget, "Project image", problem)
            return False
        assert info is not None and info.path is not None
        self.job = Job("projection",
                       projection_job(info.path, Path(image), self.steps, self.restarts,
                                      self.refine), self)
        self.job.finished.connect(self._on_job_finished)
        self.job.completed.connect(self._on_completed)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)
        dlg = QProgressDialog(f"Projecting {Path(image).name} into the latent space…", "Cancel",
                              0, 1000, self.parent_widget)
        dlg.setWindowTitle("Project image")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(300)
        dlg.setAutoReset(False)
        dlg.setAutoClose(False)
        dlg.canceled.connect(self.cancel)
        self.job.progressed.connect(self._on_progressed)
        self.dialog = dlg
        self.busy_changed.emit(True)
        self.job.start()
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def wait(self, ms: int = 30000) -> bool:
        return self.job is None or self.job.wait(ms)

    def show_saved(self, index: int) -> None:
        """Make a saved projection the focus again."""
        if 0 <= index < len(self.saved):
            item = self.saved[index]
            self._set_focus(item)
            self.message.emit(f"{item.name}: pixel error {item.error:.4f}")

    # --- internals ---------------------------------------------------------------------------
    def _set_focus(self, item: Projection | SavedProjection) -> None:
        self.current = item
        self.focus = Focus(item.z.clone(), None if item.y is None else item.y.clone(), None,
                           f"your image {item.name}" if item.name else "your image")
        self.session.set_focus(self.focus)

    def _on_completed(self, p: Projection) -> None:
        self._set_focus(p)
        note = "; ".join(p.notes)
        how = "by the encoder" if p.method == "encoder" else f"{p.method}, {p.features}"
        text = (f"{p.name} projected: pixel error {p.error:.4f} (best random start "
                f"{p.random_error:.4f}), {how}" + (f". Note: {note}" if note else ""))
        info = self.session.info
        if info is not None and info.path is not None:
            self.saved.append(as_saved(p))
            try:
                path = save_saved(info.path, self.saved)
                text += f"; saved with the run in {path}"
            except ProjectionError as e:
                text += f"; not saved: {e}"
            self.saved_changed.emit(list(self.saved))
        self.message.emit(text)
        self.projected.emit(p)

    def _on_progressed(self, fraction: float | None, text: str) -> None:
        # A window-modal QProgressDialog's setValue processes events: the job's end may be
        # handled inside it and close the dialog, so the label goes to the same dialog only if
        # it is still the one shown.
        dlg = self.dialog
        if dlg is None:
            return
        dlg.setLabelText(text)
        if fraction is not None and self.dialog is dlg:
            dlg.setValue(int(1000 * fraction))

    def _on_cancelled(self) -> None:
        self.message.emit("Projection cancelled")

    def _on_failed(self, message: str) -> None:
        self._close_dialog()
        QMessageBox.warning(self.parent_widget, "Project image", message)

    def _close_dialog(self) -> None:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None

    def _on_job_finished(self) -> None:
        self._close_dialog()
        if self.job is not None:
            self.job.deleteLater()
        self.job = None
        self.busy_changed.emit(False)

    def _on_model_changed(self, info: object) -> None:
        self.current, self.focus = None, None
        self.saved = []
        if info is not None and getattr(info, "path", None) is not None:
            try:
                self.saved = load_saved(info.path, info.z_dim, info.n_classes)  # type: ignore
            except ProjectionError as e:
                self.message.emit(f"Saved projections not loaded: {e}")
        self.saved_changed.emit(list(self.saved))
