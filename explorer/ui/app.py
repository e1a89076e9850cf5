"""GUI start-up: the QApplication, the shared ModelSession and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from explorer.core.demo import demo_run_folder
from explorer.ui.control.view import ControlView
from explorer.ui.generate.view import GenerateView
from explorer.ui.main_window import MainWindow
from explorer.ui.morph.view import MorphView
from explorer.ui.quality.view import QualityView
from explorer.ui.shell.session import ModelSession
from trainer.device import resolve_device
from trainer.runfolder import RunFolder

APP_NAME = "Latent Lab"


def build_window(checkpoint: str | Path | None = None, settings: QSettings | None = None,
                 open_demo: bool = True) -> MainWindow:
    """The main window with its session, a checkpoint (or run folder) opened if given.

    Without a checkpoint the bundled demo model is opened (if shipped), so a newcomer can explore
    before training anything. A checkpoint that cannot be opened is reported in a message box;
    the window is still returned. Needs a QApplication. Not shown: the caller decides.
    """
    session = ModelSession(device=resolve_device("auto").type)
    window = MainWindow(session, settings)
    generate = GenerateView(session)
    window.add_view("Generate", generate)
    window.add_view("Control", ControlView(session))
    window.add_view("Morph", MorphView(session))
    window.add_view("Quality", QualityView(session))
    demo = demo_run_folder() if open_demo and not checkpoint else None
    if demo is not None:
        window.open_demo(demo)
    if checkpoint:
        path = Path(checkpoint)
        if RunFolder(path).is_run():
            window.open_run_folder(path)  # a run folder: curves, grid and its model
        else:
            window.open_checkpoint(path)
    return window


def run_app(checkpoint: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    # QSettings() without arguments uses these to find the settings file.
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    window = build_window(checkpoint)
    window.show()
    return app.exec()
