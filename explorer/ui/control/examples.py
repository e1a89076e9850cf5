"""Direction by example: a 4×4 grid of generated samples; click a sample once for "has the
feature" (green), twice for "lacks it" (red), a third time to clear. The direction is the
normalised difference of the two groups' mean z."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.directions.direction import Direction, DirectionsError, example_direction
from explorer.core.latent.latent_math import grid_z
from explorer.ui.shell.render_worker import RenderResult
from explorer.ui.shell.session import ModelSession
from explorer.ui.widgets.common import seed_spin

TAG = "control-examples"
N, COLS, ICON = 16, 4, 64
STATES = ("", "has", "lacks")
BORDER = {"": "2px solid transparent", "has": "3px solid #2ca02c", "lacks": "3px solid #d62728"}


def to_pixmap(img: np.ndarray, side: int) -> QPixmap:
    """(H, W, 3) uint8 -> a QPixmap scaled to ``side`` px with nearest neighbour (crisp)."""
    a = np.ascontiguousarray(img)
    h, w = a.shape[:2]
    q = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(q).scaled(side, side)


class ExamplePicker(QWidget):
    direction_made = Signal(object)  # Direction
    failed = Signal(str)

    def __init__(self, session: ModelSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.z: torch.Tensor | None = None  # (N, z_dim) of the samples shown
        self.y: torch.Tensor | None = None  # (N, n_classes) their class vectors, if conditional
        self.states = [""] * N
        self.seed = seed_spin(1000, prefix="seed ")
        more = QPushButton("New samples")
        more.clicked.connect(self._on_new_samples_clicked)
        grid = QGridLayout()
        grid.setSpacing(2)
        self.buttons: list[QToolButton] = []
        for i in range(N):
            b = QToolButton()
            b.setIconSize(QSize(ICON, ICON))
            b.clicked.connect(lambda _=False, i=i: self.toggle(i))
            grid.addWidget(b, i // COLS, i % COLS)
            self.buttons.append(b)
        self.name = QLineEdit("my feature")
        add = QPushButton("Add direction")
        add.clicked.connect(self.make_direction)
        top = QHBoxLayout()
        top.addWidget(self.seed)
        top.addWidget(more)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("name"))
        bottom.addWidget(self.name, 1)
        bottom.addWidget(add)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Click a sample: once = has the feature (green), twice = lacks it "
                             "(red)."))
        lay.addLayout(top)
        lay.addLayout(grid)
        lay.addLayout(bottom)
        self.renders = session.channel(TAG, view=self)
        self.renders.rendered.connect(self._on_rendered)
        self._paint_states()

    def refresh(self) -> None:
        """Render a new set of samples (the focused sample's class, else class 0)."""
        info = self.session.info
        if info is None:
            return
        self.z = grid_z(self.seed.value(), N, info.z_dim)
        self.y = None
        if info.conditional:
            focus = self.session.focus
            base = focus.y if focus is not None and focus.y is not None else \
                torch.nn.functional.one_hot(torch.tensor(0), info.n_classes).float()
            self.y = base.view(1, -1).repeat(N, 1)
        self.states = [""] * N
        self._paint_states()
        self.renders.request(self.z, self.y)

    def redraw(self) -> None:
        """Render the samples shown again, marks kept (newer weights of the same model)."""
        if self.z is not None:
            self.renders.request(self.z, self.y)

    def toggle(self, i: int) -> None:
        self.states[i] = STATES[(STATES.index(self.states[i]) + 1) % len(STATES)]
        self._paint_states()

    def make_direction(self) -> Direction | None:
        if self.z is None:
            self.failed.emit("no samples shown yet")
            return None
        has = [i for i, s in enumerate(self.states) if s == "has"]
        lacks = [i for i, s in enumerate(self.states) if s == "lacks"]
        try:
            v = example_direction(self.z[has], self.z[lacks])
        except DirectionsError as e:
            self.failed.emit(str(e))
            return None
        d = Direction(self.name.text().strip() or "by example", v, "example")
        self.direction_made.emit(d)
        return d

    def _on_new_samples_clicked(self) -> None:
        self.seed.setValue(self.seed.value() + N)
        self.refresh()

    def _on_rendered(self, result: RenderResult) -> None:
        for b, img in zip(self.buttons, result.images, strict=False):
            b.setIcon(QIcon(to_pixmap(img, ICON)))

    def _paint_states(self) -> None:
        for b, s in zip(self.buttons, self.states, strict=True):
            b.setStyleSheet(f"QToolButton {{ border: {BORDER[s]}; padding: 1px; }}")
            b.setToolTip(s or "not marked")
