"""The main window: tabs (Train first, then whatever views ``add_view`` adds), menus, status bar.

Window geometry and the last folders used are remembered in QSettings. Closing the window while
training stops the run, waits (bounded, events still flowing, a "Saving checkpoint…" dialog up)
for its final checkpoint and joins the thread, so the run can be resumed later.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pyqtgraph as pg
import PySide6
import torch
from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QTabWidget,
    QWidget,
)

from explorer.core.demo import demo_run_folders, demo_title
from explorer.core.jobs import CancelToken, Progress, counted
from explorer.core.latent.render import ModelInfo
from explorer.core.training.timelapse import export_run_timelapse
from explorer.ui.shell.jobs import Job
from explorer.ui.shell.session import ModelSession
from explorer.ui.train.view import TrainView
from explorer.ui.widgets.status_bar import StatusBar
from trainer.checkpoint import CheckpointError
from trainer.device import resolve_device
from trainer.runfolder import RunFolder

CLOSE_TIMEOUT_S = 60.0  # longest a close waits for the final checkpoint before giving up
DEFAULT_RUNS_ROOT = Path.home() / "latent-lab" / "runs"


def app_version() -> str:
    try:
        return metadata.version("latent-lab")
    except metadata.PackageNotFoundError:
        return "source checkout"


def device_description() -> str:
    dev = resolve_device("auto")
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    if dev.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return dev.type


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


def quit_question(parent: QWidget) -> tuple[QMessageBox, QPushButton]:
    """The question asked when the window closes mid-run, and its "Stop and save" button."""
    box = QMessageBox(QMessageBox.Icon.Question, "Quit while training",
                      "A run is still training. Stop it and save a checkpoint (Resume continues "
                      "it later), then quit?", parent=parent)
    stop = box.addButton("Stop and save", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(stop)
    return box, stop


class TimelapseExporter(QObject):
    """Writes a time-lapse GIF as a ``Job`` (it can take seconds for long runs)."""

    exported = Signal(str, int)  # path, frame count
    failed = Signal(str)

    def export(self, run_dir: Path, out: Path) -> Job:
        def run(progress: Progress, cancel: CancelToken) -> int:
            return export_run_timelapse(run_dir, out,
                                        progress=counted(progress, cancel, "reading previews"))

        job = Job("timelapse", run, self)
        job.completed.connect(lambda frames: self.exported.emit(str(out), frames))
        job.failed.connect(self.failed)
        job.finished.connect(job.deleteLater)
        job.start()
        return job


class MainWindow(QMainWindow):
    def __init__(self, session: ModelSession, settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings if settings is not None else QSettings()
        self.setWindowTitle("Latent Lab")
        runs_root = Path(str(self.settings.value("paths/runs_root", str(DEFAULT_RUNS_ROOT))))
        export_dir = Path(str(self.settings.value("paths/export_folder", str(Path.home()))))
        if export_dir.is_dir():
            session.export_dir = export_dir
        session.export_dir_changed.connect(self._on_export_dir_changed)
        self.train_view = TrainView(session, runs_root)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.train_view, "Train")
        self.setCentralWidget(self.tabs)
        self.exporter = TimelapseExporter(self)
        self.exporter.exported.connect(self._on_timelapse_exported)
        self.exporter.failed.connect(self._on_timelapse_failed)

        # Three separate facts, each named: the run in the Train tab, the model the other tabs
        # explore (often another one) and the device. Unnamed, "failed  model: demo" read as
        # one sentence.
        self.state_label = QLabel()
        self.model_label = QLabel()
        self.device_label = QLabel(f"Device: {device_description()}")
        self._on_state_changed("no run")
        self._on_model_changed(None)
        bar = StatusBar(self)
        self.setStatusBar(bar)
        # Permanent (right-hand) widgets, so temporary status messages never paint over them.
        for i, label in enumerate((self.state_label, self.model_label, self.device_label)):
            if i:
                bar.addPermanentWidget(_separator())
            # A long run name may be cut in a narrow window, but never makes the window wider.
            label.setMinimumWidth(60)
            bar.addPermanentWidget(label)
        self.train_view.state_changed.connect(self._on_state_changed)
        session.model_changed.connect(self._on_model_changed)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._build_menus()

        self._quit_asked_by_user = False  # set while File > Quit closes the window
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1320, 860)

    # --- public ------------------------------------------------------------------------------
    def add_view(self, title: str, widget: QWidget) -> int:
        """Add a tab after Train (Generate, Control, Morph, ...); returns its index."""
        return self.tabs.addTab(widget, title)

    def open_checkpoint(self, path: Path | str) -> bool:
        try:
            info = self.session.open_checkpoint(path)
        except CheckpointError as e:
            QMessageBox.warning(self, "Open checkpoint", str(e))
            return False
        self.statusBar().showMessage(f"opened {path} (step {info.step})", 5000)
        return True

    def open_demo(self, run_dir: Path) -> bool:
        """Open a bundled demo model on the first view after Train (Generate)."""
        if not self.open_checkpoint(RunFolder(run_dir).checkpoint):
            return False
        if self.tabs.count() > 1:
            self.tabs.setCurrentIndex(1)
        self.statusBar().showMessage(
            f"Demo model opened: a conditional SN-GAN trained on {demo_title(run_dir)}. "
            "Train your own in the Train tab.", 15000)
        return True

    def open_run_folder(self, path: Path | str) -> bool:
        try:
            self.train_view.open_run(Path(path))
        except (FileNotFoundError, RuntimeError) as e:
            QMessageBox.warning(self, "Open run folder", str(e))
            return False
        self.tabs.setCurrentWidget(self.train_view)
        return True

    def export_timelapse(self, run_dir: Path, out: Path) -> Job:
        self.statusBar().showMessage(f"writing {out}…")
        return self.exporter.export(run_dir, out)

    # --- menus -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&New run", self._on_new_run_triggered,
                     QKeySequence.StandardKey.New)
        self._action(file_menu, "Open &run folder…", self._on_open_run_triggered, "Ctrl+Shift+O")
        self._action(file_menu, "&Open checkpoint…", self._on_open_checkpoint_triggered,
                     QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open &image…", self._on_open_image_triggered, "Ctrl+I")
        demos = demo_run_folders()
        self.demo_menu = file_menu.addMenu("Open &demo model") if demos else None
        if self.demo_menu is not None:
            for run_dir in demos:
                self._action(self.demo_menu, demo_title(run_dir),
                             lambda _=False, d=run_dir: self.open_demo(d))
        file_menu.addSeparator()
        self._action(file_menu, "&Export time-lapse GIF…", self._on_export_triggered, "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self._on_quit_triggered, QKeySequence.StandardKey.Quit)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Latent Lab", self._on_about_triggered)

    def _action(self, menu: object, text: str, slot: object,
                shortcut: QKeySequence.StandardKey | str | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        menu.addAction(act)  # type: ignore[attr-defined]
        return act

    def _on_new_run_triggered(self) -> None:
        if self.train_view.is_running():
            QMessageBox.information(self, "New run", "Stop the current training first.")
            return
        self.tabs.setCurrentWidget(self.train_view)
        self.train_view.new_run()

    def _on_open_run_triggered(self) -> None:
        start = str(self.settings.value("paths/run_folder", str(self.train_view.form.runs_root)))
        path = QFileDialog.getExistingDirectory(self, "Open run folder", start)
        if path:
            self.settings.setValue("paths/run_folder", str(Path(path).parent))
            self.open_run_folder(path)

    def _on_open_checkpoint_triggered(self) -> None:
        start = str(self.settings.value("paths/checkpoint_folder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", start,
                                              "Checkpoints (*.pt);;All files (*)")
        if path:
            self.settings.setValue("paths/checkpoint_folder", str(Path(path).parent))
            self.open_checkpoint(path)

    def _on_open_image_triggered(self) -> None:
        """Project an image into the open model's z (the Generate view runs it)."""
        start = str(self.settings.value("paths/image_folder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open image", start,
            "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)")
        if path:
            self.settings.setValue("paths/image_folder", str(Path(path).parent))
            self.project_image(path)

    def project_image(self, path: str) -> None:
        for i in range(self.tabs.count()):  # the view that projects images shows the result
            if hasattr(self.tabs.widget(i), "projector"):
                self.tabs.setCurrentIndex(i)
        self.session.project_image_requested.emit(str(path))

    def _on_export_triggered(self) -> None:
        run_dir = self.train_view.run_dir
        if run_dir is None:
            start = str(self.settings.value("paths/run_folder", str(Path.home())))
            chosen = QFileDialog.getExistingDirectory(self, "Time-lapse of which run?", start)
            if not chosen:
                return
            run_dir = Path(chosen)
        out, _ = QFileDialog.getSaveFileName(
            self, "Export time-lapse GIF",
            str(self.session.export_dir / f"{run_dir.name}-timelapse.gif"), "GIF animation (*.gif)")
        if out:
            self.export_timelapse(run_dir, Path(out))

    def _on_timelapse_exported(self, path: str, frames: int) -> None:
        self.session.remember_export(path)
        self.statusBar().showMessage(f"time-lapse written: {path} ({frames} frames)", 8000)

    def _on_timelapse_failed(self, message: str) -> None:
        self.statusBar().clearMessage()
        QMessageBox.warning(self, "Export time-lapse GIF", message)

    def _on_about_triggered(self) -> None:
        QMessageBox.about(self, "About Latent Lab", (
            f"<b>Latent Lab</b> {app_version()}<br>Train small GANs and explore what they "
            f"learned.<br><br>torch {torch.__version__}<br>PySide6 {PySide6.__version__}<br>"
            f"pyqtgraph {pg.__version__}<br>device: {device_description()}"))

    def _on_export_dir_changed(self, folder: str) -> None:
        self.settings.setValue("paths/export_folder", folder)

    # --- status --------------------------------------------------------------------------------
    def _on_tab_changed(self, _index: int) -> None:
        # The live model is not handed over while the Train tab is in front: on leaving it, the
        # tab now shown explores the newest weights at once.
        if self.tabs.currentWidget() is not self.train_view:
            self.train_view.live.flush()

    def _on_state_changed(self, text: str) -> None:
        self.state_label.setText(f"Training: {text}")
        self.state_label.setToolTip(self.state_label.text())

    def _on_model_changed(self, info: ModelInfo | None) -> None:
        if info is None:
            self.model_label.setText("Exploring: no model")
            self.model_label.setToolTip("")
            return
        run = RunFolder.of(info.path) if info.path else None
        name = run.path.name if run and run.is_own_checkpoint(info.path) else (
            info.path.name if info.path else "the live run")
        classes = f" · {info.n_classes} classes" if info.n_classes else ""
        kind = " · VAE" if info.is_vae else ""  # its projection is instant, its samples softer
        self.model_label.setText(f"Exploring: {name}{kind} · step {info.step} · {info.size}px"
                                 f"{classes}")
        self.model_label.setToolTip(f"{info.path or 'the model of the run in progress'}")

    # --- closing -------------------------------------------------------------------------------
    def confirm_stop_training(self) -> bool:
        """Ask before quitting mid-run: "Stop and save" (True) or "Cancel" (False)."""
        box, stop = quit_question(self)
        box.exec()
        return box.clickedButton() is stop

    def _on_quit_triggered(self) -> None:
        self._quit_asked_by_user = True
        try:
            self.close()
        finally:
            self._quit_asked_by_user = False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        # The user's own close (title bar, File > Quit) asks first; a close made by the program
        # (a test, the app shutting down) stops and saves without asking, as before.
        asked = self._quit_asked_by_user or event.spontaneous()
        if self.train_view.is_running() and asked and not self.confirm_stop_training():
            event.ignore()
            return
        if self.train_view.is_running():
            dialog = QProgressDialog("Stopping the training and saving a checkpoint…", "", 0, 0,
                                     self)
            dialog.setCancelButton(None)
            dialog.setWindowTitle("Saving checkpoint")
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(0)
            dialog.show()
            done = self.train_view.stop_and_wait(CLOSE_TIMEOUT_S)
            dialog.close()
            if not done:
                QMessageBox.warning(self, "Still saving", "The run has not finished writing its "
                                    "checkpoint yet. Close the window again in a moment.")
                event.ignore()
                return
        self.train_view.watcher.stop()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        self.session.close()
        event.accept()
