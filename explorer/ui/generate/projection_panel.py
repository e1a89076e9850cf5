"""ProjectionPanel: your image, its reconstruction and the slider-edited point side by side,
with the reconstruction error. Shown while the focus is a projected image."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.ui.generate.projection_job import ImageProjector
from explorer.ui.shell.render_worker import RenderResult
from explorer.ui.shell.session import ModelSession
from explorer.ui.widgets.common import MUTED
from explorer.ui.widgets.image_grid import ImageGrid

TAG = "projection-edit"


class ProjectionPanel(QWidget):
    def __init__(self, session: ModelSession, projector: ImageProjector,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.projector = session, projector
        self.title = QLabel("Your image · reconstruction · edited")
        self.title.setStyleSheet("font-weight: bold")
        self.view = ImageGrid(gap=2, clickable=False)
        self.view.setFixedSize(256, 86)
        self.view.set_tooltips(["your image, as matched (cropped, resized)",
                                "the generator's reconstruction",
                                "the reconstruction with the Control sliders applied"])
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet(MUTED)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.view)
        lay.addWidget(self.caption)
        self.edited: np.ndarray | None = None
        session.focus_changed.connect(self._update)
        session.offset_changed.connect(self._update)
        self.renders = session.channel(TAG, view=self)
        self.renders.rendered.connect(self._on_rendered)
        self._update()

    def active(self) -> bool:
        f = self.projector.focus
        return f is not None and self.session.focus is f and self.projector.current is not None

    def _update(self, *_: object) -> None:
        if not self.active():
            self.setVisible(False)
            self.renders.cancel()
            return
        cur, focus = self.projector.current, self.session.focus
        assert cur is not None and focus is not None
        self.setVisible(True)
        self.edited = None
        self._show()
        self.caption.setText(f"{cur.name}: pixel error {cur.error:.4f} (mean squared, 0..1 "
                             "scale)")
        z = focus.z if self.session.offset is None else focus.z + self.session.offset
        y = None if focus.y is None else focus.y[None]
        self.renders.request(z[None].float(), y)

    def _show(self) -> None:
        cur = self.projector.current
        if cur is None:
            return
        third = self.edited if self.edited is not None else cur.recon
        self.view.set_images(np.stack([cur.target, cur.recon, third]), cols=3)

    def _on_rendered(self, result: RenderResult) -> None:
        if len(result.images):
            self.edited = result.images[0]
            self._show()
