"""What the screenshot scripts share: the real window opened at a size, and an event pump.

Imported by docs_screenshots.py, vae_screenshot.py and projection_screenshot.py (run as
``python benchmarks/NAME.py``, which puts this folder on the import path).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.ui.app import build_window  # noqa: E402
from explorer.ui.main_window import MainWindow  # noqa: E402


def pump(app: QApplication, seconds: float) -> None:
    """Let the window work (renders, jobs, layout) for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def pump_until(app: QApplication, done: Callable[[], bool], seconds: float,
               step: float = 0.5) -> None:
    """Let the window work until ``done()`` or ``seconds`` pass, then one more second."""
    end = time.monotonic() + seconds
    while not done() and time.monotonic() < end:
        pump(app, step)
    pump(app, 1)


def open_window(settings_file: Path, checkpoint: str | Path | None = None,
                settle_s: float = 3.0) -> tuple[QApplication, MainWindow]:
    """The window at 1366x768, shown, with ``checkpoint`` (default: the bundled demo) opened and
    ``settle_s`` seconds given to its first renders. Settings go to ``settings_file``."""
    app = QApplication.instance() or QApplication(sys.argv)
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    w = build_window(checkpoint, settings=settings)
    w.resize(1366, 768)
    w.show()
    pump(app, settle_s)
    return app, w


def tabs_by_name(w: MainWindow) -> dict[str, QWidget]:
    return {w.tabs.tabText(i): w.tabs.widget(i) for i in range(w.tabs.count())}
