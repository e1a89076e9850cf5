"""FocusPanel: the focused sample large, with "Use as morph A/B" and "Copy seed", and its
nearest training images beside it (a memorisation check you can see).

It follows ``session.focus`` (set by clicking a grid tile) and renders it under the tag "focus"
with the Control view's z offset added when there is one, so the large view shows what the
sliders make of the sample. Each rendered focus goes to a background thread that finds the
nearest training images (explorer/core/quality/nearest_train.py); only the newest request is served.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.jobs import failure_message
from explorer.core.latent.render import ModelInfo
from explorer.core.quality.nearest_train import Neighbours, is_cached, training_images
from explorer.ui.shell.render_worker import RenderResult
from explorer.ui.shell.session import Focus, ModelSession
from explorer.ui.widgets.common import MUTED
from explorer.ui.widgets.image_grid import ImageGrid
from trainer.config import DataConfig
from trainer.data import DataError

N_NEAREST = 4


class NearestFinder(QObject):
    """Finds a rendered sample's nearest training images in a daemon thread, newest request only.

    ``found(stamp, Neighbours | str)``: the neighbours, or a note for the user (data missing).
    A plain Python thread, not a QThread: it blocks on a condition between requests and needs no
    joining when the window closes; the signal is queued into the GUI thread.
    """

    found = Signal(int, object)

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()
        self._job: tuple[int, DataConfig, np.ndarray] | None = None
        self._thread: threading.Thread | None = None

    def request(self, stamp: int, cfg: DataConfig, image: np.ndarray) -> None:
        with self._cond:
            self._job = (stamp, cfg, image)
            self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="nearest-training",
                                                daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._job is None:
                    self._cond.wait()
                stamp, cfg, image = self._job
                self._job = None
            result: Any
            try:
                result = training_images(cfg).nearest(image, N_NEAREST)
            except DataError as e:
                result = f"Nearest training images: the run's data is not available here ({e})"
            except Exception as e:  # the jobs' boundary: the thread keeps serving requests
                why = failure_message(e, "nearest training images")
                result = f"Nearest training images: cannot load them ({why})"
            self.found.emit(stamp, result)


def describe_focus(focus: Focus, info: ModelInfo | None) -> str:
    parts = [f"seed {focus.seed}" if focus.seed is not None else focus.label or "picked sample"]
    if focus.y is not None and info is not None and info.conditional:
        k = int(focus.y.argmax())
        mixed = float(focus.y.max()) < 0.999
        parts.append(("mostly " if mixed else "") + info.class_names[k])
    return " · ".join(parts)


class FocusPanel(QWidget):
    seed_copied = Signal(int)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.view = ImageGrid(gap=0, clickable=False)
        self.view.setFixedSize(256, 256)
        self.title = QLabel("Focused sample")
        self.title.setStyleSheet("font-weight: bold")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.use_a = QPushButton("Use as morph A")
        self.use_b = QPushButton("Use as morph B")
        self.copy_seed = QPushButton("Copy seed")
        self.nearest_title = QLabel("Nearest training images")
        self.nearest_title.setToolTip(
            "The training images closest to this sample in pixels (downsampled to 16 px), the "
            "distance eval's near-copy share uses. A sample that looks the same as one of them "
            "is a copy.")
        self.nearest_view = ImageGrid(gap=2, clickable=False)
        self.nearest_view.setFixedSize(256, 64)
        self.nearest_note = QLabel()
        self.nearest_note.setWordWrap(True)
        self.nearest_note.setStyleSheet(MUTED)
        self.finder = NearestFinder()
        self._nearest_stamp = -1
        self.use_a.setToolTip("Send this sample to the Morph view as its start")
        self.use_b.setToolTip("Send this sample to the Morph view as its end")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.view)
        lay.addWidget(self.caption)
        row = QHBoxLayout()
        row.addWidget(self.use_a)
        row.addWidget(self.use_b)
        lay.addLayout(row)
        lay.addWidget(self.copy_seed)
        lay.addWidget(self.nearest_title)
        lay.addWidget(self.nearest_view)
        lay.addWidget(self.nearest_note)
        lay.addStretch(1)

        self.use_a.clicked.connect(lambda: self.pick("A"))
        self.use_b.clicked.connect(lambda: self.pick("B"))
        self.copy_seed.clicked.connect(self.copy)
        session.focus_changed.connect(self._on_focus_changed)
        session.offset_changed.connect(self._on_offset_changed)
        self.renders = session.channel("focus", view=self)
        self.renders.rendered.connect(self._on_rendered)
        session.model_changed.connect(self._on_model_changed)
        self.finder.found.connect(self._on_nearest_found)
        self._on_focus_changed(session.focus)

    def pick(self, which: str) -> None:
        """Send the focus to the Morph view. With a slider offset the endpoint is the edited
        sample, what the user sees here; it then no longer comes from its seed alone."""
        focus = self.session.focus
        if focus is None:
            return
        offset = self.session.offset
        if offset is not None:
            focus = Focus(focus.z + offset, focus.y, None, focus.label)
        self.session.pick_endpoint(which, focus)

    def copy(self) -> None:
        focus = self.session.focus
        if focus is None or focus.seed is None:
            return
        QApplication.clipboard().setText(str(focus.seed))
        self.seed_copied.emit(focus.seed)

    def _request(self) -> None:
        focus, info = self.session.focus, self.session.info
        if focus is None or info is None:
            return
        z = focus.z
        if self.session.offset is not None:
            z = z + self.session.offset
        y = None if focus.y is None else focus.y[None]
        self.renders.request(z[None].float(), y)

    def _on_focus_changed(self, focus: Focus | None) -> None:
        has = focus is not None
        for b in (self.use_a, self.use_b):
            b.setEnabled(has)
        self.copy_seed.setEnabled(has and focus.seed is not None)
        if focus is None:
            no_model = self.session.info is None or not self.isEnabled()
            self.view.set_message("" if no_model else "Click a sample to focus it")
            self.caption.setText("")
            self._nearest_stamp = -1  # a late answer for the old focus is dropped
            self.nearest_view.set_images(None)
            self.nearest_note.setText("")
            return
        self.caption.setText(describe_focus(focus, self.session.info))
        self._request()

    def _on_offset_changed(self, offset: torch.Tensor | None) -> None:
        self._request()

    def _on_model_changed(self, info: ModelInfo | None) -> None:
        # The session drops the focus when the latent space changes shape (without a signal).
        self.setEnabled(info is not None)
        self._on_focus_changed(self.session.focus if info is not None else None)

    def _on_rendered(self, result: RenderResult) -> None:
        self.view.set_images(result.images)
        self._find_nearest(result)

    def _find_nearest(self, result: RenderResult) -> None:
        info = self.session.info
        if info is None or not len(result.images):
            return
        cfg = info.config.data
        if not is_cached(cfg):
            self.nearest_note.setText("Loading the training images to compare with…")
        self._nearest_stamp = result.stamp
        self.finder.request(result.stamp, cfg, result.images[0])

    def _on_nearest_found(self, stamp: int, found: object) -> None:
        if stamp != self._nearest_stamp:
            return  # the focus moved on meanwhile
        if isinstance(found, Neighbours):
            self.nearest_view.set_images(found.images, cols=len(found.images))
            self.nearest_view.set_tooltips([f"pixel distance {d:.2f}" for d in found.distances])
            self.nearest_note.setText(
                f"pixel distance {found.distances[0]:.2f} to the nearest of "
                f"{found.n_searched} training images" + (f"; {found.note}" if found.note else ""))
        else:
            self.nearest_view.set_images(None)
            self.nearest_note.setText(str(found))
